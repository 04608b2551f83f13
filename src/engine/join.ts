// Running argv in a running container through the helper's join mode: exec, action scripts,
// set --userpasswd and live network changes share it.

import { execPlan } from '../core/container-plan.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { joinArgs } from '../core/helper-args.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { procsFiles } from '../host/cgroups.ts';
import { policyFd, type StatusRecord } from '../host/helper.ts';
import { keeperSocketPath } from '../host/paths.ts';
import { boundingCaps, hasTimens, ownCapabilities, ownUserns } from '../host/proc.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, type Inspection } from './inspect.ts';

const ENOENT = 2;
const EACCES = 13;

export interface JoinOptions {
  pty: boolean;
  verb: string;
  stdin: 'inherit' | number;
  stdout?: number;
  timeoutMs?: number;
  relaysSignals?: boolean;
  env?: readonly string[];
  /** window sizes for the pty from this fd (berthd's websocket), passed on as WINSIZE_FD */
  winsizeFd?: number;
  /** an enter session a checkpoint may carry (ops/enter.ts) */
  session?: { dir: string; name: string };
}

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
  opts: Omit<JoinOptions, 'stdout' | 'timeoutMs'>,
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
  opts: JoinOptions,
): { code: number; timedOut: boolean } {
  const { args, sysinfo, nesting, winsize } = joinArgsFor(ctx, id, now, argv, {
    ...opts,
    winsize: opts.winsizeFd !== undefined,
  });
  const r = ctx.host.runHelper(ctx.paths.helper, args, {
    ...(winsize ? { winsizeFd: opts.winsizeFd } : {}),
    stdio: [opts.stdin, opts.stdout ?? 'inherit', 'inherit'],
    seccompFd: policyFd(ctx.paths.run, seccompPolicy(process.arch, { sysinfo, nesting })),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    relaysSignals: opts.relaysSignals === true,
  });
  if (r.error) throw joinFailure(r.error, `${opts.verb} ${id} ${argv[0] ?? ''}`.trim());
  return { code: r.exitCode, timedOut: r.timedOut };
}

/**
 * berthd's exec: argv with STDIN given whole and its output collected, the helper run without
 * blocking the daemon (no berth process of its own: exec's latency is the helper's).
 */
export async function joinCaptured(
  ctx: Ctx,
  id: CtId,
  now: Inspection,
  argv: readonly string[],
  opts: { verb: string; env: readonly string[]; stdin: Buffer; cap: number },
): Promise<{ code: number; stdout: Buffer; stderr: Buffer; truncated: boolean }> {
  const { args, sysinfo, nesting } = joinArgsFor(ctx, id, now, argv, {
    pty: false,
    verb: opts.verb,
    env: opts.env,
    winsize: false,
  });
  const r = await ctx.host.runHelperAsync(ctx.paths.helper, args, {
    stdin: opts.stdin,
    seccompFd: policyFd(ctx.paths.run, seccompPolicy(process.arch, { sysinfo, nesting })),
    cap: opts.cap,
  });
  if (r.error) throw joinFailure(r.error, `${opts.verb} ${id} ${argv[0] ?? ''}`.trim());
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, truncated: r.truncated };
}

/** The helper's join-mode argv for argv in running container ID (inspected as NOW). */
function joinArgsFor(
  ctx: Ctx,
  id: CtId,
  now: Inspection,
  argv: readonly string[],
  opts: {
    pty: boolean;
    verb: string;
    env?: readonly string[] | undefined;
    winsize: boolean;
    session?: { dir: string; name: string } | undefined;
  },
): { args: string[]; sysinfo: boolean; nesting: boolean; winsize: boolean } {
  if (now.pid === null) throw new BerthError('NOT_RUNNING', `${opts.verb} ${id}: container is not running`);
  // its keeper answers sysinfo for the command too, as for init (the state says whether)
  const sysinfo = now.state?.keeper?.sysinfo === true;
  // and the filter init got: without nesting, no new UTS or IPC namespaces (checkpoints need that)
  const nesting = now.state?.nesting !== false;
  const plan = execPlan(now.pid, procsFiles(cgroupDirsOf(ctx, id)), argv, {
    pty: opts.pty,
    term: process.env['TERM'],
    // berth's own, within the container's set (its init's bounding set: CAPABILITY applied)
    availableCaps: ownCapabilities(ctx.host) & (boundingCaps(ctx.host, now.pid) ?? 0n),
    userns: ownUserns(ctx.host, now.pid),
    timens: hasTimens(ctx.host),
    keeperSocket: sysinfo ? keeperSocketPath(ctx.paths, id) : null,
    env: opts.env ?? [],
  });
  if (opts.winsize && opts.pty) plan.winsize = true;
  if (opts.session && opts.pty) plan.session = opts.session;
  return { args: joinArgs(plan), sysinfo, nesting, winsize: plan.winsize === true };
}

/** What a failed join's status record means for the admin. */
function joinFailure(e: StatusRecord, what: string): BerthError {
  if (e.error === 'execve' && e.errno === ENOENT) {
    return new BerthError('COMMAND_NOT_FOUND', `${what}: no such command in the container`, {
      hint: 'the command is looked up in the PATH of the container, not the host: install it there, or give its full path',
    });
  }
  if (e.error === 'execve' && e.errno === EACCES) {
    return new BerthError('COMMAND_NOT_EXECUTABLE', `${what}: permission denied`, {
      hint: 'it is a directory, or a file without execute permission, in the container',
    });
  }
  return new BerthError('CT_CREATE', `${what}: ${e.message ?? e.error}`);
}
