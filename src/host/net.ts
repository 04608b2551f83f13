// Host network facts (default-route devices, sysctls), the nftables table berth owns, and
// the runner of the helper's network operations.
import { join } from 'node:path';
import type { GlobalDefaults } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { fnv1a } from '../core/hash.ts';
import { HOST_IF_PREFIX, type HostNet, type IpAddr, type NetOp, neededSysctls, netArgs } from '../core/net.ts';
import { resolversOf } from '../core/resolv.ts';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import type { Host } from './host.ts';
import { nsId } from './proc.ts';

/** Devices that carry a default route in this network namespace (NEIGHBOUR_DEVS=detect). */
export function defaultRouteDevs(host: Host): string[] {
  const devs = new Set<string>();
  for (const line of (host.readProc('net/route') ?? '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '00000000' && f[7] === '00000000' && f[0]) devs.add(f[0]);
  }
  for (const line of (host.readProc('net/ipv6_route') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '0'.repeat(32) && f[1] === '00' && f[9] && f[9] !== 'lo') devs.add(f[9]);
  }
  return [...devs];
}

export function neighbourDevs(host: Host, setting: string): string[] {
  const s = setting.trim();
  if (s === '' || s === 'none') return [];
  if (s === 'detect') return defaultRouteDevs(host);
  return s.split(/[\s,]+/).filter(Boolean);
}

/**
 * The interface counters of berth's own network namespace (the host, or the one a test plays
 * it in): /proc/self/net/dev follows the reader's namespace, where /sys/class/net follows the
 * namespace sysfs was mounted in.
 */
export function hostNetDev(host: Host): string {
  return host.readProc('self/net/dev') ?? '';
}

function sysctlOn(host: Host, path: string): boolean {
  return (host.readProc(`sys/net/${path}`) ?? '0').trim() !== '0';
}

/** The host side for these addresses; `log` hears about every sysctl berth turns on. */
export function hostNet(host: Host, global: GlobalDefaults, ips: IpAddr[], log: (m: string) => void): HostNet {
  const devs = neighbourDevs(host, global.neighbourDevs);
  const enable = neededSysctls(ips, devs).filter((p) => host.readProc(`sys/net/${p}`) !== null && !sysctlOn(host, p));
  for (const p of enable) log(`enabling net.${p.replaceAll('/', '.')} = 1 (routed container addresses)`);
  const ipv6 = host.readProc('net/if_inet6') !== null;
  const v6 = ips.find((i) => i.family === 6);
  if (v6 && !ipv6) {
    throw new BerthError('BAD_IP', `IPv6 address ${v6.addr}: IPv6 is disabled on this host`, {
      hint: 'remove it (--ipdel) or boot without ipv6.disable=1',
    });
  }
  return { neighbourDevs: devs, mtu: global.venetMtu, fastpath: global.venetFastpath, enable, ipv6 };
}

/**
 * berth's one nftables table, installed once per network namespace and never touching any
 * other table:
 * - antispoof: IPv6 has no rp_filter, so one rule drops, on every host end of a container pair,
 *   any IPv6 packet whose source the host would not route back through it (IPv4: rp_filter);
 * - NAT: private container addresses in @nat4/@nat6 masquerade when they leave through any
 *   interface that is not a container's;
 * - port forwards: maps from protocol . port (or host address . protocol . port) to a
 *   container address . port, for packets to a local address (and from the host itself);
 * - hairpin: a container that reaches a port forward (its own, or another container's) is
 *   masqueraded to the host end's address, so the replies come back through the host, which
 *   undoes the forward. Without it they would go straight to the container that asked (the
 *   fast path, or its own stack), from an address it did not talk to.
 * Containers only add and remove set and map elements (core/net.ts nftElements).
 */
const BASE = `table inet berth {
  set nat4 { type ipv4_addr; }
  set nat6 { type ipv6_addr; }
  map fwd4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map fwd4ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  map fwd6 { type inet_proto . inet_service : ipv6_addr . inet_service; }
  map fwd6ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
  chain antispoof { type filter hook prerouting priority raw; policy accept; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
  chain output { type nat hook output priority -100; policy accept; }
}
flush chain inet berth antispoof
flush chain inet berth postrouting
flush chain inet berth prerouting
flush chain inet berth output
add rule inet berth antispoof iifname "${HOST_IF_PREFIX}*" meta nfproto ipv6 ip6 saddr != :: fib saddr . iif oif missing counter drop
add rule inet berth postrouting oifname != "${HOST_IF_PREFIX}*" ip saddr @nat4 masquerade
add rule inet berth postrouting oifname != "${HOST_IF_PREFIX}*" ip6 saddr @nat6 masquerade
add rule inet berth postrouting iifname "${HOST_IF_PREFIX}*" oifname "${HOST_IF_PREFIX}*" ct status dnat masquerade
${['prerouting', 'output']
  .flatMap((c) => [
    `add rule inet berth ${c} fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @fwd4ip`,
    `add rule inet berth ${c} fib daddr type local dnat ip to meta l4proto . th dport map @fwd4`,
    `add rule inet berth ${c} fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @fwd6ip`,
    `add rule inet berth ${c} fib daddr type local dnat ip6 to meta l4proto . th dport map @fwd6`,
  ])
  .join('\n')}
`;

function nft(host: Host, script: string, what: string): void {
  const r = host.tool('nft', ['-f', '-'], { input: script });
  if (r.status !== 0) {
    throw new BerthError('NET_SETUP', `${what}: nftables: ${r.stderr.trim()}`, {
      hint: 'berth needs nft (apt-get install nftables) for IPv6 filtering, NAT and port forwards',
    });
  }
}

/**
 * Installs the table once per network namespace: `nft` costs milliseconds, so a marker under
 * /run (which a reboot clears) records that this namespace has it, and which version (a newer
 * berth re-installs its chains; the sets and maps keep their elements).
 */
export function ensureNftBase(host: Host, runDir: string): void {
  const marker = join(runDir, 'net', 'nft-base');
  const mark = `${nsId(host, 'self', 'net') ?? ''} ${fnv1a(BASE)}`;
  if (readIfExists(marker) === mark) return;
  nft(host, BASE, 'berth table');
  writeFileAtomic(marker, mark, 0o644, false);
}

/**
 * Adds and removes a container's set and map elements in one transaction. Removing only never
 * installs the table: where it is missing there is nothing to remove (a container stopped in
 * another network namespace, or after the table was flushed).
 */
export function nftElements(host: Host, runDir: string, script: string, what: string, adds: boolean): void {
  if (!script) return;
  if (adds) {
    ensureNftBase(host, runDir);
    nft(host, script, what);
    return;
  }
  if (host.tool('nft', ['list', 'table', 'inet', 'berth']).status === 0) nft(host, script, what);
}

/** The host's own resolvers (NAMESERVER="inherit"), without loopback stubs. */
export function hostResolvers(): string[] {
  return resolversOf(readIfExists('/etc/resolv.conf') ?? '');
}

/** The words for an optional network step that failed (the fast path is the only one). */
export function fastpathWarning(message: string): string {
  return `warning: ${message}: container-to-container traffic takes the host's forwarding path (VENET_FASTPATH, docs/networking.md)`;
}

/**
 * Runs --net operations with the helper (in PID's network namespace too, for "ct" ones); `log`
 * hears what optional ones could not do.
 */
export function runNetOps(
  host: Host,
  helper: string,
  what: string,
  ops: NetOp[],
  joinPid: number | null,
  log: (m: string) => void = () => {},
): void {
  if (ops.length === 0) return;
  const join = joinPid === null ? [] : ['--join', String(joinPid)];
  const r = host.runHelper(helper, [...join, ...netArgs(ops), '--status-fd', '3'], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  if (r.exitCode !== 0) {
    throw new BerthError('NET_SETUP', `${what}: ${r.error?.message ?? `helper exited with ${r.exitCode}`}`);
  }
  for (const w of r.warnings) log(fastpathWarning(w));
}
