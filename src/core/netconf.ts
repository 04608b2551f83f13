// The distro's own network config for the container's interfaces, so that restarting networking
// inside (systemd-networkd on debian-12) keeps what berth set up instead of flushing it.
import type { ContainerFile } from './mounts.ts';
import { GATEWAY4, GATEWAY6, type IpAddr, VENET_IF } from './net.ts';
import type { NetIf } from './netif.ts';

const NETWORK_DIR = '/etc/systemd/network';
const HEADER = '# written by berth at every start and on live changes: edit the container config instead\n';

/** systemd-networkd units for venet0 (always, so a stale one never brings back old addresses) and each NETIF. */
export function networkdFiles(ips: IpAddr[], netifs: NetIf[]): ContainerFile[] {
  const venet = [
    HEADER,
    `[Match]\nName=${VENET_IF}\n`,
    '[Network]',
    'LinkLocalAddressing=ipv6',
    'IPv6AcceptRA=no',
    ...ips.map((i) => `Address=${i.addr}/${i.family === 4 ? 32 : 128}`),
    '',
    `[Route]\nGateway=${GATEWAY4}\nGatewayOnLink=yes\n`,
    `[Route]\nGateway=${GATEWAY6}\nGatewayOnLink=yes`,
  ].join('\n');
  const files: ContainerFile[] = [{ dest: `${NETWORK_DIR}/10-berth-${VENET_IF}.network`, content: `${venet}\n` }];
  for (const n of netifs) {
    const lines = [HEADER, `[Match]\nName=${n.ifname}\n`, '[Network]'];
    if (n.dhcp) lines.push('DHCP=yes');
    else {
      lines.push('IPv6AcceptRA=no');
      if (n.gw) lines.push(`Gateway=${n.gw}`);
      if (n.gw6) lines.push(`Gateway=${n.gw6}`);
      lines.push(...n.ips.flatMap(addressSection));
    }
    files.push({ dest: `${NETWORK_DIR}/10-berth-${n.ifname}.network`, content: `${lines.join('\n')}\n` });
  }
  return files;
}

/**
 * A bridged address as its own section. berth sets IPv4 addresses without a broadcast, and the
 * kernel keeps that when networkd updates them: networkd must want none either, or (v252) it
 * re-sends the address until netlink refuses (ERANGE) and marks the link failed.
 */
function addressSection(ip: string): string[] {
  return ['', '[Address]', `Address=${ip}`, ...(ip.includes(':') ? [] : ['Broadcast=no'])];
}

export const HOSTS_BEGIN = "# berth begin: this container's name (from HOSTNAME, IP_ADDRESS, NETIF)";
export const HOSTS_END = '# berth end';

/**
 * berth's block in /etc/hosts: the hostname on each of the container's own addresses, or on
 * 127.0.1.1 (Debian's habit) when it has none, so the name always resolves inside.
 */
export function hostsBlock(hostname: string, ips: IpAddr[], netifs: NetIf[]): ContainerFile {
  const short = hostname.split('.')[0] ?? hostname;
  const names = short === hostname ? hostname : `${hostname} ${short}`;
  const addrs = [
    ...ips.map((i) => i.addr),
    ...netifs.flatMap((n) => (n.dhcp ? [] : n.ips.map((ip) => ip.split('/')[0] ?? ip))),
  ];
  const lines = (addrs.length ? addrs : ['127.0.1.1']).map((a) => `${a} ${names}`);
  return { dest: '/etc/hosts', content: `${[HOSTS_BEGIN, ...lines, HOSTS_END].join('\n')}\n` };
}
