// berth stop: ask init to power off the way it expects, wait, then kill what is left.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { runScripts } from '../engine/action-scripts.ts';
import type { Ctx } from '../engine/context.ts';
import { cgroupDirsOf, type Inspection, mustExist } from '../engine/inspect.ts';
import { cleanupRuntime, reconcile, withLock } from '../engine/runtime.ts';
import { thawAll } from '../host/cgroups.ts';
import { isAlive } from '../host/proc.ts';
import { readCtOrDerived, type StoredCt } from '../host/store.ts';

export interface StopOptions {
  /** skip the clean shutdown: kill at once (vzctl stop --fast) */
  fast: boolean;
  /** seconds to wait for a clean shutdown; defaults to the container's STOP_TIMEOUT */
  timeout?: number;
}

/** Stops a running container; resolves once nothing of it runs. */
export async function stopContainer(ctx: Ctx, id: CtId, opts: StopOptions): Promise<void> {
  // a running container whose config broke since its start still stops: its root and network
  // are in its runtime state; the rest comes from berth.conf
  return withLock(
    ctx,
    id,
    'stop',
    async (stored) => {
      const ct = mustExist(id, stored);
      const now = await reconcile(ctx, id, ct.config);
      if (now.status === 'stopped') {
        if (ct.broken) throw ct.broken;
        throw new BerthError('NOT_RUNNING', `stop ${id}: container is not running`, { hint: `berth start ${id}` });
      }
      if (ct.broken) ctx.log(`warning: ${ct.broken.message}: stopping it with what its start recorded`);
      await stopLocked(ctx, id, ct, now, opts);
    },
    readCtOrDerived,
  );
}

export async function stopLocked(ctx: Ctx, id: CtId, ct: StoredCt, now: Inspection, opts: StopOptions): Promise<void> {
  const dirs = cgroupDirsOf(ctx, id);
  // a frozen init cannot shut down: thaw what berth froze and what the container froze itself
  thawAll(ctx.layout(), dirs);
  const pid = now.pid;
  // CTID.stop runs inside first, even for --fast (as vzctl); a failing one is warned about
  if (pid !== null) await runScripts(ctx, id, ct.config, 'stop');
  if (!opts.fast && pid !== null && now.state) {
    ctx.host.kill(pid, now.state.stopSignal);
    const deadline = Date.now() + (opts.timeout ?? ct.config.stopTimeout) * 1000;
    while (Date.now() < deadline && isAlive(ctx.host, pid, now.state.startTime)) {
      await new Promise((r) => setTimeout(r, 25));
    }
    if (isAlive(ctx.host, pid, now.state.startTime)) ctx.log(`${id}: init did not stop in time; killing`);
  }
  await cleanupRuntime(ctx, id, ct.config);
}
