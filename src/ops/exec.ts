// berth exec: run argv inside a running container (its namespaces, cgroups, capabilities and
// seccomp filter); stdio is streamed and the command's exit status is returned.

import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { type Inspection, inspect, notRunningError } from '../engine/inspect.ts';
import { runJoined } from '../engine/join.ts';
import { pathExists } from '../host/files.ts';
import { thawMarkerPath } from '../host/paths.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A container frozen by berth for a copy (snapshot, backup, clone) is not suspended by its
 * admin: exec waits for the copy to end (about as long as the copy takes), or, when the berth
 * that froze it is gone, thaws it through the usual locked recovery.
 */
async function waitCopyThaw(ctx: Ctx, id: CtId, now: Inspection): Promise<Inspection> {
  if (now.status !== 'suspended' || !pathExists(thawMarkerPath(ctx.paths, id))) return now;
  // the recovery code (and what it loads) only on this rare path: exec's start-up is user-visible
  const { reconcile, withLock } = await import('../engine/runtime.ts');
  for (let i = 0; now.status === 'suspended' && pathExists(thawMarkerPath(ctx.paths, id)) && i < 3000; i++) {
    try {
      await withLock(ctx, id, 'exec', async (ct) => reconcile(ctx, id, ct?.config ?? null));
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'LOCKED')) throw err;
      await sleep(20); // the copy is still going
    }
    now = inspect(ctx, id);
  }
  return now;
}

/** No lock: exec changes no berth state, and must not wait behind a long `set` or `stop`. */
export async function execInContainer(
  ctx: Ctx,
  id: CtId,
  argv: readonly string[],
  opts: {
    pty: boolean;
    verb: string;
    env?: readonly string[];
    winsizeFd?: number;
    session?: { dir: string; name: string };
  },
): Promise<number> {
  const now = await waitCopyThaw(ctx, id, inspect(ctx, id));
  if (now.status !== 'running' || now.pid === null) throw notRunningError(ctx, id, opts.verb, now.status);
  return runJoined(ctx, id, now, argv, {
    pty: opts.pty,
    verb: opts.verb,
    stdin: 'inherit',
    relaysSignals: true,
    env: opts.env ?? [],
    ...(opts.winsizeFd === undefined ? {} : { winsizeFd: opts.winsizeFd }),
    ...(opts.session ? { session: opts.session } : {}),
  });
}
