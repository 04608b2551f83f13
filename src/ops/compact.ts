// berth compact: give back to the host the blocks an image layout's container freed inside
// (vzctl compact). fstrim on its mounted ext4 makes the loop device punch holes in root.img,
// so the file takes only what the container holds; its size, the disk limit, stays.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { imageFile, viewMountArgs } from '../core/layout.ts';
import type { Ctx } from '../engine/context.ts';
import { mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { allocatedBytes, fileSize, makeDir } from '../host/files.ts';
import { rootSource } from '../host/layers.ts';
import { isMounted, readMountinfo } from '../host/mountinfo.ts';
import { mountRoot, unmountRoot } from '../host/mounts.ts';

export interface CompactResult {
  file: string;
  /** bytes of the host's disk the image took before and takes after */
  before: number;
  after: number;
  /** its size: the limit, unchanged */
  size: number;
}

export async function compactContainer(ctx: Ctx, id: CtId): Promise<CompactResult> {
  return withLock(ctx, id, 'compact', async (stored) => {
    const { config } = mustExist(id, stored);
    if (config.layout !== 'image') {
      throw new BerthError('BAD_VALUE', `compact ${id}: layout ${config.layout} has no image to compact`, {
        hint: 'its files take on the host only what they hold already; compact is for the image layout',
      });
    }
    await reconcile(ctx, id, config);
    const file = imageFile(config.vePrivate);
    const before = allocatedBytes(file);
    // running or mounted by the admin: trimmed where it is; else mounted for the trim alone
    const mountedHere = !isMounted(config.veRoot, readMountinfo(ctx.host));
    if (mountedHere) {
      makeDir(config.veRoot);
      mountRoot(ctx.host, ctx.paths.helper, viewMountArgs(rootSource(ctx.paths, config, 'compact')));
    }
    try {
      const r = ctx.host.tool('fstrim', [config.veRoot]);
      if (r.status !== 0) throw new BerthError('SYSTEM', `compact ${id}: fstrim ${config.veRoot}: ${r.stderr.trim()}`);
    } finally {
      if (mountedHere) unmountRoot(ctx.host, ctx.paths.helper, config.veRoot);
    }
    return { file, before, after: allocatedBytes(file), size: fileSize(file) };
  });
}
