// berth start: cgroups + limits, then the helper builds the container and execs its init.
import { formatConfig, setKeys, toRecord } from '../core/config.ts';
import { startPlan } from '../core/container-plan.ts';
import type { CtId } from '../core/ctid.ts';
import { DEVICE_ALLOW, deviceRule } from '../core/devices.ts';
import { BerthError } from '../core/errors.ts';
import { featureOn } from '../core/features.ts';
import { startArgs } from '../core/helper-args.ts';
import { fileLayers, rootMountArgs } from '../core/layout.ts';
import { initKindFromLink, type RuntimeState, stopSignalFor } from '../core/lifecycle.ts';
import { machineIdFiles, RESET_MACHINE_ID } from '../core/machine-id.ts';
import { hostsBlock } from '../core/netconf.ts';
import { seccompPolicy } from '../core/seccomp.ts';
import { hasScripts, mountWithScripts, runScripts, unmountWithScripts } from '../engine/action-scripts.ts';
import { type Ctx, helperRun } from '../engine/context.ts';
import { devicesHere } from '../engine/devices.ts';
import { mustExist } from '../engine/inspect.ts';
import { containerFilesFor, nftFor, startNetArgs, syncNft } from '../engine/net.ts';
import { cleanupRuntime, reconcile, recordRunning, withLock } from '../engine/runtime.ts';
import { planBinds, removeStages } from '../host/bindmounts.ts';
import { containerCgroupMounts, prepareCgroups, procsFiles, resourceWrites, sysinfoSource } from '../host/cgroups.ts';
import { initLink } from '../host/ct-tree.ts';
import { closeFd, makeDir, openAppend } from '../host/files.ts';
import { randomBytes } from '../host/fs-util.ts';
import { policyFd } from '../host/helper.ts';
import { rootSource } from '../host/layers.ts';
import { ensureLxcfs } from '../host/lxcfs.ts';
import { isMounted } from '../host/mountinfo.ts';
import { fastpathWarning } from '../host/net.ts';
import { consoleLogPath, keeperSocketPath } from '../host/paths.ts';
import { hasTimens, isAlive, ownCapabilities, readProcStat } from '../host/proc.ts';
import type { StoredCt } from '../host/store.ts';
import { readGlobal, writeCtText, writeState } from '../host/store.ts';
import { trace } from '../host/trace.ts';

/** Starts a stopped container; resolves once its init runs. */
export async function startContainer(ctx: Ctx, id: CtId): Promise<number> {
  return withLock(ctx, id, 'start', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    if (now.status !== 'stopped') {
      throw new BerthError('RUNNING', `start ${id}: container is already ${now.status}`, {
        hint: `berth restart ${id}`,
      });
    }
    return startLocked(ctx, id, ct);
  });
}

/** The start itself; the caller holds the lock and has checked the container is stopped. */
export async function startLocked(ctx: Ctx, id: CtId, ct: StoredCt): Promise<number> {
  const cfg = ct.config;
  const root = rootSource(ctx.paths, cfg, 'start');
  if (root.layout !== 'image' && (cfg.diskspace || cfg.diskinodes))
    ctx.log(
      `warning: ${id}: DISKSPACE/DISKINODES are not enforced: layout ${root.layout} cannot (see docs/storage.md)`,
    );
  const resetMachineId = toRecord(ct.file)[RESET_MACHINE_ID] === 'yes';
  const layout = ctx.layout();
  // an admin's view (berth mount) is nosuid: the container's root is mounted afresh, without it
  // (the mountinfo the cgroup layout came from: unmountRoot checks afresh before each unmount)
  if (isMounted(cfg.veRoot, ctx.mountinfo())) await unmountWithScripts(ctx, id, cfg, cfg.veRoot);
  // premount and mount scripts run around a mount of its own, before the container exists
  const ownMount = root.layout === 'image' || hasScripts(ctx, id, ['premount', 'mount']);
  // an image's files are readable only once it is mounted (below, once the state file exists)
  let initKind = root.layout === 'image' ? null : initKindFromLink(initLink(fileLayers(root)));
  let stopSignal = stopSignalFor(initKind ?? 'sysv');
  // what the network part owns in the host, recorded so a crash cleanup can take it back
  const ips = cfg.ipAddr.map((i) => i.addr);
  const nft = nftFor(cfg, cfg.ipAddr);
  // The state file goes first: a berth killed from here on leaves a record that the next
  // command uses to adopt the container or tear down what was made.
  const starting = () =>
    writeState(ctx.paths, id, {
      status: 'starting',
      pid: null,
      startTime: null,
      startedAt: new Date().toISOString(),
      stopSignal,
      ips,
      nft,
      veRoot: cfg.veRoot,
    });
  starting();
  trace('state written');
  let pid: number;
  let keeper: RuntimeState['keeper'];
  const nesting = featureOn(cfg.features, 'nesting');
  const global = readGlobal(ctx.paths);
  try {
    if (ownMount) {
      makeDir(cfg.veRoot);
      await mountWithScripts(ctx, id, cfg, rootMountArgs(root));
    }
    if (initKind === null) {
      initKind = initKindFromLink(initLink(fileLayers(root)));
      stopSignal = stopSignalFor(initKind);
      starting();
    }
    syncNft(ctx, `start ${id}`, [], nft);
    const devices = devicesHere(ctx, cfg, `start ${id}`, true);
    const binds = planBinds(ctx.host, ctx.paths, cfg, [global.vePrivate, global.veRoot], ctx.paths.helper);
    const dirs = prepareCgroups(ctx.host, layout, ctx.paths.cgroupParent, id, {
      devices: [...DEVICE_ALLOW, ...devices.map(deviceRule)],
      writes: resourceWrites(layout, cfg.resources, id),
      owner: cfg.idBase,
    });
    trace('cgroups ready');
    makeDir(cfg.veRoot);
    const consoleLog = consoleLogPath(ctx.paths, id);
    makeDir(ctx.paths.log);
    // the helper's own messages; the container's console output reaches it through the keeper
    const logFd = openAppend(consoleLog, 0o600);
    const plan = startPlan(cfg, {
      cgroupMounts: containerCgroupMounts(layout),
      cgroupProcs: procsFiles(dirs),
      keeper: {
        consoleLog,
        consoleLogSize: global.consoleLogSize,
        socket: keeperSocketPath(ctx.paths, id),
        sysinfo: global.sysinfo ? sysinfoSource(layout, dirs) : null,
      },
      availableCaps: ownCapabilities(ctx.host),
      files: [
        ...containerFilesFor(cfg, initKind === 'systemd'),
        // a new machine's first start (create, clone, restore as a new CTID): a fresh machine-id
        ...(resetMachineId ? machineIdFiles(randomBytes(16), initKind === 'systemd') : []),
      ],
      blocks: [hostsBlock(cfg.hostname, cfg.ipAddr, cfg.netifs)],
      lxcfs: global.lxcfs ? ensureLxcfs(ctx.host, ctx.paths, ctx.paths.helper, ctx.log) : null,
      devices,
      binds,
      timens: hasTimens(ctx.host),
    });
    const args = startArgs(plan, startNetArgs(ctx, cfg));
    const hostBind = ownMount ? [] : rootMountArgs(root);
    // no detach needed: init calls setsid() itself, and the helper exits once init runs
    const r = await helperRun(ctx, [...hostBind, ...args], {
      stdio: ['ignore', logFd, logFd],
      seccompFd: policyFd(ctx.paths.run, seccompPolicy(process.arch, { sysinfo: global.sysinfo, nesting })),
    });
    closeFd(logFd);
    removeStages(binds);
    for (const w of r.warnings) ctx.log(fastpathWarning(w));
    if (r.keeper !== null) {
      keeper = {
        pid: r.keeper,
        startTime: readProcStat(ctx.host, r.keeper)?.startTime ?? null,
        sysinfo: global.sysinfo,
      };
    }
    if (r.exitCode !== 0 || r.pid === null) {
      throw new BerthError('CT_CREATE', `start ${id}: ${r.error?.message ?? `helper exited with ${r.exitCode}`}`, {
        hint: `see ${consoleLog}`,
      });
    }
    // start succeeds only when init runs: one that exec'd and died at once is a failed start
    if (!isAlive(ctx.host, r.pid, null)) {
      throw new BerthError('CT_CREATE', `start ${id}: init exited as soon as it started`, {
        hint: `see ${consoleLog}`,
      });
    }
    pid = r.pid;
  } catch (err) {
    await cleanupRuntime(ctx, id, cfg, keeper).catch(() => {});
    throw err;
  }
  recordRunning(ctx, id, pid, {
    startedAt: new Date().toISOString(),
    stopSignal,
    ips,
    nft,
    keeper,
    nesting,
    veRoot: cfg.veRoot,
  });
  // CTID.start runs inside once init runs; its failure undoes the start (umount scripts included)
  await runScripts(ctx, id, cfg, 'start').catch(async (err) => {
    await cleanupRuntime(ctx, id, cfg).catch(() => {});
    throw err;
  });
  if (resetMachineId) writeCtText(ctx.paths, id, formatConfig(setKeys(ct.file, { [RESET_MACHINE_ID]: undefined })));
  trace('recorded');
  return pid;
}
