// Host network facts (default-route devices, sysctls) and the nftables table berth owns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { HOST_IF_PREFIX, type HostNet, type IpAddr, neededSysctls } from '../core/net.ts';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import { nsId } from './proc.ts';

/** Devices that carry a default route in this network namespace (NEIGHBOUR_DEVS=detect). */
export function defaultRouteDevs(): string[] {
  const devs = new Set<string>();
  for (const line of (readIfExists('/proc/net/route') ?? '').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '00000000' && f[7] === '00000000' && f[0]) devs.add(f[0]);
  }
  for (const line of (readIfExists('/proc/net/ipv6_route') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '0'.repeat(32) && f[1] === '00' && f[9] && f[9] !== 'lo') devs.add(f[9]);
  }
  return [...devs];
}

export function neighbourDevs(setting: string): string[] {
  const s = setting.trim();
  if (s === '' || s === 'none') return [];
  if (s === 'detect') return defaultRouteDevs();
  return s.split(/[\s,]+/).filter(Boolean);
}

function sysctlOn(path: string): boolean {
  return (readIfExists(join('/proc/sys/net', path)) ?? '0').trim() !== '0';
}

/** The host side for these addresses; `log` hears about every sysctl berth turns on. */
export function hostNet(setting: string, ips: IpAddr[], log: (m: string) => void): HostNet {
  const devs = neighbourDevs(setting);
  const enable = neededSysctls(ips, devs).filter((p) => existsSync(join('/proc/sys/net', p)) && !sysctlOn(p));
  for (const p of enable) log(`enabling net.${p.replaceAll('/', '.')} = 1 (routed container addresses)`);
  return { neighbourDevs: devs, enable };
}

/**
 * IPv6 has no rp_filter: a container could send from an address it was not given. One static
 * rule in berth's own table drops, on every host end of a container pair, any IPv6 packet whose
 * source the host would not route back through that interface (IPv4 uses rp_filter).
 */
const ANTISPOOF = `table inet berth {
  chain antispoof {
    type filter hook prerouting priority raw; policy accept;
  }
}
flush chain inet berth antispoof
add rule inet berth antispoof iifname "${HOST_IF_PREFIX}*" meta nfproto ipv6 ip6 saddr != :: fib saddr . iif oif missing counter drop
`;

/**
 * Installs the table once per network namespace: `nft` costs milliseconds, so a marker under
 * /run (which a reboot clears) records that this namespace has it.
 */
export function ensureAntispoof(runDir: string): void {
  const marker = join(runDir, 'net', 'nft-antispoof');
  const ns = nsId('self', 'net') ?? '';
  if (readIfExists(marker) === ns) return;
  const r = spawnSync('nft', ['-f', '-'], { input: ANTISPOOF, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new BerthError('NET_SETUP', `nftables: ${r.error?.message ?? r.stderr.trim()}`, {
      hint: 'berth needs nft (apt-get install nftables) to filter container IPv6 source addresses',
    });
  }
  writeFileAtomic(marker, ns, 0o644, false);
}
