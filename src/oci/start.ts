// berth-oci start ID: releases a created container's process (it waits on the exec FIFO, as
// runc's), and records it running.
import { closeSync, constants, openSync, readSync, rmSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { execFifoPath, holdsFile, writeOciRecord } from '../host/oci-state.ts';
import { pause } from '../host/proc.ts';
import { trace } from '../host/trace.ts';
import { mustRecord, runHooks, statusNow, statusOfProcess } from './container.ts';
import type { OciGlobal } from './main.ts';

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  if (args.length !== 1) throw new BerthError('BAD_SYNTAX', 'start: takes one container id');
  startContainer(g, args[0] as string);
  return 0;
}

export function startContainer(g: OciGlobal, id: string): void {
  const r = mustRecord(g, id);
  trace('oci start: record');
  const now = statusNow(g, r);
  trace('oci start: status');
  if (now !== 'created') throw new BerthError('NOT_RUNNING', `cannot start a container that is ${now}: ${id}`);
  const fifo = execFifoPath(g.root, id);
  // non-blocking: a process that died meanwhile must not hang us. Its byte says it goes on, the
  // end of file (its write end is closed by its execve) that it runs, as runc reads it
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    let got = false;
    const deadline = performance.now() + 10_000;
    for (let i = 0; ; i++) {
      let n = -1;
      try {
        n = readSync(fd, buf, 0, 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (n === 1 && !got) {
        got = true;
        // recorded while the process goes on to its execve, not after: a command that ends at
        // once (`docker run IMG true`) must not end while start still works (containerd 1.6's
        // shim then takes its exit for one before the start, and the container stays "Up")
        rmSync(fifo, { force: true });
        r.status = 'running';
        writeOciRecord(g.root, r);
      }
      if (n === 0 && got) break;
      if (n !== 1 && statusOfProcess(r) === 'stopped') {
        throw new BerthError('NOT_RUNNING', `container ${id}: its process exited before its command ran`, {
          hint: "its stderr (the caller's log) says why",
        });
      }
      // nothing to read and no longer held: another start read it and the command runs
      if (n === 0 && !holdsFile(r.pid as number, fifo)) break;
      if (performance.now() > deadline)
        throw new BerthError('SYSTEM', `start ${id}: the process did not take the exec FIFO`);
      // its byte and its execve come within a millisecond or two: polls of 1 ms cost start
      // about that much twice (Docker runs a start for every container); later ones back off
      if (n !== 1) pause(i < 50 ? 0.1 : 1);
    }
  } finally {
    closeSync(fd);
  }
  trace('oci start: running');
  runHooks(g, 'poststart', r, 'running');
}
