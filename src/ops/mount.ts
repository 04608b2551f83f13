// berth mount / umount: show a stopped container's files at VE_ROOT (vzctl mount/umount), nosuid,
// with the premount/mount and umount/postumount action scripts around.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { viewMountArgs } from '../core/layout.ts';
import { mountWithScripts, unmountWithScripts } from '../engine/action-scripts.ts';
import type { Ctx } from '../engine/context.ts';
import { mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { makeDir } from '../host/files.ts';
import { rootSource } from '../host/layers.ts';
import { isMounted, readMountinfo } from '../host/mountinfo.ts';

export async function mountContainer(ctx: Ctx, id: CtId): Promise<void> {
  return withLock(ctx, id, 'mount', async (stored) => {
    const { config } = mustExist(id, stored);
    await reconcile(ctx, id, config);
    if (isMounted(config.veRoot, readMountinfo(ctx.host)))
      throw new BerthError('MOUNTED', `mount ${id}: already mounted at ${config.veRoot}`);
    const root = rootSource(ctx.paths, config, 'mount');
    makeDir(config.veRoot);
    await mountWithScripts(ctx, id, config, viewMountArgs(root));
  });
}

export async function umountContainer(ctx: Ctx, id: CtId): Promise<void> {
  return withLock(ctx, id, 'umount', async (stored) => {
    const { config } = mustExist(id, stored);
    const now = await reconcile(ctx, id, config);
    if (now.status !== 'stopped') {
      throw new BerthError('RUNNING', `umount ${id}: container is ${now.status}`, { hint: `berth stop ${id}` });
    }
    if (!isMounted(config.veRoot, readMountinfo(ctx.host)))
      throw new BerthError('NOT_MOUNTED', `umount ${id}: not mounted`);
    await unmountWithScripts(ctx, id, config, config.veRoot);
  });
}
