// berth exec: run argv inside a running container (its namespaces, cgroups, capabilities and
// seccomp filter); stdio is streamed and the command's exit status is returned.

import { existsSync } from 'node:fs';
import { execPlan } from '../core/container-plan.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { joinArgs } from '../core/helper-args.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { procsFiles } from '../host/cgroups.ts';
import { policyFd, runHelper } from '../host/helper.ts';
import { ctConfigPath, keeperSocketPath, thawMarkerPath } from '../host/paths.ts';
import { boundingCaps, ownCapabilities, ownUserns } from '../host/proc.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, type Inspection, inspect, loadCt } from './inspect.ts';

const ENOENT = 2;
const EACCES = 13;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A container frozen by berth for a copy (snapshot, backup, clone) is not suspended by its
 * admin: exec waits for the copy to end (about as long as the copy takes), or, when the berth
 * that froze it is gone, thaws it through the usual locked recovery.
 */
async function waitCopyThaw(ctx: Ctx, id: CtId, now: Inspection): Promise<Inspection> {
  if (now.status !== 'suspended' || !existsSync(thawMarkerPath(ctx.paths, id))) return now;
  // the recovery code (and what it loads) only on this rare path: exec's start-up is user-visible
  const { reconcile, withLock } = await import('./runtime.ts');
  for (let i = 0; now.status === 'suspended' && existsSync(thawMarkerPath(ctx.paths, id)) && i < 3000; i++) {
    try {
      await withLock(ctx, id, 'exec', async (ct) => reconcile(ctx, id, ct?.config ?? null));
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'LOCKED')) throw err;
      await sleep(20); // the copy is still going
    }
    now = inspect(ctx, id);
  }
  return now;
}

/** No lock: exec changes no berth state, and must not wait behind a long `set` or `stop`. */
export async function execInContainer(
  ctx: Ctx,
  id: CtId,
  argv: readonly string[],
  opts: { pty: boolean; verb: string },
): Promise<number> {
  const now = await waitCopyThaw(ctx, id, inspect(ctx, id));
  if (now.status !== 'running' || now.pid === null) {
    if (!existsSync(ctConfigPath(ctx.paths, id))) loadCt(ctx, id); // throws "does not exist"
    throw new BerthError(
      'NOT_RUNNING',
      `${opts.verb} ${id}: container is ${now.status === 'suspended' ? 'suspended' : 'not running'}`,
      {
        hint: now.status === 'suspended' ? `berth resume ${id}` : `berth start ${id}`,
      },
    );
  }
  // the terminal's ^C reaches the helper too, which passes it on; berth waits for the status
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    return runJoined(ctx, id, now, argv, { pty: opts.pty, verb: opts.verb, stdin: 'inherit' });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  }
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
  opts: { pty: boolean; verb: string; stdin: 'inherit' | number },
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
  opts: { pty: boolean; verb: string; stdin: 'inherit' | number; stdout?: number; timeoutMs?: number },
): { code: number; timedOut: boolean } {
  if (now.pid === null) throw new BerthError('NOT_RUNNING', `${opts.verb} ${id}: container is not running`);
  // its keeper answers sysinfo for the command too, as for init (the state says whether)
  const sysinfo = now.state?.keeper?.sysinfo === true;
  const plan = execPlan(now.pid, procsFiles(cgroupDirsOf(ctx, id)), argv, {
    pty: opts.pty,
    term: process.env['TERM'],
    // berth's own, within the container's set (its init's bounding set: CAPABILITY applied)
    availableCaps: ownCapabilities() & (boundingCaps(now.pid) ?? 0n),
    userns: ownUserns(now.pid),
    keeperSocket: sysinfo ? keeperSocketPath(ctx.paths, id) : null,
  });
  const r = runHelper(ctx.paths.helper, joinArgs(plan), {
    stdio: [opts.stdin, opts.stdout ?? 'inherit', 'inherit'],
    seccompFd: policyFd(ctx.paths.run, seccompPolicy(process.arch, { sysinfo })),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
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
