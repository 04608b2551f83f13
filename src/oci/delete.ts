// berth-oci delete [--force] ID: removes a stopped (or never started) container: its processes,
// cgroups and state. Running, it takes --force (SIGKILL first).
import { BerthError } from '../core/errors.ts';
import { checkOciId, type OciRecord, readOciRecord } from '../host/oci-state.ts';
import { removeContainer, removeStateDir, runHooks, statusNow } from './container.ts';
import { type OciGlobal, parseFlags } from './main.ts';

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('delete', args, [], ['force', 'f']);
  if (positionals.length !== 1) throw new BerthError('BAD_SYNTAX', 'delete: takes one container id');
  const id = checkOciId(positionals[0]);
  const force = flags.has('force') || flags.has('f');
  const r = readOciRecord(g.root, id);
  if (!r) {
    if (!force) throw new BerthError('NO_CT_CONFIG', `container does not exist: ${id}`);
    // containerd's cleanup deletes what may be gone already; a create killed before its first
    // record leaves only its directory (the record comes before anything else is made)
    removeStateDir(g, id);
    return 0;
  }
  const now = statusNow(g, r);
  if ((now === 'running' || now === 'creating') && !force) {
    throw new BerthError('RUNNING', `cannot delete container ${id} that is not stopped: ${now}`, {
      hint: 'kill it first, or delete --force',
    });
  }
  // a created one was never started: docker rm of it kills it (runc does the same)
  deleteContainer(g, r);
  return 0;
}

/** Removes R (removeContainer kills what is left first), then its poststop hooks run. */
export function deleteContainer(g: OciGlobal, r: OciRecord): void {
  removeContainer(g, r);
  runHooks(g, 'poststop', r, 'stopped');
}
