// What is true about a container right now, read without a lock: its config, its cgroups and
// whether its init runs. Kept apart from runtime.ts (recovery, teardown) so that the read-only
// verbs (status, list, exec) load only this.
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { RunStatus, RuntimeState } from '../core/lifecycle.ts';
import { type CgroupDir, cgroupPids, ctDirs, isFrozen } from '../host/cgroups.ts';
import { pathExists, realPath } from '../host/files.ts';
import { ctConfigPath, statePath } from '../host/paths.ts';
import { exePath, innermostPid, isAlive, nsId, pause } from '../host/proc.ts';
import { readCt, readState, type StoredCt } from '../host/store.ts';
import { trace } from '../host/trace.ts';
import { type Ctx, remembered } from './context.ts';

export interface Inspection {
  status: RunStatus;
  pid: number | null;
  state: RuntimeState | null;
  /** records disagree with the facts (a crash happened); reconcile() repairs it */
  stale: boolean;
}

/**
 * The container's cgroups at the level that carries its limits (CTID under the parent): its
 * processes are below, in the inner cgroup (host/cgroups.ts INNER), or, for a container started
 * by a berth before that, right here. Every reader walks the subtree, so both are found.
 */
export function cgroupDirsOf(ctx: Ctx, id: CtId): CgroupDir[] {
  return ctDirs(ctx.layout(), ctx.paths.cgroupParent, id);
}

export function loadCt(ctx: Ctx, id: CtId): StoredCt {
  return mustExist(id, readCt(ctx.paths, id));
}

/** The container's config, or the "does not exist" error (exit 14). */
export function mustExist(id: CtId, ct: StoredCt | null): StoredCt {
  if (!ct) {
    throw new BerthError('NO_CT_CONFIG', `container ${id} does not exist`, {
      hint: `create it with: berth create ${id} --ostemplate busybox`,
    });
  }
  return ct;
}

/**
 * The error of a verb that needs the container running (STATUS is what it is instead): "does
 * not exist" for a CTID with no config, else not running or suspended, with what helps.
 */
export function notRunningError(ctx: Ctx, id: CtId, verb: string, status: RunStatus): BerthError {
  if (!pathExists(ctConfigPath(ctx.paths, id))) loadCt(ctx, id); // throws "does not exist"
  const suspended = status === 'suspended';
  return new BerthError('NOT_RUNNING', `${verb} ${id}: container is ${suspended ? 'suspended' : 'not running'}`, {
    hint: suspended ? `berth resume ${id}` : `berth start ${id}`,
  });
}

export function inspect(ctx: Ctx, id: CtId): Inspection {
  const state = remembered(ctx, `state ${id}`, [statePath(ctx.paths, id)], () => readState(ctx.paths, id));
  const dirs = cgroupDirsOf(ctx, id);
  const now = inspectFacts(ctx, state, dirs);
  trace(`inspected ${id}`);
  return now;
}

function inspectFacts(ctx: Ctx, state: RuntimeState | null, dirs: CgroupDir[]): Inspection {
  const running = (pid: number, stale: boolean): Inspection => {
    const frozen = isFrozen(ctx.layout(), dirs);
    return { status: frozen ? 'suspended' : 'running', pid, state, stale };
  };
  if (state?.pid && isAlive(ctx.host, state.pid, state.startTime)) return running(state.pid, false);
  const leftovers = state !== null || dirs.some((d) => pathExists(d.path));
  // an init whose berth was killed before it recorded the pid still runs: report the fact
  const orphan = leftovers ? findInit(ctx, dirs) : null;
  if (orphan !== null) return running(orphan, true);
  return { status: 'stopped', pid: null, state, stale: leftovers };
}

/** How long a reader waits for a container being built to become one (a start takes ~100 ms). */
const BUILD_SETTLE_MS = 3000;

/**
 * Finds a container's init among its cgroup's processes: pid 1 in its own pid namespace that is
 * no longer the helper. One that is still the helper is a container being built: by a start
 * running now, or by the helper of a start whose berth was killed, which goes on alone and
 * execs init or fails. Reading it as "stopped" would make status and a following exec disagree,
 * so the reader waits for it to settle (bounded: past that it is stopped, and the next mutating
 * command tears it down). berthd (ctx.concurrent) does not block its event loop for it: its
 * listing shows the moment.
 */
function findInit(ctx: Ctx, dirs: CgroupDir[]): number | null {
  const hostPidNs = nsId(ctx.host, 'self', 'pid');
  const helper = realPath(ctx.paths.helper) ?? '';
  const settleMs = ctx.concurrent ? 0 : BUILD_SETTLE_MS;
  for (let waited = 0; ; waited += 10) {
    let building = false;
    for (const pid of cgroupPids(dirs)) {
      if (
        innermostPid(ctx.host, pid) !== 1 ||
        nsId(ctx.host, pid, 'pid') === hostPidNs ||
        !isAlive(ctx.host, pid, null)
      )
        continue;
      const exe = exePath(ctx.host, pid);
      if (exe === helper) building = true;
      else if (exe !== null || isAlive(ctx.host, pid, null)) return pid; // null: it died since
    }
    if (!building || waited >= settleMs) return null;
    if (waited === 0) trace('a container being built: waiting for it to settle');
    pause(10);
  }
}
