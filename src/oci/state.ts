// berth-oci state ID: the container's state as the runtime spec defines it (runtime.md), as JSON.
import { writeSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { OCI_VERSION } from '../core/oci-spec.ts';
import type { OciRecord } from '../host/oci-state.ts';
import { mustRecord, statusNow } from './container.ts';
import type { OciGlobal } from './main.ts';

/** The spec's state object, with runc's extra fields (rootfs, created, owner) that callers read. */
export function stateOf(g: OciGlobal, r: OciRecord): Record<string, unknown> {
  const status = statusNow(g, r);
  return {
    ociVersion: OCI_VERSION,
    id: r.id,
    pid: status === 'stopped' || r.pid === null ? 0 : r.pid,
    status,
    bundle: r.bundle,
    rootfs: r.rootfs,
    created: r.created,
    owner: '',
    ...(Object.keys(r.annotations).length ? { annotations: r.annotations } : {}),
  };
}

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  if (args.length !== 1) throw new BerthError('BAD_SYNTAX', 'state: takes one container id');
  writeSync(1, `${JSON.stringify(stateOf(g, mustRecord(g, args[0])), null, 2)}\n`);
  return 0;
}
