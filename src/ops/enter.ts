// berth enter: an interactive login shell inside the container, on a pty from its own devpts.
// A session is one a checkpoint can carry: its helper records it under the container's run
// directory, chkpnt hands its shell to init and marks the record, and the restored shell's pty
// is kept by the container's keeper until the admin attaches again (enter --attach N).
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { inspect, loadCt } from '../engine/inspect.ts';
import { makeOwnedDir, removeFile } from '../host/files.ts';
import { readIfExists } from '../host/fs-util.ts';
import { carriedMarkPath, sessionsDir } from '../host/paths.ts';
import { execInContainer } from './exec.ts';

/** The shell is chosen inside the container, so the host never looks up paths in its tree. */
const LOGIN_SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'];

export async function enterContainer(ctx: Ctx, id: CtId, stdinIsTty: boolean): Promise<number> {
  if (!stdinIsTty) {
    throw new BerthError('NO_TTY', `enter ${id}: standard input is not a terminal`, {
      hint: `for scripts use: berth exec ${id} -- COMMAND`,
    });
  }
  const before = inspect(ctx, id);
  const session = sessionRecord(ctx, id);
  const mark = carriedMarkPath(ctx.paths, id, String(process.pid));
  try {
    return await execInContainer(ctx, id, LOGIN_SHELL, { pty: true, verb: 'enter', ...(session ? { session } : {}) });
  } finally {
    const n = session ? readIfExists(mark) : null;
    removeFile(mark);
    // the chkpnt that took the session stops the container right after (a failed one removes the
    // mark); one killed midway leaves it running with the same init: the session ended here
    const same = () => {
      const now = inspect(ctx, id);
      return now.status === 'running' && now.pid === before.pid && now.state?.startTime === before.state?.startTime;
    };
    for (let i = 0; n !== null && i < 100 && same(); i++) await new Promise((r) => setTimeout(r, 50));
    if (n !== null && !same()) {
      ctx.log(
        `\nberth: enter ${id}: the session went with the container's checkpoint; once it is restored ` +
          `(here or where it migrated): berth enter ${id} --attach ${Number(n.trim())}`,
      );
    }
  }
}

/**
 * Where this session's helper records it: the directory is the container's root's (the helper
 * writes as that id, having joined its user namespace) inside its run directory, which only
 * the host's root can reach (0700). None when the container has no run directory (it does not
 * run: exec says so) or it cannot be made: then a plain session, which chkpnt refuses.
 */
function sessionRecord(ctx: Ctx, id: CtId): { dir: string; name: string } | undefined {
  const dir = sessionsDir(ctx.paths, id);
  const name = String(process.pid);
  try {
    // not recursive: no run directory is made for a container that does not run
    if (!makeOwnedDir(dir, 0o700, loadCt(ctx, id).config.idBase)) return undefined;
    // an earlier berth of this pid, killed, may have left a mark
    removeFile(carriedMarkPath(ctx.paths, id, name));
    return { dir, name };
  } catch {
    return undefined;
  }
}
