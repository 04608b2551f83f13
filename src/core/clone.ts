// What makes a clone a distinct machine: the config keys berth resets when it copies a
// container (hostname, addresses, port forwards, MACs and host interface names), and the
// fresh machine-id its first start writes.
import type { CtConfig } from './ct-config.ts';
import { defaultHostname } from './ct-config.ts';
import type { CtId } from './ctid.ts';
import { RESET_MACHINE_ID } from './machine-id.ts';
import { formatNetifs, type NetIf, netifAdd } from './netif.ts';

/**
 * The clone's keys. Bridged interfaces keep their names, bridges and DHCP setting but get new
 * MACs (from `random`, 12 bytes each) and host names, and no static addresses.
 */
export function cloneKeys(
  id: CtId,
  src: CtConfig,
  raw: Record<string, string>,
  hostname: string | undefined,
  random: (n: number) => Uint8Array,
): Record<string, string | undefined> {
  const netifs: NetIf[] = [];
  for (const n of src.netifs) {
    const fresh = netifAdd(id, netifs, `${n.ifname},,,,${n.bridge}`, random(12));
    netifs.push({ ...fresh, dhcp: n.dhcp });
  }
  // a per-container path without $VEID would be the source's own: the clone uses the default
  const own = (k: string) => (raw[k] !== undefined && !raw[k].includes('$VEID') ? undefined : raw[k]);
  return {
    HOSTNAME: hostname ?? defaultHostname(id),
    IP_ADDRESS: undefined,
    PORTFWD: undefined,
    NETIF: netifs.length ? formatNetifs(netifs) : undefined,
    VE_ROOT: own('VE_ROOT'),
    VE_PRIVATE: own('VE_PRIVATE'),
    DESCRIPTION: undefined,
    [RESET_MACHINE_ID]: 'yes',
  };
}
