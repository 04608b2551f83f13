// berth console: the caller's terminal on a running container's console, through its keeper.
import { attachArgs, escapeName } from '../core/console.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Ctx } from '../engine/context.ts';
import { inspect, notRunningError } from '../engine/inspect.ts';

import { consoleLogPath, keeperSocketPath } from '../host/paths.ts';

const notRunning = (ctx: Ctx, id: CtId, verb = 'console') => notRunningError(ctx, id, verb, inspect(ctx, id).status);

/**
 * Attaches until the admin detaches (ESCAPE then '.', null: never), stdin ends, or the
 * container stops; one admin at a time. No lock: it changes no berth state. Returns 0.
 */
export function attachConsole(
  ctx: Ctx,
  id: CtId,
  opts: { escape: number | null; tty: boolean; winsizeFd?: number | undefined; session?: number },
): number {
  const keys = opts.escape === null ? 'no detach key' : `${escapeName(opts.escape)} . to detach`;
  // the console, or an enter session a restore carried over (berth enter --attach N)
  const n = opts.session ?? 0;
  const what = n ? `enter session ${n}` : 'console';
  const verb = n ? 'enter' : 'console';
  if (inspect(ctx, id).status !== 'running') throw notRunning(ctx, id, verb);
  const banner = opts.tty ? `Attached to the ${what} of container ${id} (${keys})` : '';
  // ^C is a byte for the console in raw mode; one sent to berth's process group must not end berth
  const fd = opts.winsizeFd;
  const winsize = fd !== undefined;
  const r = ctx.host.runHelper(
    ctx.paths.helper,
    attachArgs(keeperSocketPath(ctx.paths, id), opts.escape, banner, winsize, n),
    {
      stdio: ['inherit', 'inherit', 'inherit'],
      relaysSignals: true,
      ...(fd === undefined ? {} : { winsizeFd: fd }),
    },
  );
  const running = () => inspect(ctx, id).status === 'running';
  switch (r.console) {
    case 'detached':
      if (opts.tty) ctx.log(`\ndetached from the ${what} of container ${id}`);
      return 0;
    case 'eof':
    case 'signal':
      return 0;
    case 'closed':
      if (!running()) {
        if (opts.tty) ctx.log(`\ncontainer ${id} stopped`);
        return 0;
      }
      // a session's shell ended (its pty's last slave closed)
      if (n) {
        if (opts.tty) ctx.log(`\nthe ${what} of container ${id} ended`);
        return 0;
      }
      throw new BerthError('SYSTEM', `${verb} ${id}: the keeper dropped this terminal: it fell behind the ${what}`, {
        hint: `attach again; everything is in ${consoleLogPath(ctx.paths, id)}`,
      });
    case 'busy':
      throw new BerthError(
        'CONSOLE_BUSY',
        `${verb} ${id}: ${n ? `session ${n} is ` : ''}already attached (berth ${verb}, pid ${r.pid ?? '?'})`,
        {
          hint: `one admin at a time: detach there (${opts.escape === null ? 'its detach key' : keys.replace(' to detach', '')}), or end it: kill ${r.pid ?? 'PID'}`,
        },
      );
    case 'none':
      if (n) {
        // the ones its last restore carried; any of them may have ended since
        const kept = (inspect(ctx, id).state?.sessions ?? []).map((s) => s.n).filter((k) => k !== n);
        throw new BerthError('BAD_VALUE', `enter ${id}: no carried-over session ${n}`, {
          hint: kept.length
            ? `its restore carried session${kept.length > 1 ? 's' : ''} ${kept.join(' ')}: berth enter --attach ${kept[0]} ${id}`
            : 'a restore keeps the sessions its checkpoint carried, and a session goes when its shell ends',
        });
      }
      throw new BerthError('SYSTEM', `console ${id}: the container has no console`);
    case 'gone':
      throw notRunning(ctx, id, verb);
    case 'unanswered':
      if (!running()) throw notRunning(ctx, id, verb);
      throw new BerthError('SYSTEM', `${verb} ${id}: its keeper does not serve the ${what}`, {
        hint: `it was started by an older berth: berth restart ${id}`,
      });
    default:
      if (r.error) throw new BerthError('SYSTEM', `${verb} ${id}: ${r.error.message ?? r.error.error}`);
      throw new BerthError(
        'SYSTEM',
        `${verb} ${id}: the helper exited with ${r.exitCode} (${r.console ?? 'no outcome'})`,
      );
  }
}
