// berth restart: stop (if running) and start again, under one lock.
import type { CtId } from '../core/ctid.ts';
import type { Ctx } from '../engine/context.ts';
import { mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { startLocked } from './start.ts';
import { stopLocked } from './stop.ts';

export async function restartContainer(ctx: Ctx, id: CtId, fast: boolean): Promise<number> {
  return withLock(ctx, id, 'restart', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    if (now.status !== 'stopped') await stopLocked(ctx, id, ct, now, { fast });
    return startLocked(ctx, id, ct);
  });
}
