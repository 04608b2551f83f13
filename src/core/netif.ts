// Bridged (veth, L2) interfaces in vzctl's NETIF form, and managed bridges: validation, stable
// MACs and the helper's plan. A container's NETIF is "ifname=eth0,mac=...,host_ifname=...,
// host_mac=...,bridge=br0[,ip=A/LEN...][,gw=...][,gw6=...][,dhcp=yes]" with ";" between
// interfaces (vzctl's keys, plus the addressing ones Proxmox users know).
import { BerthError } from './errors.ts';
import { fnv1a } from './hash.ts';
import { IFNAME_MAX, type NetOp, parseUnicast } from './net.ts';

export interface NetIf {
  ifname: string;
  mac: string;
  hostIfname: string;
  hostMac: string;
  /** host bridge the host end joins; '' for none */
  bridge: string;
  /** addresses with prefix length, e.g. 10.89.0.2/24 */
  ips: string[];
  gw: string | null;
  gw6: string | null;
  /** the container's own DHCP client configures it: berth sets no address */
  dhcp: boolean;
}

export function validateIfName(name: string, what = 'interface name'): string {
  if (name.length === 0 || name.length > IFNAME_MAX || !/^[A-Za-z0-9_.-]+$/.test(name) || /^\.\.?$/.test(name)) {
    throw new BerthError('BAD_VALUE', `invalid ${what} ${JSON.stringify(name)}`, {
      hint: `1 to ${IFNAME_MAX} characters: letters, digits, "_", "-", "."`,
    });
  }
  return name;
}

export function validateMac(mac: string, what = 'MAC address'): string {
  const m = mac.toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m) || (Number.parseInt(m.slice(0, 2), 16) & 1) === 1) {
    throw new BerthError('BAD_VALUE', `invalid ${what} ${JSON.stringify(mac)}`, {
      hint: 'six hex pairs with a unicast first octet, e.g. 02:00:5e:10:00:01',
    });
  }
  return m;
}

/** A locally administered unicast MAC from 6 random bytes (generated once, then saved). */
export function macFrom(bytes: Uint8Array): string {
  const b = [...bytes.slice(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An address with its prefix length, any unicast (the bridge's subnet decides what is valid), canonical. */
export function parseCidr(raw: string): string {
  const [ip = '', len, extra] = raw.split('/');
  const addr = parseUnicast(ip);
  const max = addr?.family === 6 ? 128 : 32;
  if (!addr || extra !== undefined || len === undefined || !/^\d{1,3}$/.test(len) || Number(len) > max) {
    throw new BerthError('BAD_IP', `invalid address ${JSON.stringify(raw)} for a bridged interface`, {
      hint: 'an address with its prefix length: 10.89.0.2/24, 2001:db8::2/64',
    });
  }
  return `${addr.addr}/${Number(len)}`;
}

function parseGw(raw: string, family: 4 | 6): string {
  const addr = parseUnicast(raw);
  if (!addr || addr.family !== family) {
    throw new BerthError('BAD_IP', `invalid IPv${family} gateway ${JSON.stringify(raw)}`, {
      hint: family === 4 ? '--gw takes an IPv4 address, --gw6 an IPv6 one' : '--gw6 takes an IPv6 address',
    });
  }
  return addr.addr;
}

export function parseNetifs(value: string): NetIf[] {
  return value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const f: Record<string, string> = {};
      const ips: string[] = [];
      for (const kv of s.split(',')) {
        const i = kv.indexOf('=');
        const k = kv.slice(0, i);
        const v = kv.slice(i + 1);
        if (k === 'ip') ips.push(parseCidr(v));
        else f[k] = v;
      }
      const ifname = validateIfName(f['ifname'] ?? '');
      return {
        ifname,
        mac: validateMac(f['mac'] ?? ''),
        hostIfname: validateIfName(f['host_ifname'] ?? '', 'host interface name'),
        hostMac: validateMac(f['host_mac'] ?? '', 'host MAC address'),
        bridge: f['bridge'] ? validateIfName(f['bridge'], 'bridge name') : '',
        ips,
        gw: f['gw'] ? parseGw(f['gw'], 4) : null,
        gw6: f['gw6'] ? parseGw(f['gw6'], 6) : null,
        dhcp: f['dhcp'] === 'yes',
      };
    });
}

export function formatNetifs(list: NetIf[]): string {
  return list
    .map((n) =>
      [
        `ifname=${n.ifname}`,
        `mac=${n.mac}`,
        `host_ifname=${n.hostIfname}`,
        `host_mac=${n.hostMac}`,
        ...(n.bridge ? [`bridge=${n.bridge}`] : []),
        ...n.ips.map((ip) => `ip=${ip}`),
        ...(n.gw ? [`gw=${n.gw}`] : []),
        ...(n.gw6 ? [`gw6=${n.gw6}`] : []),
        ...(n.dhcp ? ['dhcp=yes'] : []),
      ].join(','),
    )
    .join(';');
}

/** vzctl's host end name "veth<CTID>.<N>" when it fits, else "bv<hash>.<N>". */
export function defaultHostIfname(id: string, n: number): string {
  const plain = `veth${id}.${n}`;
  return plain.length <= IFNAME_MAX && /^[A-Za-z0-9_.-]+$/.test(id) ? plain : `bv${fnv1a(id).slice(0, 8)}.${n}`;
}

/**
 * --netif_add ifname[,mac,host_ifname,host_mac,bridge] (vzctl): empty fields get defaults, the
 * MACs from `random` (12 bytes), so they are generated once and then saved.
 */
export function netifAdd(id: string, current: NetIf[], spec: string, random: Uint8Array): NetIf {
  const [ifname = '', mac, hostIfname, hostMac, bridge] = spec.split(',');
  validateIfName(ifname);
  if (current.some((c) => c.ifname === ifname)) {
    throw new BerthError('BAD_VALUE', `interface ${ifname} already exists in the container`, {
      hint: `change it with --ifname ${ifname} ..., or remove it with --netif_del ${ifname}`,
    });
  }
  const used = new Set(current.map((c) => c.hostIfname));
  let n = 0;
  while (used.has(defaultHostIfname(id, n))) n++;
  return {
    ifname,
    mac: mac ? validateMac(mac) : macFrom(random.slice(0, 6)),
    hostIfname: hostIfname ? validateIfName(hostIfname, 'host interface name') : defaultHostIfname(id, n),
    hostMac: hostMac ? validateMac(hostMac, 'host MAC address') : macFrom(random.slice(6, 12)),
    bridge: bridge ? validateIfName(bridge, 'bridge name') : '',
    ips: [],
    gw: null,
    gw6: null,
    dhcp: false,
  };
}

export interface IfOptions {
  mac?: string;
  host_ifname?: string;
  host_mac?: string;
  bridge?: string;
  ipadd?: string[];
  ipdel?: string[];
  gw?: string;
  gw6?: string;
  dhcp?: string;
}

/** --ifname NAME with --mac, --host_ifname, --host_mac, --bridge, --ipadd/--ipdel, --gw, --gw6, --dhcp. */
export function netifChange(n: NetIf, o: IfOptions): NetIf {
  const del = o.ipdel ?? [];
  const ips = del.includes('all') ? [] : n.ips.filter((ip) => !del.map(parseCidr).includes(ip));
  for (const ip of (o.ipadd ?? []).map(parseCidr)) if (!ips.includes(ip)) ips.push(ip);
  if (o.dhcp !== undefined && o.dhcp !== 'yes' && o.dhcp !== 'no') {
    throw new BerthError('BAD_VALUE', `invalid value for dhcp: ${JSON.stringify(o.dhcp)}`, { hint: 'use yes or no' });
  }
  return {
    ifname: n.ifname,
    mac: o.mac !== undefined ? validateMac(o.mac) : n.mac,
    hostIfname: o.host_ifname !== undefined ? validateIfName(o.host_ifname, 'host interface name') : n.hostIfname,
    hostMac: o.host_mac !== undefined ? validateMac(o.host_mac, 'host MAC address') : n.hostMac,
    bridge: o.bridge !== undefined ? (o.bridge === '' ? '' : validateIfName(o.bridge, 'bridge name')) : n.bridge,
    ips,
    gw: o.gw !== undefined ? (o.gw === '' ? null : parseGw(o.gw, 4)) : n.gw,
    gw6: o.gw6 !== undefined ? (o.gw6 === '' ? null : parseGw(o.gw6, 6)) : n.gw6,
    dhcp: o.dhcp !== undefined ? o.dhcp === 'yes' : n.dhcp,
  };
}

/** A managed bridge: berth creates it (again after a reboot) with these addresses. */
export interface Bridge {
  name: string;
  /** the bridge's own addresses with prefix, e.g. 10.89.0.1/24 */
  addrs: string[];
}

export function bridgeOps(b: Bridge): NetOp[] {
  return [
    ['host', 'bridge', b.name, '-', '-'],
    ...b.addrs.map((a): NetOp => ['host', 'addr', b.name, a, '-']),
    ['host', 'up', b.name, '-', '-'],
  ];
}

/** The pairs of a starting container (bridges must exist, or be in `managed`). */
export function bridgedStartOps(netifs: NetIf[], managed: Bridge[]): NetOp[] {
  const ops: NetOp[] = [];
  for (const b of managed) ops.push(...bridgeOps(b));
  for (const n of netifs) {
    ops.push(
      ['host', 'link-del', n.hostIfname, '-', '-'],
      ['host', 'veth', n.hostIfname, n.ifname, '-'],
      ['host', 'mac', n.hostIfname, n.hostMac, '-'],
      ...(n.bridge ? [['host', 'master', n.hostIfname, n.bridge, '-'] as NetOp] : []),
      ['host', 'up', n.hostIfname, '-', '-'],
      ['ct', 'mac', n.ifname, n.mac, '-'],
      ['ct', 'up', 'lo', '-', '-'],
      ['ct', 'up', n.ifname, '-', '-'],
    );
    if (n.dhcp) continue;
    for (const ip of n.ips) ops.push(['ct', 'addr', n.ifname, ip, '-']);
    if (n.gw) ops.push(['ct', 'route', '0.0.0.0/0', n.ifname, n.gw]);
    if (n.gw6) ops.push(['ct', 'route', '::/0', n.ifname, n.gw6]);
  }
  return ops;
}

/** `berth net create NAME --subnet CIDR`: a network address gets its first host (10.89.0.0/24 -> .1). */
export function bridgeAddr(cidr: string): string {
  const c = parseCidr(cidr);
  const [ip = '', len = ''] = c.split('/');
  if (ip.includes(':')) return ip.endsWith('::') ? `${ip}1/${len}` : c;
  const n = ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
  const size = 2 ** (32 - Number(len));
  if (Number(len) >= 31 || n % size !== 0) return c;
  const h = n + 1;
  return `${[24, 16, 8, 0].map((s) => Math.floor(h / 2 ** s) % 256).join('.')}/${len}`;
}

/**
 * Live interface changes on a running container: a removed interface's pair is deleted, an
 * added one made; a changed one is made again (a pair is cheap, and a few milliseconds of
 * outage on the interface being reconfigured is what an admin expects).
 */
export function netifLiveOps(old: NetIf[], next: NetIf[], managed: Bridge[]): NetOp[] {
  const key = (n: NetIf) => JSON.stringify(n);
  const gone = old.filter((o) => !next.some((n) => key(n) === key(o)));
  const made = next.filter((n) => !old.some((o) => key(o) === key(n)));
  const del = gone.map((o): NetOp => ['host', 'link-del', o.hostIfname, '-', '-']);
  if (made.length === 0) return del;
  const needed = managed.filter((b) => made.some((n) => n.bridge === b.name));
  return [...del, ...bridgedStartOps(made, needed)];
}
