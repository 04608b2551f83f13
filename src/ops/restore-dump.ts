// berth restore CTID --dumpfile DIR: bring a checkpointed container back (vzctl restore).
import { join } from 'node:path';
import {
  CRIU_TTY_FD,
  checkMeta,
  externalMounts,
  localExternals,
  maskDirPath,
  RESTORE_LOG,
  restoreArgs,
  ttyKey,
} from '../core/criu.ts';
import { restoreNetdevs, restoreNetOps } from '../core/criu-net.ts';
import type { CtId } from '../core/ctid.ts';
import { DEVICE_ALLOW, deviceRule } from '../core/devices.ts';
import { BerthError } from '../core/errors.ts';
import { STATUS_FD } from '../core/helper-args.ts';
import { ID_COUNT } from '../core/idmap.ts';
import { keeperArgs } from '../core/keeper.ts';
import { rootMountArgs } from '../core/layout.ts';
import { netArgs, parseIpList } from '../core/net.ts';
import { mountWithScripts } from '../engine/action-scripts.ts';
import { type Ctx, helperRun } from '../engine/context.ts';
import { mountPlanHere } from '../engine/criu-mounts.ts';
import { devicesHere } from '../engine/devices.ts';
import { mustExist } from '../engine/inspect.ts';
import { bridgesFor, checkIpsFree, lockAddresses, nftFor, syncNft } from '../engine/net.ts';
import { cleanupRuntime, reconcile, recordRunning, withLock } from '../engine/runtime.ts';
import { bindsForCriu } from '../host/bindmounts.ts';
import { makeInnerTree } from '../host/cgroup-tree.ts';
import { prepareCgroups, resourceWrites } from '../host/cgroups.ts';
import {
  allowNotified,
  criuBinary,
  criuLogTail,
  criuVersion,
  ensureMaskDir,
  keepingCgroup2,
  lendDumpDir,
  readMeta,
} from '../host/criu.ts';
import { LAZY_SOCKET } from '../host/criu-lazy.ts';
import { closeFd, makeDir, openAppend, pathExists, removeFile } from '../host/files.ts';
import { randomBytes } from '../host/fs-util.ts';
import { rootSource } from '../host/layers.ts';
import { ensureNftBase, hostNet } from '../host/net.ts';
import { consoleLogPath, keeperSocketPath } from '../host/paths.ts';
import { isAlive, readProcStat } from '../host/proc.ts';
import { readGlobal, writeState } from '../host/store.ts';

export interface RestoreDumpResult {
  pid: number;
  ms: number;
}

/**
 * Restores stopped container ID from the checkpoint in DIR (berth chkpnt). The checkpoint is
 * checked before anything is made; a failed restore tears down what it made, as stop does.
 */
export async function restoreDump(
  ctx: Ctx,
  id: CtId,
  dir: string,
  opts: { lazy?: boolean } = {},
): Promise<RestoreDumpResult> {
  const meta = readMeta(dir);
  if (opts.lazy && !pathExists(join(dir, LAZY_SOCKET)))
    throw new BerthError('RESTORE', `restore ${id} --lazy-pages: no criu lazy-pages daemon serves ${dir}`, {
      hint: 'berth migrate --online --lazy-pages starts one on the destination (or run criu lazy-pages -D DIR yourself)',
    });
  return withLock(ctx, id, 'restore', async (stored) => {
    const cfg = mustExist(id, stored).config;
    const now = await reconcile(ctx, id, cfg);
    if (now.status !== 'stopped') {
      throw new BerthError('RUNNING', `restore ${id}: container is ${now.status}`, { hint: `berth stop ${id}` });
    }
    const criu = criuVersion(ctx.host);
    if (!criu) throw new BerthError('RESTORE', `restore ${id}: CRIU is not installed`, { hint: 'run ./setup-criu.sh' });
    checkMeta(meta, { ctid: id, idBase: cfg.idBase, layout: cfg.layout, criu }, dir);
    const root = rootSource(ctx.paths, cfg, 'restore');
    const global = readGlobal(ctx.paths);
    // the addresses it had when dumped: its images hold them inside, the host side is made here;
    // another container may have taken one since (here, or on a migration's DEST)
    const ips = parseIpList(meta.ips.join(' '));
    const addresses = lockAddresses(ctx, `restore ${id}`);
    try {
      checkIpsFree(ctx, id, ips);
      // as start: the state first (it holds the addresses, so the next check sees them taken),
      // so a berth killed from here on leaves a record to clean up by
      writeState(ctx.paths, id, {
        status: 'starting',
        pid: null,
        startTime: null,
        startedAt: new Date().toISOString(),
        stopSignal: meta.stopSignal,
        ips: meta.ips,
        nft: [],
        veRoot: cfg.veRoot,
      });
    } finally {
      addresses.release();
    }
    const nft = nftFor(cfg, ips);
    const consoleLog = consoleLogPath(ctx.paths, id);
    makeDir(ctx.paths.log);
    const logFd = openAppend(consoleLog, 0o600);
    const t0 = Date.now();
    try {
      makeDir(cfg.veRoot);
      await mountWithScripts(ctx, id, cfg, rootMountArgs(root));
      // the same cgroups and device policy as start: CRIU's soft mode still restores devices.list
      const layout = ctx.layout();
      const devices = devicesHere(ctx, cfg, `restore ${id}`, true);
      const dirs = prepareCgroups(ctx.host, layout, ctx.paths.cgroupParent, id, {
        devices: [...DEVICE_ALLOW, ...devices.map(deviceRule)],
        writes: resourceWrites(layout, cfg.resources, id),
        owner: cfg.idBase,
      });
      // the empty ones its init watches (systemd's slices): CRIU makes only those with tasks
      if (meta.cgroups) makeInnerTree(ctx.host, dirs, meta.cgroups, cfg.idBase);
      // bridged interfaces as in the config: DEST's bridges (made if berth manages them)
      const managed = bridgesFor(
        ctx,
        `restore ${id}`,
        cfg.netifs.map((n) => n.bridge),
      );
      const host = ips.length ? hostNet(ctx.host, global, ips, ctx.log) : null;
      const netOps = restoreNetOps(id, ips, host, cfg.netifs, managed);
      if (ips.some((i) => i.family === 6)) ensureNftBase(ctx.host, ctx.paths.run);
      syncNft(ctx, `restore ${id}`, [], nft);
      const binds = bindsForCriu(ctx.paths, cfg, [global.vePrivate, global.veRoot], `restore ${id}`);
      const { plan, lxcfs } = mountPlanHere(ctx, cfg, global.lxcfs, devices, binds);
      const externals = localExternals(meta.externals, externalMounts(plan, new Map()));
      // the restored root (host uid BASE) must traverse every directory to it: not under berth's
      // run directory (0700), nor under a --root that may be 0700 (tests'): the host's /run
      const rand = Buffer.from(randomBytes(4)).toString('hex');
      const stage = join('/run', `${ctx.paths.cgroupParent}-criu-${id}-${rand}`);
      allowNotified(dir);
      const pidfile = join(dir, 'restored.pid');
      removeFile(pidfile); // CRIU never overwrites its pidfile
      // an unprivileged container's own nodes sit under root-only directories, which CRIU's
      // restored tasks (host uid BASE) cannot pass: the helper binds them into the stage
      const staged = cfg.idBase === null ? [] : devices.map((d) => ({ source: d.source, name: d.name }));
      const idmapped = externals.filter((m) => m.idmapped).map((m) => m.source as string);
      const criuArgv = restoreArgs({
        dir,
        maskDir: ensureMaskDir(maskDirPath(ctx.paths.cgroupParent)),
        root: cfg.veRoot,
        cgroupRoot: `/${ctx.paths.cgroupParent}/${id}/ns`,
        meta: { ...meta, externals },
        stage,
        lxcfsDir: lxcfs?.dir ?? null,
        devices: staged,
        binds: idmapped,
        ttyFd: CRIU_TTY_FD,
        pty: '0',
        netdevs: restoreNetdevs(id, ips, cfg.netifs),
        lazy: opts.lazy === true,
      });
      const args = [
        ...netArgs(netOps),
        '--criu-restore',
        stage,
        ...(lxcfs ? ['--criu-lxcfs', lxcfs.dir] : []),
        ...staged.flatMap((d) => ['--criu-dev', d.source, d.name]),
        ...idmapped.flatMap((src) => ['--criu-bind', src]),
        '--criu-pidfile',
        pidfile,
        '--criu-tty-fd',
        String(CRIU_TTY_FD),
        // carried enter sessions: a pty each, after the console's (criuArgv's --inherit-fd order)
        ...(meta.sessions ?? []).flatMap((s) => ['--criu-session', String(s.n)]),
        ...(cfg.idBase === null ? [] : ['--idmap', String(cfg.idBase), String(ID_COUNT)]),
        // no sysinfo: the restored filter's listener is gone (docs/checkpoint.md)
        ...keeperArgs({
          consoleLog,
          consoleLogSize: global.consoleLogSize,
          socket: keeperSocketPath(ctx.paths, id),
          sysinfo: null,
        }),
        '--status-fd',
        String(STATUS_FD),
        '--',
        criuBinary(),
        ...criuArgv,
      ];
      const giveBack = lendDumpDir(dir, cfg.idBase);
      const r = await keepingCgroup2(ctx.host, ctx.log, () =>
        helperRun(ctx, args, { stdio: ['ignore', logFd, logFd] }),
      ).finally(giveBack);
      if (r.exitCode !== 0 || r.pid === null || !isAlive(ctx.host, r.pid, null)) {
        const why = r.error?.message ?? `helper exited with ${r.exitCode}`;
        throw new BerthError('RESTORE', `restore ${id}: ${why}: ${criuLogTail(join(dir, RESTORE_LOG))}`, {
          hint: `the whole log is ${join(dir, RESTORE_LOG)}`,
        });
      }
      const keeper =
        r.keeper === null
          ? undefined
          : { pid: r.keeper, startTime: readProcStat(ctx.host, r.keeper)?.startTime ?? null, sysinfo: false };
      recordRunning(ctx, id, r.pid, {
        startedAt: new Date().toISOString(),
        stopSignal: meta.stopSignal,
        ips: meta.ips,
        nft,
        keeper,
        nesting: meta.nesting,
        veRoot: cfg.veRoot,
        ...(r.sessions?.length ? { sessions: r.sessions.map((x) => ({ n: x.n, tty: ttyKey(x.rdev, x.dev) })) } : {}),
      });
      return { pid: r.pid, ms: Date.now() - t0 };
    } catch (err) {
      await cleanupRuntime(ctx, id, cfg).catch(() => {});
      throw err;
    } finally {
      closeFd(logFd);
    }
  });
}
