// NAT and port forwards: their specs, collisions, and the elements a container owns in berth's
// nftables table (the table itself: host/net.ts).
import { BerthError } from './errors.ts';
import { type IpAddr, parseIp } from './net.ts';

export interface PortFwd {
  proto: 'tcp' | 'udp';
  hostPort: number;
  ctPort: number;
  /** only this host address; all local addresses when absent */
  hostIp: IpAddr | null;
}

function port(raw: string, spec: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    throw new BerthError('BAD_VALUE', `invalid port forward ${JSON.stringify(spec)}: bad port ${JSON.stringify(raw)}`, {
      hint: 'ports are 1 to 65535: tcp:8080:80, udp:5353:53, tcp:8443:443:192.0.2.1',
    });
  }
  return Number(raw);
}

/** tcp|udp:HOSTPORT:CTPORT[:HOSTIP] (vzctl-style; HOSTIP may be IPv6 and contain colons). */
export function parsePortFwd(spec: string): PortFwd {
  const [proto = '', hp = '', cp = '', ...rest] = spec.trim().split(':');
  if (proto !== 'tcp' && proto !== 'udp') {
    throw new BerthError('BAD_VALUE', `invalid port forward ${JSON.stringify(spec)}: protocol must be tcp or udp`, {
      hint: 'tcp|udp:HOSTPORT:CTPORT[:HOSTIP], e.g. tcp:8080:80',
    });
  }
  const hostIp = rest.length ? parseIp(rest.join(':')) : null;
  return { proto, hostPort: port(hp, spec), ctPort: port(cp, spec), hostIp };
}

export const formatPortFwd = (f: PortFwd): string =>
  `${f.proto}:${f.hostPort}:${f.ctPort}${f.hostIp ? `:${f.hostIp.addr}` : ''}`;

export function parsePortFwdList(value: string): PortFwd[] {
  const out: PortFwd[] = [];
  for (const w of value.split(/\s+/).filter(Boolean)) {
    const f = parsePortFwd(w);
    if (!out.some((o) => formatPortFwd(o) === formatPortFwd(f))) out.push(f);
  }
  return out;
}

/** Two forwards collide on the same protocol and host port unless both name different host IPs. */
export function portsCollide(a: PortFwd, b: PortFwd): boolean {
  if (a.proto !== b.proto || a.hostPort !== b.hostPort) return false;
  return a.hostIp === null || b.hostIp === null || a.hostIp.addr === b.hostIp.addr;
}

export function portConflict(
  want: PortFwd[],
  others: Array<{ id: string; fwds: PortFwd[] }>,
): { spec: string; id: string } | null {
  for (const o of others) {
    for (const w of want) if (o.fwds.some((f) => portsCollide(w, f))) return { spec: formatPortFwd(w), id: o.id };
  }
  return null;
}

/** Addresses that masquerade when NAT is on: RFC 1918, shared (100.64/10), IPv6 ULA (fc00::/7). */
export function isPrivate(ip: IpAddr): boolean {
  if (ip.family === 6) return /^f[cd][0-9a-f]{0,2}:/.test(ip.addr);
  const [a = 0, b = 0] = ip.addr.split('.').map(Number);
  return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128);
}

/**
 * The elements of berth's nftables sets and maps that one container owns, as
 * "SET { ELEMENT }" strings: its private addresses in nat4/nat6 when NAT is on, and its port
 * forwards (to its first address of the family) in fwd4/fwd6 (fwd4ip/fwd6ip for one host IP).
 */
export function nftElements(ips: IpAddr[], nat: boolean, fwds: PortFwd[]): string[] {
  const out: string[] = [];
  if (nat) for (const ip of ips.filter(isPrivate)) out.push(`nat${ip.family} { ${ip.addr} }`);
  for (const f of fwds) {
    for (const fam of f.hostIp ? [f.hostIp.family] : ([4, 6] as const)) {
      const to = ips.find((i) => i.family === fam);
      if (!to) continue;
      const key = f.hostIp ? `${f.hostIp.addr} . ${f.proto} . ${f.hostPort}` : `${f.proto} . ${f.hostPort}`;
      out.push(`fwd${fam}${f.hostIp ? 'ip' : ''} { ${key} : ${to.addr} . ${f.ctPort} }`);
    }
  }
  return out;
}

/**
 * An nft script that adds and removes elements in one transaction. A delete is preceded by an
 * add of the same element, so removing what is already gone is not an error.
 */
export function nftElementScript(add: string[], del: string[]): string {
  const lines = [
    ...del.flatMap((e) => [`add element inet berth ${e}`, `delete element inet berth ${e}`]),
    ...add.map((e) => `add element inet berth ${e}`),
  ];
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** --portfwd/--portfwd-del against the current PORTFWD list ("all" deletes every one). */
export function portFwdChanges(current: PortFwd[], add: string[] = [], del: string[] = []): PortFwd[] {
  const gone = del.includes('all') ? current.map(formatPortFwd) : del.map((d) => formatPortFwd(parsePortFwd(d)));
  const next = current.filter((f) => !gone.includes(formatPortFwd(f)));
  for (const f of add.map(parsePortFwd)) {
    const clash = next.find((n) => portsCollide(n, f));
    if (clash && formatPortFwd(clash) !== formatPortFwd(f)) {
      throw new BerthError('PORT_IN_USE', `port forward ${formatPortFwd(f)} collides with ${formatPortFwd(clash)}`, {
        hint: `remove that one first: --portfwd-del ${formatPortFwd(clash)}`,
      });
    }
    if (!clash) next.push(f);
  }
  return next;
}
