// berth chkpnt: dump a running container with CRIU, then stop it (vzctl chkpnt).
import { join } from 'node:path';
import {
  type CarriedSession,
  type CheckpointMeta,
  DUMP_LOG,
  dumpArgs,
  externalMounts,
  maskedIn,
} from '../core/criu.ts';
import type { CtConfig } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { RuntimeState } from '../core/lifecycle.ts';
import type { Ctx } from '../engine/context.ts';
import { mountPlanHere } from '../engine/criu-mounts.ts';
import { devicesHere } from '../engine/devices.ts';
import { cgroupDirsOf, mustExist } from '../engine/inspect.ts';
import { cleanupRuntime, reconcile, withLock } from '../engine/runtime.ts';
import { carrySessions, uncarrySessions } from '../engine/sessions.ts';
import { bindsForCriu } from '../host/bindmounts.ts';
import { innerTree, pinCgroupEvents, unpin } from '../host/cgroup-tree.ts';
import { cgroupPidsOne } from '../host/cgroups.ts';
import {
  consoleTtyKey,
  criuVersion,
  kernelRelease,
  prepareDumpDir,
  retryableDump,
  runCriu,
  writeMeta,
} from '../host/criu.ts';
import { dumpPath } from '../host/paths.ts';
import { readProcStat } from '../host/proc.ts';
import { readGlobal } from '../host/store.ts';

/** how many times a dump is tried when CRIU refuses a passing state (retryableDump) */
const DUMP_TRIES = 4;

export interface ChkpntResult {
  dir: string;
  ms: number;
}

/**
 * Dumps running container ID into DIR (default /var/lib/berth/dump/CTID) and stops it: CRIU
 * kills the tree once its images are written, and berth tears down the rest as stop does. A
 * failed dump leaves the container running.
 */
export async function chkpntContainer(ctx: Ctx, id: CtId, dir?: string): Promise<ChkpntResult> {
  const to = dir ?? dumpPath(ctx.paths, id);
  return withLock(ctx, id, 'chkpnt', async (stored) => {
    const ct = mustExist(id, stored);
    const cfg = ct.config;
    const now = await reconcile(ctx, id, cfg);
    if (now.status !== 'running' || now.pid === null || !now.state) {
      throw new BerthError('NOT_RUNNING', `chkpnt ${id}: container is ${now.status}`, { hint: `berth start ${id}` });
    }
    const criu = criuVersion(ctx.host);
    if (!criu) throw new BerthError('CHKPNT', `chkpnt ${id}: CRIU is not installed`, { hint: 'run ./setup-criu.sh' });
    // enter sessions go with it (their shells handed to init); exec sessions refuse it
    const sessions = carrySessions(ctx, id, now.state.sessions ?? []);
    let ms: number;
    try {
      refuseSessions(ctx, id, now.pid);
      ms = await dumpRunning(ctx, id, cfg, { pid: now.pid, state: now.state }, { to, criu, sessions });
    } catch (err) {
      // the container runs on, and its sessions with it: their enter says nothing of a checkpoint
      uncarrySessions(ctx, id);
      throw err;
    }
    // CRIU killed the tree; the keeper leaves with init; the rest goes as in stop
    await cleanupRuntime(ctx, id, cfg);
    return { dir: to, ms };
  });
}

/**
 * CRIU's dump of running container ID (init RUN.pid) into TO, with the meta first; the ms it
 * took. A failed dump leaves the container running.
 */
async function dumpRunning(
  ctx: Ctx,
  id: CtId,
  cfg: CtConfig,
  run: { pid: number; state: RuntimeState },
  o: { to: string; criu: string; sessions: CarriedSession[] },
): Promise<number> {
  const { to, criu, sessions } = o;
  const global = readGlobal(ctx.paths);
  const binds = bindsForCriu(ctx.paths, cfg, [global.vePrivate, global.veRoot], `chkpnt ${id}`);
  const { plan } = mountPlanHere(ctx, cfg, global.lxcfs, devicesHere(ctx, cfg, `chkpnt ${id}`, false), binds);
  const externals = externalMounts(plan, maskedIn(ctx.host.readProc(`${run.pid}/mountinfo`) ?? ''));
  const tty = consoleTtyKey(run.pid);
  const dirs = cgroupDirsOf(ctx, id);
  const freezer = dirs.find((d) => d.hierarchy.controllers.includes('freezer'));
  prepareDumpDir(to, `chkpnt ${id}`);
  const t0 = Date.now();
  // read before the freeze: a unit that starts or stops meanwhile changes only the tree's leaves
  const cgroups = innerTree(dirs);
  // the meta first: a chkpnt killed while CRIU runs on leaves a checkpoint that restores once
  // CRIU finished it (restore wants CRIU's own last file too, host/criu.ts isWholeDump)
  const meta: CheckpointMeta = {
    version: 1,
    ctid: id,
    tty,
    idBase: cfg.idBase,
    layout: cfg.layout,
    ips: run.state.ips ?? [],
    stopSignal: run.state.stopSignal,
    nesting: run.state.nesting,
    cgroups,
    ...(sessions.length ? { sessions } : {}),
    externals,
    criu,
    kernel: kernelRelease(),
    created: new Date().toISOString(),
  };
  writeMeta(to, meta);
  for (let attempt = 1; ; attempt++) {
    const pins = pinCgroupEvents(dirs);
    try {
      await runCriu(
        ctx.host,
        ctx.log,
        dumpArgs({
          pid: run.pid,
          dir: to,
          freezer: freezer?.path ?? null,
          externals,
          tty,
          sessionTtys: sessions.map((x) => x.tty),
        }),
        join(to, DUMP_LOG),
        'CHKPNT',
        `chkpnt ${id}`,
      );
      break;
    } catch (err) {
      // a failed dump leaves the container running; one CRIU refused for a moment's state
      // (a netlink socket with unread messages: systemd-networkd's, right after its links
      // changed in a restore) is tried again once that has passed
      if (attempt === DUMP_TRIES || !retryableDump(join(to, DUMP_LOG))) throw err;
      ctx.log(`chkpnt ${id}: a socket had unread data; dumping again`);
      await new Promise((r) => setTimeout(r, 250 * attempt));
      prepareDumpDir(to, `chkpnt ${id}`);
      writeMeta(to, meta);
    } finally {
      unpin(pins);
    }
  }
  return Date.now() - t0;
}

/**
 * exec sessions (and enter sessions that could not be carried) are children of a helper
 * outside the container: CRIU would not dump them (only init's tree) and they would die with
 * it. Refused rather than lost.
 */
function refuseSessions(ctx: Ctx, id: CtId, init: number): void {
  const outside: number[] = [];
  for (const pid of cgroupPidsOne(cgroupDirsOf(ctx, id))) {
    let p = pid;
    for (let i = 0; i < 64 && p > 1 && p !== init; i++) p = readProcStat(ctx.host, p)?.ppid ?? 0;
    if (p !== init && readProcStat(ctx.host, pid)) outside.push(pid);
  }
  if (outside.length) {
    throw new BerthError('CHKPNT', `chkpnt ${id}: exec sessions run (pids ${outside.join(' ')})`, {
      hint: 'end them first: CRIU dumps init and its descendants only, the sessions would be lost',
    });
  }
}
