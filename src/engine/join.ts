// Running argv in a running container through the helper's join mode: exec, action scripts,
// set --userpasswd and live network changes share it.

import { execPlan } from '../core/container-plan.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { joinArgs } from '../core/helper-args.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { procsFiles } from '../host/cgroups.ts';
import { policyFd } from '../host/helper.ts';
import { keeperSocketPath } from '../host/paths.ts';
import { boundingCaps, ownCapabilities, ownUserns } from '../host/proc.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, type Inspection } from './inspect.ts';

const ENOENT = 2;
const EACCES = 13;

/**
 * Runs argv in running container ID (inspected as NOW) through the helper's join mode, with
 * stdin from STDIN (berth's own, or a file: the helper relays it over a pipe, so the container
 * never holds a host fd) and its output on berth's; returns its exit status.
 */
export function runJoined(
  ctx: Ctx,
  id: CtId,
  now: Inspection,
  argv: readonly string[],
  opts: { pty: boolean; verb: string; stdin: 'inherit' | number; relaysSignals?: boolean },
): number {
  return joinRun(ctx, id, now, argv, opts).code;
}

/**
 * runJoined with its output on STDOUT (an action script's goes to stderr) and, past timeoutMs,
 * the helper killed (what it started stays in the container's cgroup, which its stop empties).
 */
export function joinRun(
  ctx: Ctx,
  id: CtId,
  now: Inspection,
  argv: readonly string[],
  opts: {
    pty: boolean;
    verb: string;
    stdin: 'inherit' | number;
    stdout?: number;
    timeoutMs?: number;
    relaysSignals?: boolean;
  },
): { code: number; timedOut: boolean } {
  if (now.pid === null) throw new BerthError('NOT_RUNNING', `${opts.verb} ${id}: container is not running`);
  // its keeper answers sysinfo for the command too, as for init (the state says whether)
  const sysinfo = now.state?.keeper?.sysinfo === true;
  const plan = execPlan(now.pid, procsFiles(cgroupDirsOf(ctx, id)), argv, {
    pty: opts.pty,
    term: process.env['TERM'],
    // berth's own, within the container's set (its init's bounding set: CAPABILITY applied)
    availableCaps: ownCapabilities(ctx.host) & (boundingCaps(ctx.host, now.pid) ?? 0n),
    userns: ownUserns(ctx.host, now.pid),
    keeperSocket: sysinfo ? keeperSocketPath(ctx.paths, id) : null,
  });
  const r = ctx.host.runHelper(ctx.paths.helper, joinArgs(plan), {
    stdio: [opts.stdin, opts.stdout ?? 'inherit', 'inherit'],
    seccompFd: policyFd(ctx.paths.run, seccompPolicy(process.arch, { sysinfo })),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    relaysSignals: opts.relaysSignals === true,
  });
  if (r.error) {
    const what = `${opts.verb} ${id} ${argv[0] ?? ''}`.trim();
    if (r.error.error === 'execve' && r.error.errno === ENOENT) {
      throw new BerthError('COMMAND_NOT_FOUND', `${what}: no such command in the container`, {
        hint: 'the command is looked up in the PATH of the container, not the host: install it there, or give its full path',
      });
    }
    if (r.error.error === 'execve' && r.error.errno === EACCES) {
      throw new BerthError('COMMAND_NOT_EXECUTABLE', `${what}: permission denied`, {
        hint: 'it is a directory, or a file without execute permission, in the container',
      });
    }
    throw new BerthError('CT_CREATE', `${what}: ${r.error.message ?? r.error.error}`);
  }
  return { code: r.exitCode, timedOut: r.timedOut };
}
