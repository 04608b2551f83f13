// The host side of a container's network before CRIU restores it: start's host operations,
// with the container's end of each pair left in the host's namespace under a name of its own;
// CRIU moves it into the restored namespace (--external netdev[INSIDE]:HERE), which gets its
// addresses and routes back from the images.
import { fnv1a } from './hash.ts';
import { type HostNet, hostIfName, IFNAME_MAX, type IpAddr, type NetOp, routedStartOps, VENET_IF } from './net.ts';
import { type Bridge, bridgedStartOps, type NetIf } from './netif.ts';

/** The container's end of its routed pair while it waits in the host's namespace: bvr-CTID. */
export function restoreIfName(id: string): string {
  const h = hostIfName(id);
  return h.length < IFNAME_MAX ? `bvr-${h.slice(3)}` : `bvr-${fnv1a(id)}`;
}

/** The container's end of its Nth bridged pair while it waits: bvN-HASH (IFNAMSIZ-safe). */
export function restoreNetifName(id: string, n: number): string {
  return `bv${n}-${fnv1a(id)}`;
}

/** What CRIU is told to move in: the routed pair's end (with IPS), each NETIF's. */
export function restoreNetdevs(id: string, ips: readonly IpAddr[], netifs: readonly NetIf[]) {
  return [
    ...(ips.length ? [{ inside: VENET_IF, here: restoreIfName(id) }] : []),
    ...netifs.map((n, i) => ({ inside: n.ifname, here: restoreNetifName(id, i) })),
  ];
}

/**
 * The routed pair (sysctls, the pair, the gateway addresses, routes, proxies, announcements)
 * and the bridged pairs (managed bridges made, each host end with its MAC on its bridge); each
 * waiting end gets the container's MAC for it here (a bridged interface's MAC is the
 * container's: DHCP leases and neighbours know it).
 */
export function restoreNetOps(
  id: string,
  ips: IpAddr[],
  host: HostNet | null,
  netifs: NetIf[],
  managed: Bridge[],
): NetOp[] {
  const routed =
    ips.length && host
      ? routedStartOps(id, ips, host)
          .filter((o) => o[0] === 'host')
          .map((o): NetOp => (o[1] === 'veth' ? ['host', 'veth', o[2], restoreIfName(id), o[4]] : o))
      : [];
  const bridged = bridgedStartOps(netifs, managed)
    .filter((o) => o[0] === 'host')
    .flatMap((o): NetOp[] => {
      if (o[1] !== 'veth') return [o];
      const i = netifs.findIndex((n) => n.hostIfname === o[2]);
      const n = netifs[i] as NetIf;
      const here = restoreNetifName(id, i);
      return [
        ['host', 'veth', o[2], here, '-'],
        ['host', 'mac', here, n.mac, '-'],
      ];
    });
  return [...routed, ...bridged];
}
