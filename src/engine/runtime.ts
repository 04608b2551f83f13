// Making the records agree with the facts after a crash (reconcile), tearing down what a
// container holds, and the lock every mutating verb runs under.
import { basename, dirname, join } from 'node:path';
import type { CtConfig } from '../core/ct-config.ts';
import { expandVeid } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { RuntimeState } from '../core/lifecycle.ts';
import { migratingRefusal } from '../core/migrate.ts';
import { cleanBackupLeftovers } from '../host/backup-work.ts';
import { type CgroupDir, cgroupPids, removeCgroups, setFrozen, thawAll } from '../host/cgroups.ts';
import { removeOwnNodes } from '../host/devices.ts';
import { pathExists, removeEmptyDir, removeFile, removeTree } from '../host/files.ts';
import { removeStaleTmps } from '../host/fs-util.ts';
import type { Host } from '../host/host.ts';
import { acquireLock, type Lock } from '../host/lock.ts';
import { readJournal } from '../host/migrate-journal.ts';
import { unmountRoot } from '../host/mounts.ts';
import {
  consoleLogPath,
  ctConfigPath,
  dumpPath,
  lockPath,
  ownDirs,
  type Paths,
  secureDirs,
  thawMarkerPath,
} from '../host/paths.ts';
import { isAlive, readProcStat } from '../host/proc.ts';
import { cleanSnapshotLeftovers, removeAllSnapshots } from '../host/snapshots.ts';
import { readCt, readGlobal, readState, removeState, type StoredCt, writeState } from '../host/store.ts';
import { trace } from '../host/trace.ts';
import { retireScripts, unmountWithScripts } from './action-scripts.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, type Inspection, inspect, loadCt } from './inspect.ts';
import { cleanupNet, syncNft } from './net.ts';
import { recoverSwitch } from './recover-switch.ts';
import { uncarrySessions } from './sessions.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL everything in the container's cgroups until they are empty (bounded, about 5 s). */
export async function killAll(host: Host, dirs: CgroupDir[]): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    const pids = cgroupPids(dirs).filter((p) => isAlive(host, p, null));
    if (pids.length === 0) return true;
    for (const p of pids) host.kill(p, 'SIGKILL');
    await sleep(i < 20 ? 1 : 10); // dying takes the kernel a moment; poll fast at first
  }
  return false;
}

/**
 * The keeper leaves by itself once init is gone, after the console's last words; one that
 * lingers (or whose init never ran) is killed. Its start time tells it from a recycled pid.
 */
async function stopKeeper(host: Host, keeper: RuntimeState['keeper']): Promise<void> {
  if (!keeper) return;
  for (let i = 0; i < 100 && isAlive(host, keeper.pid, keeper.startTime); i++) await sleep(2);
  if (!isAlive(host, keeper.pid, keeper.startTime)) return;
  host.kill(keeper.pid, 'SIGKILL');
}

/** Tears down what a running container holds on the host: processes, cgroups, root mount, state. */
export async function cleanupRuntime(
  ctx: Ctx,
  id: CtId,
  cfg: CtConfig | null,
  keeper: RuntimeState['keeper'] = readState(ctx.paths, id)?.keeper,
): Promise<void> {
  const dirs = cgroupDirsOf(ctx, id);
  thawAll(ctx.layout(), dirs);
  if (!(await killAll(ctx.host, dirs))) {
    throw new BerthError('STOP_FAILED', `stop ${id}: processes survive SIGKILL`, {
      hint: 'a process may be stuck in the kernel (D state); see `ps` and try again',
    });
  }
  await stopKeeper(ctx.host, keeper);
  const st = readState(ctx.paths, id);
  if (cfg) {
    for (const step of [() => cleanupNet(ctx, cfg, st?.ips), () => syncNft(ctx, `stop ${id}`, st?.nft ?? [], [])]) {
      try {
        step();
      } catch (err) {
        ctx.log(`warning: ${(err as Error).message}`);
      }
    }
  }
  let busy = removeCgroups(ctx.host, dirs);
  for (let i = 0; i < 200 && busy.length > 0; i++) {
    await sleep(5); // a killed task leaves its cgroup a moment after it is reaped
    busy = removeCgroups(ctx.host, dirs);
  }
  if (busy.length) ctx.log(`warning: could not remove cgroups: ${busy.join(', ')}`);
  // the root as it was mounted at start (a config broken since may name another, or none)
  const veRoot = st?.veRoot ?? cfg?.veRoot;
  // the umount and postumount scripts run also for a container that stopped by itself (vzeventd's umount)
  if (veRoot) await unmountWithScripts(ctx, id, cfg, veRoot);
  removeOwnNodes(ctx.paths, id);
  removeState(ctx.paths, id);
}

/** Records init as running, with its start time (a recycled pid never matches it). */
export function recordRunning(
  ctx: Ctx,
  id: CtId,
  pid: number,
  rec: Pick<RuntimeState, 'startedAt' | 'stopSignal' | 'ips' | 'nft' | 'keeper' | 'nesting' | 'veRoot' | 'sessions'>,
): void {
  const st = readProcStat(ctx.host, pid);
  writeState(ctx.paths, id, { status: 'running', pid, startTime: st?.startTime ?? null, ...rec });
}

/**
 * Makes the records agree with the facts after a crash (must hold the lock):
 * a started init whose berth died is adopted; anything else half-made is torn down.
 */
export async function reconcile(ctx: Ctx, id: CtId, cfg: CtConfig | null): Promise<Inspection> {
  thawAfterCrash(ctx, id, cfg);
  const now = inspect(ctx, id);
  trace('reconciled');
  if (!now.stale) return now;
  if (now.pid !== null) {
    recordRunning(ctx, id, now.pid, {
      startedAt: now.state?.startedAt ?? new Date().toISOString(),
      stopSignal: now.state?.stopSignal ?? 15,
      ips: now.state?.ips ?? cfg?.ipAddr.map((i) => i.addr),
      nft: now.state?.nft,
      keeper: now.state?.keeper,
      nesting: now.state?.nesting,
      veRoot: now.state?.veRoot ?? cfg?.veRoot,
      sessions: now.state?.sessions,
    });
    ctx.log(`${id}: adopted init (pid ${now.pid}) of an interrupted start`);
    return inspect(ctx, id);
  }
  await cleanupRuntime(ctx, id, cfg);
  return inspect(ctx, id);
}

/** A container that berth (not its admin) froze for a copy, and then died: thaw it. */
function thawAfterCrash(ctx: Ctx, id: CtId, cfg: CtConfig | null): void {
  const marker = thawMarkerPath(ctx.paths, id);
  if (!pathExists(marker)) return;
  if (cfg?.layout === 'image') ctx.host.tool('fsfreeze', ['-u', cfg.veRoot]); // fails harmlessly if not frozen
  try {
    setFrozen(ctx.layout(), cgroupDirsOf(ctx, id), false);
  } catch {}
  removeFile(marker);
  ctx.log(`${id}: thawed after an interrupted copy`);
}

function markers(ctx: Ctx, id: CtId, ct: StoredCt | null): string[] {
  const priv = ct ? ct.config.vePrivate : expandVeid(readGlobal(ctx.paths).vePrivate, id);
  return ['partial', 'destroying'].map((m) => `${priv}.${m}`).filter((d) => pathExists(d));
}

/**
 * Finishes or rolls back an interrupted create or destroy, using their marker directories:
 * "<private>.partial" (create rolls back) and "<private>.destroying" (destroy completes).
 * Returns whether it changed anything.
 */
function recoverFs(ctx: Ctx, id: CtId, ct: StoredCt | null): boolean {
  const switched = recoverSwitch(ctx, id, 'recover', ct);
  for (const n of cleanSnapshotLeftovers(ctx.paths, id)) ctx.log(`${id}: removed ${n} of an interrupted snapshot`);
  // what a killed or disk-full write left: CTID.conf.tmp-PID, run/CTID/*.tmp-PID, a backup's
  // work, and <private>.switch-to.tmp-PID of a snapshot-switch killed as it began
  const priv = ct ? ct.config.vePrivate : expandVeid(readGlobal(ctx.paths).vePrivate, id);
  const tmps = [
    ...removeStaleTmps(ctx.host, ctx.paths.ctConfigDir, `${id}.conf`),
    ...removeStaleTmps(ctx.host, join(ctx.paths.run, id)),
    ...removeStaleTmps(ctx.host, dirname(priv), `${basename(priv)}.switch-to`),
    ...cleanBackupLeftovers(ctx.host, ctx.paths, id),
  ];
  if (tmps.length) ctx.log(`${id}: removed what an interrupted write left: ${tmps.join(', ')}`);
  const found = markers(ctx, id, ct);
  // an image create unpacks through VE_ROOT: unmount it before its image goes
  if (found.length)
    unmountRoot(ctx.host, ctx.paths.helper, ct ? ct.config.veRoot : expandVeid(readGlobal(ctx.paths).veRoot, id));
  for (const dir of found) {
    const priv = dir.slice(0, dir.lastIndexOf('.'));
    if (dir.endsWith('.destroying') && !pathExists(priv)) {
      finishDestroy(ctx, id, priv, ct ? ct.config.veRoot : expandVeid(readGlobal(ctx.paths).veRoot, id));
    } else {
      removeTree(dir);
      if (!pathExists(priv)) removeFile(ctConfigPath(ctx.paths, id));
    }
    ctx.log(`${id}: cleaned up after an interrupted ${dir.endsWith('.partial') ? 'create' : 'destroy'}`);
  }
  return found.length > 0 || switched;
}

/**
 * The rest of a destroy once its private area is "<private>.destroying" (the commit point):
 * config, snapshots, the default checkpoint, console log and state go, and the marker last, so that the next command
 * finishes a destroy killed anywhere in between (a new container of that CTID must not find
 * the old one's snapshots).
 */
export function finishDestroy(ctx: Ctx, id: CtId, vePrivate: string, veRoot: string): void {
  retireScripts(ctx, id);
  removeFile(ctConfigPath(ctx.paths, id));
  removeAllSnapshots(ctx.host, ctx.paths, id);
  // its checkpoint at the default place: a later container of this CTID (maybe given the same
  // id range) must not be restored into the old one's processes
  removeTree(dumpPath(ctx.paths, id));
  removeFile(consoleLogPath(ctx.paths, id));
  removeOwnNodes(ctx.paths, id);
  removeState(ctx.paths, id);
  // chkpnt's marks for carried enter sessions that a killed berth enter never came to read
  uncarrySessions(ctx, id);
  removeEmptyDir(veRoot); // never recursive: if anything were still mounted there, keep it
  removeTree(`${vePrivate}.destroying`);
}

/**
 * A container on its way to another host (its journal, checked again under the lock that
 * berth migrate takes to write it) changes only by the migration itself: a failed open when
 * there is none.
 */
function refuseWhileMigrating(ctx: Ctx, id: CtId, verb: string): void {
  if (ctx.migrating === id) return;
  const j = readJournal(ctx.paths, id);
  const refusal = j ? migratingRefusal(j, verb) : null;
  if (refusal) throw refusal;
}

/** Verbs whose container need not exist yet. */
const MAKES_CONTAINER = ['create', 'restore', 'clone'];

export function lockCt(ctx: Ctx, id: CtId, verb: string): Lock {
  return acquireLock(ctx.host, ctx.paths.helper, lockPath(ctx.paths, id), `${verb} ${id}`, {
    request: ctx.request,
  });
}

/**
 * Runs fn under the container's lock, after crash recovery, with the container's config read
 * once under the lock (null when it has none; fn decides whether that is an error).
 */
export async function withLock<T>(
  ctx: Ctx,
  id: CtId,
  verb: string,
  fn: (ct: StoredCt | null) => Promise<T>,
  read: (p: Paths, id: CtId) => StoredCt | null = readCt, // destroy: readCtOrDerived
): Promise<T> {
  // a container migrated away has no config here until its journal goes: said as such
  refuseWhileMigrating(ctx, id, verb);
  // no lock file for a container that does not exist (and has nothing to recover)
  if (
    !MAKES_CONTAINER.includes(verb) &&
    !pathExists(ctConfigPath(ctx.paths, id)) &&
    markers(ctx, id, null).length === 0
  ) {
    loadCt(ctx, id);
  }
  // a stat each: a tree made by an older berth (or by hand) is closed before the container is touched
  const g = readGlobal(ctx.paths);
  for (const note of secureDirs(ownDirs(ctx.paths, [g.vePrivate, g.veRoot]), [ctx.paths.run])) ctx.log(note);
  trace('lock');
  const lock = lockCt(ctx, id, verb);
  trace('locked');
  try {
    refuseWhileMigrating(ctx, id, verb);
    const ct = read(ctx.paths, id);
    return await fn(recoverFs(ctx, id, ct) ? read(ctx.paths, id) : ct);
  } finally {
    lock.release();
  }
}
