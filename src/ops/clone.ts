// berth clone CTID NEWCTID: a copy of a container that is a distinct machine (new hostname, no
// addresses or port forwards, new MACs, a fresh machine-id at its first start). Consistent
// while the source runs (it is frozen for the copy); nearly free for overlay, whose clone
// copies only what the source changed on the shared layer.
import { cloneKeys } from '../core/clone.ts';
import { formatConfig, setKeys, toRecord } from '../core/config.ts';
import { ctConfigFrom, validateHostname } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import type { Ctx } from '../engine/context.ts';
import { copyAsFrozen } from '../engine/freeze.ts';
import { writeConfigWithIds } from '../engine/idmap.ts';
import { mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { pathExists, removeTree, renamePath } from '../host/files.ts';
import { randomBytes } from '../host/fs-util.ts';
import { ownFilesTarget, rootSource } from '../host/layers.ts';
import { ctConfigPath } from '../host/paths.ts';
import { readGlobal } from '../host/store.ts';

export async function cloneContainer(ctx: Ctx, from: CtId, to: CtId, hostname: string | undefined): Promise<void> {
  if (hostname !== undefined) validateHostname(hostname);
  if (from === to) throw new BerthError('BAD_VALUE', `clone ${from}: the new CTID is the same`);
  return withLock(ctx, from, 'clone', async (stored) => {
    const src = mustExist(from, stored);
    const now = await reconcile(ctx, from, src.config);
    const root = rootSource(ctx.paths, src.config, 'clone');
    const exists = () =>
      new BerthError('PRIVATE_EXISTS', `clone ${from}: container ${to} already exists`, {
        hint: `pick another CTID, or destroy ${to} first`,
      });
    await withLock(ctx, to, 'clone', async (target) => {
      if (target) throw exists();
      const file = setKeys(src.file, cloneKeys(to, src.config, toRecord(src.file), hostname, randomBytes));
      const cfg = ctConfigFrom(to, toRecord(file), readGlobal(ctx.paths));
      if (pathExists(cfg.vePrivate) || pathExists(ctConfigPath(ctx.paths, to))) throw exists();
      const partial = `${cfg.vePrivate}.partial`;
      removeTree(partial);
      ctx.log(`Cloning ${from} (layout ${root.layout}) as ${to}...`);
      const frozenMs = await copyAsFrozen(
        ctx,
        src.config,
        now.status,
        ownFilesDir(root.layout, root.vePrivate),
        ownFilesTarget(root.layout, partial),
      );
      if (now.status === 'running') ctx.log(`${from} was frozen ${frozenMs} ms for the copy`);
      // the config before the rename: until then the .partial makes recovery roll it back;
      // an unprivileged source's clone gets an id range of its own (its files need no change:
      // on disk they are the same whatever the range)
      writeConfigWithIds(ctx, to, formatConfig(file), cfg.idBase !== null);
      renamePath(partial, cfg.vePrivate);
    });
  });
}
