// Networking shared by start, set and cleanup: the helper's plans (routed pair, bridged
// interfaces, NAT elements), the files written inside, and the conflict checks.
import { join } from 'node:path';
import type { CtConfig } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { fileLayers } from '../core/layout.ts';
import { initKindFromLink } from '../core/lifecycle.ts';
import type { ContainerFile } from '../core/mounts.ts';
import { nftElementScript, nftElements as nftElementsOf, type PortFwd, portConflict } from '../core/nat.ts';
import {
  addressOps,
  hostIfName,
  type IpAddr,
  ipConflict,
  type NetOp,
  netArgs,
  pairOps,
  parseIpList,
  removeAddressOps,
  routedStartOps,
} from '../core/net.ts';
import { networkdFiles } from '../core/netconf.ts';
import { type Bridge, bridgedStartOps, type NetIf, netifLiveOps } from '../core/netif.ts';
import { resolvConf } from '../core/resolv.ts';
import { hostLinks, readBridge } from '../host/bridges.ts';
import { initLink } from '../host/ct-tree.ts';
import { closeFd } from '../host/files.ts';
import { inputFd } from '../host/helper.ts';
import { rootSource } from '../host/layers.ts';
import { acquireLock, type Lock } from '../host/lock.ts';
import { ensureNftBase, hostNet, hostResolvers, nftElements, runNetOps } from '../host/net.ts';
import { ownUserns } from '../host/proc.ts';
import { listCtIds, readCt, readGlobal, readState } from '../host/store.ts';
import type { Ctx } from './context.ts';
import type { Inspection } from './inspect.ts';
import { runJoined } from './join.ts';

/** The helper's --net arguments for a starting container. */
export function startNetArgs(ctx: Ctx, cfg: CtConfig): string[] {
  const bridged = cfg.netifs.length
    ? bridgedStartOps(
        cfg.netifs,
        bridgesFor(
          ctx,
          `start ${cfg.id}`,
          cfg.netifs.map((n) => n.bridge),
        ),
      )
    : [];
  if (cfg.ipAddr.length === 0) return netArgs(bridged); // no routed pair, no host facts to read
  const host = hostNet(ctx.host, readGlobal(ctx.paths), cfg.ipAddr, ctx.log);
  if (cfg.ipAddr.some((i) => i.family === 6)) ensureNftBase(ctx.host, ctx.paths.run);
  return netArgs([...routedStartOps(cfg.id, cfg.ipAddr, host), ...bridged]);
}

/** Every other container's config, with the addresses it has now when it runs. */
function otherContainers(ctx: Ctx, id: CtId): Array<{ id: CtId; cfg: CtConfig; liveIps: IpAddr[] }> {
  return listCtIds(ctx.paths)
    .filter((o) => o !== id)
    .flatMap((o) => {
      const ct = readCt(ctx.paths, o);
      const live = readState(ctx.paths, o)?.ips ?? [];
      return ct ? [{ id: o, cfg: ct.config, liveIps: parseIpList(live.join(' ')) }] : [];
    });
}

/** Every other container's addresses, saved and live. */
function heldIps(ctx: Ctx, id: CtId): Array<{ id: CtId; ips: IpAddr[] }> {
  return otherContainers(ctx, id).map((o) => ({ id: o.id, ips: [...o.cfg.ipAddr, ...o.liveIps] }));
}

/** Those of `ips` that another container has, saved or live. */
export function ipsHeldByOthers(ctx: Ctx, id: CtId, ips: IpAddr[]): IpAddr[] {
  if (ips.length === 0) return [];
  const held = heldIps(ctx, id);
  return ips.filter((ip) => ipConflict([ip], held) !== null);
}

/**
 * The lock under which a command checks that addresses and host ports are free and records
 * them (set, restore): held for milliseconds, so commands on two containers cannot both see
 * an address free and both take it. Each container's own lock does not cover that.
 */
export function lockAddresses(ctx: Ctx, what: string): Lock {
  return acquireLock(ctx.host, ctx.paths.helper, join(ctx.paths.lockDir, 'addresses.lck'), what, {
    waitMs: 10_000,
    request: ctx.request,
  });
}

/** Refuses addresses that another container already has, saved or live (exit 78). */
export function checkIpsFree(ctx: Ctx, id: CtId, ips: IpAddr[]): void {
  if (ips.length === 0) return;
  const hit = ipConflict(ips, heldIps(ctx, id));
  if (hit) {
    throw new BerthError('IP_IN_USE', `IP address ${hit.addr} is already used by container ${hit.id}`, {
      hint: `free it first: berth set ${hit.id} --ipdel ${hit.addr} --save`,
    });
  }
}

/** Live --ipadd/--ipdel on a running container (init pid). */
export function changeIpsLive(
  ctx: Ctx,
  cfg: CtConfig,
  pid: number,
  change: { had: IpAddr[]; add: IpAddr[]; del: IpAddr[] },
): void {
  const { had, add, del } = change;
  const host = hostNet(ctx.host, readGlobal(ctx.paths), add, ctx.log);
  if (add.some((i) => i.family === 6)) ensureNftBase(ctx.host, ctx.paths.run);
  const hostIf = hostIfName(cfg.id);
  const ops: NetOp[] = [
    // the first address of a container that started without one brings the pair
    ...(had.length === 0 && add.length > 0
      ? pairOps(cfg.id, host)
      : host.enable.map((p): NetOp => ['host', 'sysctl', p, '1', '-'])),
    ...removeAddressOps(hostIf, del, host, true),
    ...addressOps(hostIf, add, host),
  ];
  runNetOps(ctx.host, ctx.paths.helper, `set ${cfg.id}`, ops, pid, ctx.log);
}

/**
 * What a stopped container leaves in the host's network: only the neighbour proxies on the
 * uplinks (the pair, its routes and addresses go with the container's network namespace).
 */
export function cleanupNet(ctx: Ctx, cfg: CtConfig, liveIps: string[] | undefined): void {
  const ips = liveIps ? parseIpList(liveIps.join(' ')) : cfg.ipAddr;
  if (ips.length === 0) return;
  const host = hostNet(ctx.host, readGlobal(ctx.paths), [], () => {});
  if (host.neighbourDevs.length === 0) return;
  runNetOps(ctx.host, ctx.paths.helper, `stop ${cfg.id}`, removeAddressOps(hostIfName(cfg.id), ips, host, false), null);
}

/** The nftables elements (NAT, port forwards) a container with these addresses owns. */
export function nftFor(cfg: CtConfig, ips: IpAddr[]): string[] {
  return nftElementsOf(ips, cfg.nat, cfg.portFwd);
}

/** Brings berth's table from the elements `had` to `want` (both as recorded in state). */
export function syncNft(ctx: Ctx, what: string, had: string[], want: string[]): void {
  const add = want.filter((e) => !had.includes(e));
  const del = had.filter((e) => !want.includes(e));
  nftElements(ctx.host, ctx.paths.run, nftElementScript(add, del), what, add.length > 0);
}

/** Refuses port forwards that another container already has (exit 150). */
export function checkPortsFree(ctx: Ctx, id: CtId, fwds: PortFwd[]): void {
  if (fwds.length === 0) return;
  const others = otherContainers(ctx, id).map((o) => ({ id: o.id, fwds: o.cfg.portFwd }));
  const hit = portConflict(fwds, others);
  if (hit) {
    throw new BerthError('PORT_IN_USE', `port forward ${hit.spec} collides with one of container ${hit.id}`, {
      hint: `use another host port, or remove it there: berth set ${hit.id} --portfwd-del ${hit.spec} --save`,
    });
  }
}

/**
 * Files written into the container at start: resolv.conf (when configured) and, for a systemd
 * container, systemd-networkd units matching berth's interfaces.
 */
export function containerFilesFor(cfg: CtConfig, systemd: boolean): ContainerFile[] {
  const resolv = resolvConfFor(cfg);
  return [
    ...(resolv ? [{ dest: '/etc/resolv.conf', content: resolv }] : []),
    ...(systemd ? networkdFiles(cfg.ipAddr, cfg.netifs) : []),
  ];
}

export function isSystemd(ctx: Ctx, cfg: CtConfig): boolean {
  return initKindFromLink(initLink(fileLayers(rootSource(ctx.paths, cfg, 'set')))) === 'systemd';
}

/** The container's /etc/resolv.conf from its config, or null to keep the template's. */
export function resolvConfFor(cfg: CtConfig): string | null {
  const inherit = cfg.nameservers.includes('inherit');
  return resolvConf(cfg.nameservers, cfg.searchDomains, inherit ? hostResolvers() : []);
}

/** Writes files (and berth's blocks in files) inside a running container, resolved in its root. */
export function writeFilesLive(ctx: Ctx, pid: number, files: ContainerFile[], blocks: ContainerFile[] = []): void {
  if (files.length === 0 && blocks.length === 0) return;
  const writes = [
    ...files.flatMap((f) => ['--write', f.dest, f.content]),
    ...blocks.flatMap((f) => ['--block', f.dest, f.content]),
  ];
  // an unprivileged container's files are written as its root (through its idmapped root,
  // host root's own ids have no mapping)
  const ns = ownUserns(ctx.host, pid) ? 'user,mnt' : 'mnt';
  const r = ctx.host.runHelper(
    ctx.paths.helper,
    ['--join', String(pid), '--unshare', ns, ...writes, '--status-fd', '3'],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  if (r.exitCode !== 0) {
    const what = [...files, ...blocks].map((f) => f.dest).join(', ');
    throw new BerthError('SYSTEM', `write ${what}: ${r.error?.message ?? `helper exited with ${r.exitCode}`}`);
  }
}

/** only a running networkd: `networkctl reload` would start a stopped one through D-Bus */
const NETWORKD_RELOAD = 'systemctl -q is-active systemd-networkd || exit 0; exec networkctl reload';

/**
 * Has a running container's systemd-networkd read berth's units again after a live change (it
 * reads them only at start): a new interface is then managed, and every one "configured".
 */
export function reloadNetworkd(ctx: Ctx, id: CtId, now: Inspection): void {
  const input = inputFd(ctx.paths.run, '');
  let failed = '';
  try {
    const argv = ['/bin/sh', '-c', `(${NETWORKD_RELOAD}) >/dev/null 2>&1`];
    const code = runJoined(ctx, id, now, argv, { pty: false, verb: 'set', stdin: input });
    if (code !== 0) failed = `exit ${code}`;
  } catch (err) {
    failed = (err as Error).message;
  } finally {
    closeFd(input);
  }
  // the kernel has the change already: only networkctl's view lags until networkd restarts
  if (failed) ctx.log(`warning: set ${id}: networkctl reload in the container failed (${failed})`);
}

/** Bridged interface changes on a running container (the saved NETIF is the running one). */
export function changeNetifsLive(ctx: Ctx, id: CtId, pid: number, old: NetIf[], next: NetIf[]): void {
  const managed = bridgesFor(
    ctx,
    `set ${id}`,
    next.map((n) => n.bridge),
  );
  runNetOps(ctx.host, ctx.paths.helper, `set ${id}`, netifLiveOps(old, next, managed), pid);
}

/** The bridges a container's interfaces need (`what`: "start 101"): managed ones are (re)created. */
export function bridgesFor(ctx: Ctx, what: string, bridges: string[]): Bridge[] {
  const links = hostLinks();
  const managed: Bridge[] = [];
  for (const name of [...new Set(bridges.filter(Boolean))]) {
    const b = readBridge(ctx.paths, name);
    if (b) managed.push(b);
    else if (!links.includes(name)) {
      throw new BerthError('NO_BRIDGE', `${what}: bridge ${name} does not exist`, {
        hint: `create it: berth net create ${name} --subnet 10.89.0.0/24 (or with ip link)`,
      });
    }
  }
  return managed;
}
