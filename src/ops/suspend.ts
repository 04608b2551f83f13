// berth suspend / resume: freeze and thaw every process of a container (cgroup freezer).
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { cgroupDirsOf, mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { setFrozen } from '../host/cgroups.ts';

export async function suspendContainer(ctx: Ctx, id: CtId, frozen: boolean): Promise<void> {
  const verb = frozen ? 'suspend' : 'resume';
  return withLock(ctx, id, verb, async (stored) => {
    const { config } = mustExist(id, stored);
    const now = await reconcile(ctx, id, config);
    const want = frozen ? 'running' : 'suspended';
    if (now.status !== want) {
      const hint = now.status === 'stopped' ? `berth start ${id}` : `berth ${frozen ? 'resume' : 'suspend'} ${id}`;
      throw new BerthError('NOT_RUNNING', `${verb} ${id}: container is ${now.status}`, { hint });
    }
    setFrozen(ctx.layout(), cgroupDirsOf(ctx, id), frozen);
  });
}
