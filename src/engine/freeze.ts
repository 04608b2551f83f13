// Holding a running container still while its files are copied (snapshot, backup, clone): its
// processes are frozen and its filesystem synced, so the copy is what one instant held.
import type { CtConfig } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { fullyFrozen, setFrozen } from '../host/cgroups.ts';
import { removeFile, removeTree } from '../host/files.ts';
import { writeFileAtomic } from '../host/fs-util.ts';
import { thawMarkerPath } from '../host/paths.ts';
import { trace } from '../host/trace.ts';
import { catchUpTree, copyTree, syncTree } from '../host/tree-copy.ts';
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
    trace('freeze');
    setFrozen(layout, dirs, true);
    // a few idle processes freeze within a millisecond or two: look often at first
    for (const end = Date.now() + 5000; !fullyFrozen(layout, dirs); ) {
      if (Date.now() > end) throw new BerthError('SYSTEM', `${cfg.id}: its processes did not freeze within 5 s`);
      await sleep(1);
    }
    // an image is copied as a file: its ext4 is frozen too, which writes its dirty pages and
    // journal out, so the copy mounts clean (read-only, even). Files of a dir or overlay are
    // copied through the page cache, which already holds every write: no sync, which would
    // also wait for the host's own dirty data (a backup's staged copy, for one) while frozen
    const image = cfg.layout === 'image';
    const fsFrozen = image && ctx.host.tool('fsfreeze', ['-f', cfg.veRoot]).status === 0;
    if (image && !fsFrozen) ctx.host.tool('sync', ['-f', cfg.veRoot]);
    trace('frozen');
    try {
      return await fn();
    } finally {
      trace('thaw');
      if (fsFrozen) ctx.host.tool('fsfreeze', ['-u', cfg.veRoot]);
    }
  } finally {
    setFrozen(layout, dirs, false);
    removeFile(marker);
  }
}

/** Whether copyAsFrozen copies the files while the container runs (freezing it only to catch up). */
export const copiesWhileRunning = (cfg: CtConfig, status: string): boolean =>
  status === 'running' && cfg.layout !== 'image';

/**
 * Copies a container's own files SRC to DST (not there yet) as one instant held them, and
 * returns how long the container was frozen for it. A running dir or overlay container is
 * copied while it runs, then frozen only while the helper catches up with what changed since
 * (vzdump's suspend mode): milliseconds, whatever its size. An image is copied whole while
 * frozen: its one file changes whenever the container writes.
 */
export async function copyAsFrozen(ctx: Ctx, cfg: CtConfig, status: string, src: string, dst: string): Promise<number> {
  if (!copiesWhileRunning(cfg, status)) {
    const t0 = Date.now();
    ctx.progress?.(`${cfg.id}: copying its files${status === 'running' ? ' (frozen)' : ''}`);
    await withFrozen(ctx, cfg, status, () => copyTree(ctx.host, src, dst)).finally(() => ctx.progress?.(null));
    return status === 'running' ? Date.now() - t0 : 0;
  }
  // ctimes come from the kernel's coarse clock, at most a tick (10 ms at HZ=100) behind, and the
  // container cannot set them back: 100 ms of margin catches every change after this instant,
  // and copies again, while frozen, only what changed just before it (a second recopied a file
  // of 1 GB written then: 0.9 s frozen)
  const since = (BigInt(Date.now()) - 100n) * 1_000_000n;
  ctx.progress?.(`${cfg.id}: copying its files while it runs`);
  await syncTree(ctx.host, src, dst).finally(() => ctx.progress?.(null));
  // timed from before the freeze to after the thaw: all the container waited
  const t0 = Date.now();
  await withFrozen(ctx, cfg, status, async () => {
    try {
      catchUpTree(ctx.host, ctx.paths.helper, src, dst, since);
    } catch (err) {
      // a tree the catch-up pass refuses (directories nested past its limit): copied whole
      // while frozen, as before it existed
      ctx.log(`warning: ${cfg.id}: ${(err as Error).message.slice(0, 200)}; copying it whole while frozen`);
      removeTree(dst);
      await copyTree(ctx.host, src, dst);
    }
  });
  return Date.now() - t0;
}
