// berth console: the caller's terminal on a running container's console, through its keeper.
import { attachArgs, escapeName } from '../core/console.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { inspect, notRunningError } from '../engine/inspect.ts';

import { consoleLogPath, keeperSocketPath } from '../host/paths.ts';

const notRunning = (ctx: Ctx, id: CtId) => notRunningError(ctx, id, 'console', inspect(ctx, id).status);

/**
 * Attaches until the admin detaches (ESCAPE then '.', null: never), stdin ends, or the
 * container stops; one admin at a time. No lock: it changes no berth state. Returns 0.
 */
export function attachConsole(
  ctx: Ctx,
  id: CtId,
  opts: { escape: number | null; tty: boolean; winsizeFd?: number | undefined },
): number {
  if (inspect(ctx, id).status !== 'running') throw notRunning(ctx, id);
  const keys = opts.escape === null ? 'no detach key' : `${escapeName(opts.escape)} . to detach`;
  const banner = opts.tty ? `Attached to the console of container ${id} (${keys})` : '';
  // ^C is a byte for the console in raw mode; one sent to berth's process group must not end berth
  const fd = opts.winsizeFd;
  const winsize = fd !== undefined;
  const r = ctx.host.runHelper(
    ctx.paths.helper,
    attachArgs(keeperSocketPath(ctx.paths, id), opts.escape, banner, winsize),
    {
      stdio: ['inherit', 'inherit', 'inherit'],
      relaysSignals: true,
      ...(fd === undefined ? {} : { winsizeFd: fd }),
    },
  );
  const running = () => inspect(ctx, id).status === 'running';
  switch (r.console) {
    case 'detached':
      if (opts.tty) ctx.log(`\ndetached from the console of container ${id}`);
      return 0;
    case 'eof':
    case 'signal':
      return 0;
    case 'closed':
      if (!running()) {
        if (opts.tty) ctx.log(`\ncontainer ${id} stopped`);
        return 0;
      }
      throw new BerthError('SYSTEM', `console ${id}: the keeper dropped this terminal: it fell behind the console`, {
        hint: `attach again; everything is in ${consoleLogPath(ctx.paths, id)}`,
      });
    case 'busy':
      throw new BerthError('CONSOLE_BUSY', `console ${id}: already attached (berth console, pid ${r.pid ?? '?'})`, {
        hint: `one admin at a time: detach there (${opts.escape === null ? 'its detach key' : keys.replace(' to detach', '')}), or end it: kill ${r.pid ?? 'PID'}`,
      });
    case 'none':
      throw new BerthError('SYSTEM', `console ${id}: the container has no console`);
    case 'gone':
      throw notRunning(ctx, id);
    case 'unanswered':
      if (!running()) throw notRunning(ctx, id);
      throw new BerthError('SYSTEM', `console ${id}: its keeper does not serve the console`, {
        hint: `it was started by an older berth: berth restart ${id}`,
      });
    default:
      if (r.error) throw new BerthError('SYSTEM', `console ${id}: ${r.error.message ?? r.error.error}`);
      throw new BerthError(
        'SYSTEM',
        `console ${id}: the helper exited with ${r.exitCode} (${r.console ?? 'no outcome'})`,
      );
  }
}
