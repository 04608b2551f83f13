// berth enter: an interactive login shell inside the container, on a pty from its own devpts.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { execInContainer } from './exec.ts';

/** The shell is chosen inside the container, so the host never looks up paths in its tree. */
const LOGIN_SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'];

export async function enterContainer(ctx: Ctx, id: CtId, stdinIsTty: boolean): Promise<number> {
  if (!stdinIsTty) {
    throw new BerthError('NO_TTY', `enter ${id}: standard input is not a terminal`, {
      hint: `for scripts use: berth exec ${id} -- COMMAND`,
    });
  }
  return execInContainer(ctx, id, LOGIN_SHELL, { pty: true, verb: 'enter' });
}
