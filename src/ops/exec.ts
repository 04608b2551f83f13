// berth exec: run argv inside a running container (its namespaces, cgroups, capabilities and
// seccomp filter); stdio is streamed and the command's exit status is returned.
import { execPlan } from '../core/container-plan.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { joinArgs } from '../core/helper-args.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { procsFiles } from '../host/cgroups.ts';
import { runHelper } from '../host/helper.ts';
import { ownCapabilities } from '../host/proc.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, inspect, loadCt } from './runtime.ts';

const ENOENT = 2;
const EACCES = 13;

/** No lock: exec changes no berth state, and must not wait behind a long `set` or `stop`. */
export async function execInContainer(
  ctx: Ctx,
  id: CtId,
  argv: readonly string[],
  opts: { pty: boolean; verb: string },
): Promise<number> {
  const ct = loadCt(ctx, id);
  const now = inspect(ctx, id, ct.config);
  if (now.status !== 'running' || now.pid === null) {
    throw new BerthError(
      'NOT_RUNNING',
      `${opts.verb} ${id}: container is ${now.status === 'suspended' ? 'suspended' : 'not running'}`,
      {
        hint: now.status === 'suspended' ? `berth resume ${id}` : `berth start ${id}`,
      },
    );
  }
  const plan = execPlan(now.pid, procsFiles(cgroupDirsOf(ctx, id)), argv, {
    pty: opts.pty,
    term: process.env['TERM'],
    availableCaps: ownCapabilities(),
  });
  const r = await runHelper(ctx.paths.helper, joinArgs(plan), {
    stdio: ['inherit', 'inherit', 'inherit'],
    seccomp: seccompPolicy(process.arch),
  });
  if (r.error) {
    const what = `${opts.verb} ${id} ${argv[0] ?? ''}`.trim();
    if (r.error.error === 'execve' && r.error.errno === ENOENT) {
      throw new BerthError('COMMAND_NOT_FOUND', `${what}: no such command in the container`);
    }
    if (r.error.error === 'execve' && r.error.errno === EACCES) {
      throw new BerthError('COMMAND_NOT_EXECUTABLE', `${what}: permission denied`);
    }
    throw new BerthError('CT_CREATE', `${what}: ${r.error.message ?? r.error.error}`);
  }
  return r.exitCode;
}
