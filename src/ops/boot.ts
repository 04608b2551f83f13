// berth boot / berth shutdown: what berth.service runs at host boot and shutdown.
import { type BootEntry, bootSequence, shutdownGroups } from '../core/boot.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { inspect } from '../engine/inspect.ts';
import { listCtIds, readCt } from '../host/store.ts';
import { startContainer } from './start.ts';
import { stopContainer } from './stop.ts';

export interface BootReport {
  done: CtId[];
  skipped: CtId[];
  failed: Array<{ id: CtId; error: string }>;
}

function entries(ctx: Ctx, report: BootReport): BootEntry[] {
  return listCtIds(ctx.paths).flatMap((id) => {
    try {
      const c = readCt(ctx.paths, id)?.config;
      return c ? [{ id, onboot: c.onboot, bootorder: c.bootorder }] : [];
    } catch (err) {
      report.failed.push({ id, error: (err as Error).message });
      return [];
    }
  });
}

function finish(verb: string, report: BootReport): BootReport {
  if (report.failed.length) {
    throw new BerthError(
      'SOME_FAILED',
      `${verb}: ${report.failed.length} container(s) failed: ${report.failed.map((f) => `${f.id} (${f.error})`).join('; ')}`,
      { hint: `the others were done: ${report.done.join(' ') || 'none'}` },
    );
  }
  return report;
}

/** Starts every ONBOOT container that is not running, highest BOOTORDER first. */
export async function bootAll(ctx: Ctx): Promise<BootReport> {
  const report: BootReport = { done: [], skipped: [], failed: [] };
  for (const id of bootSequence(entries(ctx, report))) {
    if (inspect(ctx, id).status !== 'stopped') {
      report.skipped.push(id);
      continue;
    }
    try {
      ctx.log(`Starting ${id}...`);
      await startContainer(ctx, id);
      report.done.push(id);
    } catch (err) {
      report.failed.push({ id, error: (err as Error).message });
      ctx.log(`berth: ${(err as Error).message}`);
    }
  }
  return finish('boot', report);
}

/** Stops every running container, lowest BOOTORDER group first, each group in parallel. */
export async function shutdownAll(ctx: Ctx, opts: { fast: boolean; timeout?: number }): Promise<BootReport> {
  const report: BootReport = { done: [], skipped: [], failed: [] };
  const running = entries(ctx, report).filter((e) => inspect(ctx, e.id).status !== 'stopped');
  for (const group of shutdownGroups(running)) {
    ctx.log(`Stopping ${group.join(' ')}...`);
    await Promise.all(
      group.map(async (id) => {
        try {
          await stopContainer(ctx, id, opts);
          report.done.push(id);
        } catch (err) {
          if (err instanceof BerthError && err.code === 'NOT_RUNNING') report.skipped.push(id);
          else report.failed.push({ id, error: (err as Error).message });
        }
      }),
    );
  }
  return finish('shutdown', report);
}
