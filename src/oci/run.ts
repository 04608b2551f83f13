// berth-oci run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] [--keep] ID: create
// and start in one. Detached, it returns once the command runs; else it waits for the
// container's init, relays the signals it gets to it, deletes the container (unless --keep) and
// exits with its status (128 + the signal for a killed one), as runc run does.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { linuxHost } from '../host/host.ts';
import { checkOciId } from '../host/oci-state.ts';
import { declineIf } from './caller.ts';
import { mustRecord, statusOfProcess } from './container.ts';
import { CREATE_VALUED, createContainer, createOptions } from './create.ts';
import { deleteContainer } from './delete.ts';
import { type OciGlobal, parseFlags } from './main.ts';
import { startContainer } from './start.ts';

const BOOLEAN = ['detach', 'd', 'keep', 'no-pivot', 'no-new-keyring', 'no-subreaper'];
const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('run', args, CREATE_VALUED, BOOLEAN);
  if (positionals.length !== 1) throw new BerthError('BAD_SYNTAX', 'run: takes one container id');
  const id = checkOciId(positionals[0]);
  const detach = flags.has('detach') || flags.has('d');
  // a worker of the server has no signals of the caller's to pass on, nor a caller to keep waiting
  declineIf(g, !detach, 'run waits for the container');
  const exitFile = detach ? null : join(g.root, id, 'exit');
  const record = await createContainer(g, id, createOptions(flags, exitFile));
  if (exitFile === null || record.pid === null) {
    startContainer(g, id);
    return 0;
  }
  const pid = record.pid;
  // the container's from now on: a ^C or a kill of run is its init's (only the waiter may reap it)
  const relay = (sig: NodeJS.Signals) => linuxHost.kill(pid, sig);
  for (const s of RELAYED) process.on(s, relay);
  startContainer(g, id);
  let status = Number.NaN;
  // the waiter writes it at once; an init gone for a second with no status: the waiter was killed
  for (let goneSince = 0; Number.isNaN(status); ) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      status = Number.parseInt(readFileSync(exitFile, 'utf8'), 10);
    } catch {}
    if (!Number.isNaN(status) || statusOfProcess(record) !== 'stopped') continue;
    goneSince ||= Date.now();
    if (Date.now() - goneSince > 1000) {
      throw new BerthError('SYSTEM', `run ${id}: the container ended, but its status was lost`, {
        hint: `berth-oci delete ${id} removes it`,
      });
    }
  }
  for (const s of RELAYED) process.off(s, relay);
  rmSync(exitFile, { force: true });
  if (!flags.has('keep')) deleteContainer(g, mustRecord(g, id));
  return status;
}
