// Holding a running container still while its files are copied (snapshot, backup, clone): its
// processes are frozen and its filesystem synced, so the copy is what one instant held.
import { rmSync } from 'node:fs';
import type { CtConfig } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { fullyFrozen, setFrozen } from '../host/cgroups.ts';
import { writeFileAtomic } from '../host/fs-util.ts';
import { thawMarkerPath } from '../host/paths.ts';
import { childProcess } from '../host/spawn.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf } from './inspect.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn with the container frozen when it runs (and not already suspended by its admin),
 * as-is otherwise. The marker under /run makes the next command thaw it after a crash.
 */
export async function withFrozen<T>(ctx: Ctx, cfg: CtConfig, status: string, fn: () => Promise<T>): Promise<T> {
  if (status !== 'running') return fn();
  const dirs = cgroupDirsOf(ctx, cfg.id);
  const layout = ctx.layout();
  const marker = thawMarkerPath(ctx.paths, cfg.id);
  writeFileAtomic(marker, 'berth froze this container for a copy; the next command thaws it\n', 0o644, false);
  try {
    setFrozen(layout, dirs, true);
    for (let i = 0; !fullyFrozen(layout, dirs); i++) {
      if (i > 500) throw new BerthError('SYSTEM', `${cfg.id}: its processes did not freeze within 5 s`);
      await sleep(10);
    }
    // dirty pages of the container's filesystem reach its files; an image's ext4 is frozen
    // too, which also writes its journal out, so the copy mounts clean (read-only, even)
    const fsFrozen = cfg.layout === 'image' && childProcess().spawnSync('fsfreeze', ['-f', cfg.veRoot]).status === 0;
    if (!fsFrozen) childProcess().spawnSync('sync', ['-f', cfg.veRoot]);
    try {
      return await fn();
    } finally {
      if (fsFrozen) childProcess().spawnSync('fsfreeze', ['-u', cfg.veRoot]);
    }
  } finally {
    setFrozen(layout, dirs, false);
    rmSync(marker, { force: true });
  }
}
