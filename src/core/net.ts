// Routed (venet-style) networking policy: address validation and the helper's network plan.
//
// A stock kernel has no venet device, so berth builds the same thing from a veth pair used at L3
// only: the container's end is named venet0 and holds the container's addresses (/32, /128) with
// default routes to a fixed gateway on the link (169.254.0.1, fe80::1) that the host's end
// answers for. The host routes each address to its end of the pair. No bridge: containers share
// no broadcast domain, and reverse-path filtering on the host's end drops any packet whose source
// is not an address the host routes to that container (see docs/networking.md).
import { BerthError } from './errors.ts';
import { fnv1a } from './hash.ts';

export const VENET_IF = 'venet0';
export const GATEWAY4 = '169.254.0.1';
export const GATEWAY6 = 'fe80::1';
/** Linux interface names have at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;
export const HOST_IF_PREFIX = 'bv-';
/**
 * The routed pair's default MTU: the largest a veth takes. The pair is a link inside one kernel,
 * so big frames cost nothing on the wire, and a TCP stream between two containers (or a
 * container and the host) moves about 1.5 times as much per CPU second as at 1500
 * (bench/net.bench.ts). Traffic that leaves the host is held to its uplink's MTU by TCP's MSS and
 * path MTU discovery, as behind any router.
 */
export const VENET_MTU_DEFAULT = 65535;

/**
 * The metric of every host route to a container address. The fast path (VENET_FASTPATH) knows
 * berth's routes by it: a packet goes straight from one container to another only when the
 * routes to both of its addresses carry it, so an admin's own route for such an address (a
 * lower metric wins) takes its traffic back to the host's normal path.
 */
export const ROUTE_METRIC = 0xbe47;

/** VENET_FASTPATH from berth.conf: yes (the default) or no. */
export function venetFastpath(raw: string | undefined, file: string): boolean {
  if (raw === undefined || raw === '' || raw === 'yes') return true;
  if (raw === 'no') return false;
  throw new BerthError('CONFIG_INVALID', `${file}: VENET_FASTPATH=${JSON.stringify(raw)}: not yes or no`, {
    hint: 'yes (container-to-container packets skip the host forwarding path) or no',
  });
}

/** VENET_MTU from berth.conf: 1280 (IPv6's minimum) to 65535 (a veth's maximum). */
export function venetMtu(raw: string | undefined, file: string): number {
  if (raw === undefined || raw === '') return VENET_MTU_DEFAULT;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1280 && n <= 65535)) {
    throw new BerthError('CONFIG_INVALID', `${file}: VENET_MTU=${JSON.stringify(raw)}: not an MTU`, {
      hint: 'a whole number from 1280 (the IPv6 minimum) to 65535, or remove the line for 65535',
    });
  }
  return n;
}

export interface IpAddr {
  family: 4 | 6;
  /** canonical text: dotted quad, or RFC 5952 compressed IPv6 */
  addr: string;
}

function badIp(raw: string, why: string): BerthError {
  return new BerthError('BAD_IP', `invalid IP address ${JSON.stringify(raw)}: ${why}`, {
    hint: 'give one IPv4 (192.0.2.10) or IPv6 (2001:db8::10) address per --ipadd',
  });
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

/** Eight 16-bit groups, or null. Dotted IPv4 tails (::ffff:1.2.3.4) are not accepted. */
function parseV6(s: string): number[] | null {
  if (!/^[0-9A-Fa-f:]+$/.test(s) || s.includes(':::')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return null;
  return all.map((g) => Number.parseInt(g, 16));
}

/** Any IPv4 or IPv6 unicast address (not unspecified, not multicast), canonical; or null. */
export function parseUnicast(raw: string): IpAddr | null {
  const v4 = parseV4(raw);
  if (v4) return v4[0] !== 0 && (v4[0] ?? 0) < 224 ? { family: 4, addr: v4.join('.') } : null;
  const v6 = parseV6(raw);
  if (v6 && (v6[0] ?? 0) < 0xff00 && !v6.every((x) => x === 0)) return { family: 6, addr: formatV6(v6) };
  return null;
}

/** RFC 5952: lower case, no leading zeros, the longest run (2+) of zero groups as "::". */
function formatV6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * One container address: IPv4 or IPv6, optionally with its host prefix (/32, /128). Addresses
 * that cannot belong to one container are refused: unspecified, loopback, multicast, broadcast,
 * link-local (the venet gateways live there).
 */
export function parseIp(raw: string): IpAddr {
  const [host = '', prefix, extra] = raw.trim().split('/');
  if (extra !== undefined) throw badIp(raw, 'more than one "/"');
  const v4 = parseV4(host);
  if (v4) {
    if (prefix !== undefined && prefix !== '32') throw badIp(raw, 'a routed address is a single host: /32');
    const [a = 0, b = 0] = v4;
    if (a === 0) throw badIp(raw, 'the unspecified network 0.0.0.0/8');
    if (a === 127) throw badIp(raw, 'a loopback address');
    if (a >= 224) throw badIp(raw, a === 255 ? 'the broadcast address' : 'a multicast or reserved address');
    if (a === 169 && b === 254) throw badIp(raw, 'a link-local address (the venet gateway lives there)');
    return { family: 4, addr: v4.join('.') };
  }
  const v6 = parseV6(host);
  if (!v6) throw badIp(raw, 'not an IPv4 or IPv6 address');
  if (prefix !== undefined && prefix !== '128') throw badIp(raw, 'a routed address is a single host: /128');
  const [first = 0] = v6;
  const zeros = v6.slice(0, 7).every((x) => x === 0);
  if (zeros && (v6[7] === 0 || v6[7] === 1)) throw badIp(raw, 'the unspecified or loopback address');
  if (first >= 0xff00) throw badIp(raw, 'a multicast address');
  if ((first & 0xffc0) === 0xfe80) throw badIp(raw, 'a link-local address (the venet gateway lives there)');
  return { family: 6, addr: formatV6(v6) };
}

/** IP_ADDRESS="a b c" (vzctl): canonical, in order, without duplicates. */
export function parseIpList(value: string): IpAddr[] {
  const out: IpAddr[] = [];
  for (const word of value.split(/\s+/).filter(Boolean)) {
    const ip = parseIp(word);
    if (!out.some((o) => o.addr === ip.addr)) out.push(ip);
  }
  return out;
}

export const formatIpList = (ips: IpAddr[]): string => ips.map((i) => i.addr).join(' ');

/**
 * The host's end of a container's pair: "bv-CTID" when that fits in an interface name, otherwise
 * "bv-" and a hash of the CTID (CTIDs may have 64 characters).
 */
export function hostIfName(id: string): string {
  const plain = `${HOST_IF_PREFIX}${id}`;
  return plain.length <= IFNAME_MAX && /^[A-Za-z0-9_.-]+$/.test(id) ? plain : `${HOST_IF_PREFIX}${fnv1a(id)}`;
}

/** Which other container already holds one of these addresses. */
export function ipConflict(
  want: IpAddr[],
  others: Array<{ id: string; ips: IpAddr[] }>,
): { addr: string; id: string } | null {
  for (const o of others) {
    for (const ip of want) if (o.ips.some((x) => x.addr === ip.addr)) return { addr: ip.addr, id: o.id };
  }
  return null;
}

/** One `--net WHERE VERB A B C` of the helper (helper/PROTOCOL.md); "-" marks an unused slot. */
export type NetOp = readonly [where: 'host' | 'ct', verb: string, a: string, b: string, c: string];

export function netArgs(ops: readonly NetOp[]): string[] {
  return ops.flatMap((o) => ['--net', ...o]);
}

const hostPrefix = (ip: IpAddr) => `${ip.addr}/${ip.family === 4 ? 32 : 128}`;

/** What the host needs around a container's addresses: forwarding, neighbour proxies. */
export interface HostNet {
  /** uplinks that answer ARP/NDP for container addresses (NEIGHBOUR_DEVS) */
  neighbourDevs: string[];
  /** the routed pair's MTU (VENET_MTU) */
  mtu: number;
  /** VENET_FASTPATH: the host end gets the eBPF fast path (helper/fastpath.c) */
  fastpath: boolean;
  /** sysctls to turn on first (only those that are off: TS reads them) */
  enable: string[];
  /** IPv6 works in this kernel (false with ipv6.disable=1): the pair then has no IPv6 part */
  ipv6: boolean;
}

/** Host routes, proxy entries and the container's addresses for IPS (live add, or start). */
export function addressOps(hostIf: string, ips: IpAddr[], host: HostNet): NetOp[] {
  const ops: NetOp[] = [];
  for (const ip of ips) {
    ops.push(['host', 'route-metric', hostPrefix(ip), hostIf, String(ROUTE_METRIC)]);
    for (const dev of host.neighbourDevs) ops.push(['host', 'proxy', dev, ip.addr, '-']);
    // neighbours that cached another MAC for it (a migration's source host) learn it now; a
    // link that cannot send one (no Ethernet address, down) costs a warning, not the start
    for (const dev of host.neighbourDevs) ops.push(['host', '?announce', dev, ip.addr, '-']);
    ops.push(['ct', 'addr', VENET_IF, hostPrefix(ip), '-']);
  }
  return ops;
}

/** The reverse of addressOps, for a live --ipdel (and for the uplink proxies at stop). */
export function removeAddressOps(hostIf: string, ips: IpAddr[], host: HostNet, ctAlive: boolean): NetOp[] {
  const ops: NetOp[] = [];
  for (const ip of ips) {
    for (const dev of host.neighbourDevs) ops.push(['host', 'proxy-del', dev, ip.addr, '-']);
    if (!ctAlive) continue;
    ops.push(['host', 'route-del', hostPrefix(ip), hostIf, '-']);
    ops.push(['ct', 'addr-del', VENET_IF, hostPrefix(ip), '-']);
  }
  return ops;
}

/**
 * The routed pair of a container: made when it gets its first address (at start, or by a live
 * --ipadd), so a container without addresses has loopback only and touches no host network.
 * A leftover host end (the kernel tears a dead network namespace down asynchronously) is
 * deleted first.
 */
export function pairOps(id: string, host: HostNet): NetOp[] {
  const hostIf = hostIfName(id);
  return [
    ...host.enable.map((path): NetOp => ['host', 'sysctl', path, '1', '-']),
    ['host', 'link-del', hostIf, '-', '-'],
    ['host', 'veth', hostIf, VENET_IF, String(host.mtu)],
    // strict reverse-path filter: a source address the host does not route here is dropped
    ['host', 'sysctl', `ipv4/conf/${hostIf}/rp_filter`, '1', '-'],
    // the host takes no routes from a container: no router advertisements, no redirects
    ['host', 'sysctl', `ipv4/conf/${hostIf}/accept_redirects`, '0', '-'],
    ...(host.ipv6
      ? ([
          ['host', 'sysctl', `ipv6/conf/${hostIf}/accept_ra`, '0', '-'],
          ['host', 'sysctl', `ipv6/conf/${hostIf}/accept_redirects`, '0', '-'],
        ] as NetOp[])
      : []),
    ['host', 'up', hostIf, '-', '-'],
    // optional: a kernel that refuses the program still routes every packet the normal way
    ...(host.fastpath ? [['host', '?fastpath', hostIf, String(ROUTE_METRIC), '-'] as NetOp] : []),
    ['host', 'addr', hostIf, `${GATEWAY4}/32`, '-'],
    ...(host.ipv6 ? [['host', 'addr', hostIf, `${GATEWAY6}/64`, '-'] as NetOp] : []),
    ['ct', 'up', 'lo', '-', '-'],
    ...(host.ipv6 ? [['ct', 'sysctl', `ipv6/conf/${VENET_IF}/accept_ra`, '0', '-'] as NetOp] : []),
    ['ct', 'up', VENET_IF, '-', '-'],
    ['ct', 'route', '0.0.0.0/0', VENET_IF, GATEWAY4],
    ...(host.ipv6 ? [['ct', 'route', '::/0', VENET_IF, GATEWAY6] as NetOp] : []),
  ];
}

/** The network of a starting container: nothing without addresses. */
export function routedStartOps(id: string, ips: IpAddr[], host: HostNet): NetOp[] {
  return ips.length === 0 ? [] : [...pairOps(id, host), ...addressOps(hostIfName(id), ips, host)];
}

/** Sysctls a host needs for these addresses: forwarding, and NDP proxying on the uplinks. */
export function neededSysctls(ips: IpAddr[], neighbourDevs: string[]): string[] {
  const out: string[] = [];
  if (ips.some((i) => i.family === 4)) out.push('ipv4/ip_forward');
  if (ips.some((i) => i.family === 6)) {
    out.push('ipv6/conf/all/forwarding');
    for (const d of neighbourDevs) out.push(`ipv6/conf/${d}/proxy_ndp`);
  }
  return out;
}

export interface IpChange {
  /** the container's addresses afterwards (IP_ADDRESS) */
  next: IpAddr[];
  add: IpAddr[];
  del: IpAddr[];
}

/**
 * --ipadd/--ipdel against the current list: validated, canonical; deleting an address the
 * container does not have is a no-op (so scripts can repeat it), "all" deletes every one.
 */
export function ipChanges(current: IpAddr[], add: string[] = [], del: string[] = []): IpChange {
  const addIps = add.map(parseIp);
  const delAll = del.includes('all');
  const delIps = delAll ? current : del.map(parseIp);
  const removed = current.filter((c) => delIps.some((d) => d.addr === c.addr));
  const kept = current.filter((c) => !removed.includes(c));
  const added: IpAddr[] = [];
  for (const ip of addIps) {
    if (![...kept, ...added].some((k) => k.addr === ip.addr)) added.push(ip);
  }
  // an address both deleted and added stays: no need to touch it
  const del2 = removed.filter((r) => !added.some((a) => a.addr === r.addr));
  const add2 = added.filter((a) => !removed.some((r) => r.addr === a.addr));
  return { next: [...kept, ...added], add: add2, del: del2 };
}
