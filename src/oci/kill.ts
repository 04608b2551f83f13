// berth-oci kill [--all] ID [SIGNAL]: the container's process (with --all, every process in its
// cgroups) gets SIGNAL (SIGTERM by default).
import { BerthError } from '../core/errors.ts';
import { linuxHost } from '../host/host.ts';
import { killAll, mustRecord, signalNumber, statusNow } from './container.ts';
import { type OciGlobal, parseFlags } from './main.ts';

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('kill', args, [], ['all', 'a']);
  if (positionals.length < 1 || positionals.length > 2) throw new BerthError('BAD_SYNTAX', 'kill: ID [SIGNAL]');
  const r = mustRecord(g, positionals[0]);
  const sig = signalNumber(positionals[1]);
  // the words the shim and Docker match on to treat the container as already gone
  if (statusNow(g, r) === 'stopped' || r.pid === null) throw new BerthError('NOT_RUNNING', 'container not running');
  if (flags.has('all') || flags.has('a')) killAll(r, sig, false);
  else linuxHost.kill(r.pid, sig);
  return 0;
}
