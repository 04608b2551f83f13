// What a worker of berth-oci's server (src/oci/worker.ts) compares with its caller: its own
// process as /proc shows it, in the form the client reports its own (helper/oci-client.c).
import { type CallerFacts, NAMESPACES, STATUS_KEYS } from '../core/oci-wire.ts';
import { linuxHost } from './host.ts';

export function ownFacts(): CallerFacts {
  const h = linuxHost;
  const status = (h.readProc('self/status') ?? '')
    .split('\n')
    .filter((l) => STATUS_KEYS.some((k) => l.startsWith(`${k}:`)));
  return {
    namespaces: NAMESPACES.map((ns) => `${ns}=${h.readProcLink(`self/ns/${ns}`) ?? '-'}`).join(' '),
    root: h.readProcLink('self/root') ?? '-',
    status: status.join('\n'),
  };
}
