// berth set: change resources and settings, live on a running container and/or saved (--save).
import { bindmountChanges, formatBindmounts } from '../core/bindmount.ts';
import { formatCapabilities, parseCapabilities } from '../core/capabilities.ts';
import { formatConfig, setKeys, toRecord } from '../core/config.ts';
import { type CtConfig, ctConfigFrom, type Resources } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { formatDevnodes, parseDevnodes } from '../core/devices.ts';
import { checkDiskLimits, parseDiskinodes, parseDiskspace } from '../core/disk.ts';
import { BerthError } from '../core/errors.ts';
import { formatFeatures, parseFeatures } from '../core/features.ts';
import { parsePrivileged } from '../core/idmap.ts';
import { imageFile } from '../core/layout.ts';
import { LIMIT_FIELDS, limitFiles, liveResources } from '../core/list-fields.ts';
import { formatPortFwd, portFwdChanges } from '../core/nat.ts';
import { formatIpList, type IpAddr, type IpChange, ipChanges, parseIpList } from '../core/net.ts';
import { hostsBlock, networkdFiles } from '../core/netconf.ts';
import { formatNetifs, type IfOptions, type NetIf, netifAdd, netifChange, validateIfName } from '../core/netif.ts';
import { type SetOptions, setOptionsToKeys } from '../core/set-options.ts';
import type { Ctx } from '../engine/context.ts';
import { writeConfigWithIds } from '../engine/idmap.ts';
import { cgroupDirsOf, type Inspection, mustExist } from '../engine/inspect.ts';
import {
  changeIpsLive,
  changeNetifsLive,
  checkIpsFree,
  checkPortsFree,
  isSystemd,
  lockAddresses,
  nftFor,
  reloadNetworkd,
  resolvConfFor,
  syncNft,
  writeFilesLive,
} from '../engine/net.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { setPasswords } from '../engine/userpasswd.ts';
import { checkBindSource } from '../host/bindmounts.ts';
import {
  applyWrites,
  type CgroupDir,
  onlineCpus,
  readCounter,
  readCounterFiles,
  resourceWrites,
} from '../host/cgroups.ts';
import { fileMode } from '../host/files.ts';
import { randomBytes } from '../host/fs-util.ts';
import { runHelperSimple } from '../host/helper.ts';
import { resizeImage } from '../host/image.ts';
import { readGlobal, type StoredCt, stageCtText, writeState } from '../host/store.ts';

export interface SetResult {
  applied: boolean;
  saved: boolean;
  keys: Record<string, string>;
}

export async function setContainer(ctx: Ctx, id: CtId, opts: SetOptions, save: boolean): Promise<SetResult> {
  const keys = setOptionsToKeys(opts); // every value is validated before anything is touched
  if (opts.ifname === undefined)
    ipChanges(
      [],
      opts.ipadd,
      (opts.ipdel ?? []).filter((d) => d !== 'all'),
    ); // validates them too
  const ifChange = Boolean(opts.netif_add?.length || opts.netif_del?.length || opts.ifname !== undefined);
  if (ifChange) validateNetifOptions(id, opts);
  // with --ifname, --ipadd/--ipdel address that bridged interface, not venet0
  const ipsChange = opts.ifname === undefined && Boolean(opts.ipadd?.length || opts.ipdel?.length);
  const fwdDel = opts['portfwd-del'] ?? [];
  portFwdChanges(
    [],
    opts.portfwd,
    fwdDel.filter((d) => d !== 'all'),
  ); // validates them too
  const fwdChange = Boolean(opts.portfwd?.length || fwdDel.length);
  if (ifChange && !save) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: interface changes need --save`, {
      hint: 'with --save they apply to a running container at once and are kept for the next start',
    });
  }
  const privChange = opts.privileged !== undefined;
  if (privChange && !save) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: --privileged needs --save`, {
      hint: 'it changes the saved configuration of a stopped container',
    });
  }
  const bindChange = Boolean(opts.bindmount_add?.length || opts.bindmount_del?.length);
  const startChange = Boolean(opts.capability?.length || opts.devnodes?.length || opts.features?.length || bindChange);
  if (startChange && !save) {
    throw new BerthError(
      'BAD_SYNTAX',
      `set ${id}: --capability, --devnodes, --features and --bindmount_* need --save`,
      {
        hint: 'they apply from the next start',
      },
    );
  }
  const passwords = opts.userpasswd ?? [];
  if (
    Object.keys(keys).length === 0 &&
    !ipsChange &&
    !fwdChange &&
    !ifChange &&
    !privChange &&
    !startChange &&
    passwords.length === 0
  ) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: nothing to set`, { hint: 'see berth help set' });
  }
  return withLock(ctx, id, 'set', async (stored) => {
    // addresses and host ports are checked free and taken under one lock across containers
    const addresses = ipsChange || fwdChange ? lockAddresses(ctx, `set ${id}`) : null;
    try {
      return await setLocked(stored);
    } finally {
      addresses?.release();
    }
  });

  async function setLocked(stored: StoredCt | null): Promise<SetResult> {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const running = now.status !== 'stopped';
    if (privChange && running) {
      throw new BerthError('RUNNING', `set ${id}: --privileged changes only a stopped container`, {
        hint: `berth stop ${id} first`,
      });
    }
    if (passwords.length && now.status !== 'running') {
      // vzctl mounts a stopped container for it; berth has the container's own tools do it
      throw new BerthError('NOT_RUNNING', `set ${id}: --userpasswd needs the container running`, {
        hint: `berth start ${id} first`,
      });
    }
    const diskChange = keys['DISKSPACE'] !== undefined || keys['DISKINODES'] !== undefined;
    if (!running && !save && !diskChange) {
      throw new BerthError('NOT_RUNNING', `set ${id}: container is not running, so nothing applies now`, {
        hint: 'add --save to change its saved configuration',
      });
    }
    // Everything is computed and checked first; then the changes run in order, each with its
    // undo, so that a failure part-way leaves the container and its config as they were.
    const diskSize = diskChange ? checkDisk(ct.config, keys, `set ${id}`) : null;
    // the saved list and the running container's list differ after a change without --save
    const [ipadd, ipdel] = ipsChange ? [opts.ipadd, opts.ipdel] : [[], []];
    const saved = ipChanges(ct.config.ipAddr, ipadd, ipdel);
    const liveNow = now.state?.ips ? parseIpList(now.state.ips.join(' ')) : ct.config.ipAddr;
    const live = ipChanges(liveNow, ipadd, ipdel);
    if (ipsChange) {
      checkIpsFree(ctx, id, [...(save ? saved.add : []), ...(running ? live.add : [])]);
      keys['IP_ADDRESS'] = formatIpList(save ? saved.next : live.next);
    }
    if (fwdChange) {
      const fwds = portFwdChanges(ct.config.portFwd, opts.portfwd, fwdDel);
      checkPortsFree(ctx, id, fwds);
      keys['PORTFWD'] = fwds.map(formatPortFwd).join(' ');
    }
    // merged into the saved lists (a later NAME:... replaces an earlier one); used at start
    if (opts.capability?.length) {
      const all = [formatCapabilities(ct.config.capabilities), ...opts.capability].join(' ');
      keys['CAPABILITY'] = formatCapabilities(parseCapabilities(all));
    }
    if (opts.devnodes?.length) {
      const all = [formatDevnodes(ct.config.devnodes), ...opts.devnodes].join(' ');
      keys['DEVNODES'] = formatDevnodes(parseDevnodes(all).filter((d) => d.perm !== 'none'));
    }
    if (opts.features?.length) {
      const all = [formatFeatures(ct.config.features), ...opts.features].join(' ');
      keys['FEATURES'] = formatFeatures(parseFeatures(all));
    }
    if (bindChange) {
      const binds = bindmountChanges(ct.config.bindmounts, opts.bindmount_add ?? [], opts.bindmount_del ?? []);
      const g = readGlobal(ctx.paths);
      for (const b of binds) {
        const real = checkBindSource(ctx.paths, b, [g.vePrivate, g.veRoot], `set ${id}`);
        // what its root makes there is host root's: a setuid file would serve any host user
        if (!b.ro && (fileMode(real) & 0o005) !== 0)
          ctx.log(
            `warning: ${id}: ${real} is open to every host user; keep a writable bind mount where only root reaches`,
          );
      }
      keys['BINDMOUNT'] = formatBindmounts(binds);
    }
    if (startChange && running)
      ctx.log(`${id}: CAPABILITY, DEVNODES, FEATURES and BINDMOUNT apply from its next start`);
    const netifs = ifChange ? changeNetifs(id, ct.config.netifs, opts, randomBytes) : ct.config.netifs;
    if (ifChange) keys['NETIF'] = formatNetifs(netifs);
    const file = setKeys(ct.file, keys);
    // the whole new config, read back as the next start will read it
    const next = ctConfigFrom(id, toRecord(file), readGlobal(ctx.paths));
    const steps: Step[] = [];
    if (running && now.pid !== null)
      steps.push(...liveSteps(ctx, { id, pid: now.pid, now, ct, next, keys, live, liveNow, netifs, ifChange }));
    if (diskSize !== null) {
      // last of all: a grown image is not shrunk back, so every other change has held by then
      steps.push({
        what: 'resize',
        run: () => resizeImage(ctx.host, imageFile(ct.config.vePrivate), diskSize, ct.config.veRoot, `set ${id}`),
      });
    }
    const wantPrivileged = privChange ? parsePrivileged(opts.privileged ?? '') : null;
    if (wantPrivileged === false && ct.config.idBase === null) {
      // stopped: nothing else to undo. Its files are on disk as they were: only the config names the range
      steps.push({
        what: 'config',
        run: () => {
          keys['ID_BASE'] = String(writeConfigWithIds(ctx, id, formatConfig(file), true));
        },
      });
    } else if (wantPrivileged === true && ct.config.idBase !== null) {
      ctx.log(`warning: ${id} becomes privileged: root inside is root on the host (docs/security.md)`);
      steps.push(saveStep(ctx, id, formatConfig(setKeys(file, { ID_BASE: undefined }))));
    } else if (save) steps.push(saveStep(ctx, id, formatConfig(file)));
    else if (diskChange) {
      // the image itself changed: its limits are saved whether or not --save was given
      const disk = Object.fromEntries(Object.entries(keys).filter(([k]) => k.startsWith('DISK')));
      steps.push(saveStep(ctx, id, formatConfig(setKeys(ct.file, disk))));
      ctx.log(`${id}: saving ${Object.keys(disk).join(', ')} (the image itself changes)`);
    }
    // last: a password once set cannot be put back, so every other change has held by then
    if (passwords.length) steps.push({ what: 'userpasswd', run: () => setPasswords(ctx, id, now, passwords) });
    runAll(ctx, `set ${id}`, steps);
    return { applied: running || diskChange, saved: save || diskChange, keys };
  }
}

/** One change of a set: `undo` puts back what `run` changed (it may run after a partial run). */
interface Step {
  what: string;
  run: () => void;
  undo?: () => void;
  /** releases what was prepared for a step that never ran */
  cancel?: () => void;
}

/**
 * Runs the steps in order; when one fails, undoes those before it (and what the failed one may
 * have done), newest first, then rethrows its error: a set takes effect entirely or not at all.
 */
function runAll(ctx: Ctx, what: string, steps: Step[]): void {
  const done: Step[] = [];
  try {
    for (const s of steps) {
      done.push(s); // a step that fails half-way is undone too: every undo is idempotent
      s.run();
    }
  } catch (err) {
    for (const s of steps.slice(done.length)) s.cancel?.();
    for (const s of done.reverse()) {
      try {
        s.undo?.();
      } catch (e) {
        ctx.log(`warning: ${what}: could not undo the ${s.what} change: ${(e as Error).message}`);
      }
    }
    throw err;
  }
}

/** The config is written to a temporary file first (a full disk fails there) and renamed last. */
function saveStep(ctx: Ctx, id: CtId, text: string): Step {
  const staged = stageCtText(ctx.paths, id, text);
  return { what: 'config', run: () => staged.commit(), undo: () => staged.discard(), cancel: () => staged.discard() };
}

interface LiveChange {
  id: CtId;
  pid: number;
  now: Inspection;
  ct: StoredCt;
  next: CtConfig;
  keys: Record<string, string>;
  live: IpChange;
  liveNow: IpAddr[];
  netifs: NetIf[];
  ifChange: boolean;
}

/**
 * The changes to a running container, those the kernel makes first (each undone exactly), then
 * the files inside it, which the container itself can make fail (a planted symlink, a directory
 * or a huge file where berth writes): hosts block, network units, resolv.conf last.
 */
function liveSteps(ctx: Ctx, c: LiveChange): Step[] {
  const { id, pid, now, ct, next, keys, live, liveNow, netifs } = c;
  const what = `set ${id}`;
  const steps: Step[] = [];
  const dirs = cgroupDirsOf(ctx, id);
  const writes = resourceWrites(ctx.layout(), liveTarget(ctx, dirs, ct, next, keys), id);
  const before = writes.flatMap((w) => {
    const v = readCounter(dirs, w.controller, w.file);
    return v === null ? [] : [{ ...w, value: v.trim() }];
  });
  steps.push({ what: 'limits', run: () => applyWrites(dirs, writes), undo: () => applyWrites(dirs, before) });
  const hostname = keys['HOSTNAME'];
  const ipsMoved = live.add.length > 0 || live.del.length > 0;
  const hostsChange = hostname !== undefined || ipsMoved || c.ifChange;
  const oldHostname = (hostsChange ? liveHostname(ctx, pid) : null) ?? ct.config.hostname;
  if (hostname !== undefined) {
    steps.push({
      what: 'hostname',
      run: () => setLiveHostname(ctx, pid, hostname),
      undo: () => setLiveHostname(ctx, pid, oldHostname),
    });
  }
  if (now.state === null) return steps;
  const state = now.state;
  if (ipsMoved) {
    steps.push({
      what: 'address',
      run: () => changeIpsLive(ctx, next, pid, { had: liveNow, add: live.add, del: live.del }),
      undo: () => changeIpsLive(ctx, next, pid, { had: live.next, add: live.del, del: live.add }),
    });
  }
  if (c.ifChange) {
    steps.push({
      what: 'interface',
      run: () => changeNetifsLive(ctx, id, pid, ct.config.netifs, netifs),
      undo: () => changeNetifsLive(ctx, id, pid, netifs, ct.config.netifs),
    });
  }
  const nft = nftFor(next, live.next);
  steps.push({
    what: 'nftables',
    run: () => syncNft(ctx, what, state.nft ?? [], nft),
    undo: () => syncNft(ctx, what, nft, state.nft ?? []),
  });
  // the files inside follow the change (the distro's network config too, or restarting
  // networking inside would undo it); the old content is berth's own, from the old settings
  if (hostsChange) {
    const block = (h: string, ips: IpAddr[], n: NetIf[]) => [hostsBlock(h, ips, n)];
    steps.push({
      what: '/etc/hosts',
      run: () => writeFilesLive(ctx, pid, [], block(next.hostname, live.next, netifs)),
      undo: () => writeFilesLive(ctx, pid, [], block(oldHostname, liveNow, ct.config.netifs)),
    });
  }
  if ((ipsMoved || c.ifChange) && isSystemd(ctx, next)) {
    // only the units that change: networkd reconfigures the links whose unit file it sees rewritten
    const old = networkdFiles(liveNow, ct.config.netifs);
    const files = networkdFiles(live.next, netifs).filter(
      (f) => !old.some((o) => o.dest === f.dest && o.content === f.content),
    );
    const was = old.filter((o) => files.some((f) => f.dest === o.dest));
    if (files.length) {
      steps.push({
        what: files.map((f) => f.dest).join(', '),
        run: () => {
          writeFilesLive(ctx, pid, files);
          reloadNetworkd(ctx, id, now);
        },
        undo: () => {
          writeFilesLive(ctx, pid, was);
          reloadNetworkd(ctx, id, now);
        },
      });
    }
  }
  const resolv = keys['NAMESERVER'] !== undefined || keys['SEARCHDOMAIN'] !== undefined ? resolvConfFor(next) : null;
  if (resolv !== null) {
    const was = resolvConfFor(ct.config);
    let wrote = false;
    const undo = () => {
      if (was !== null) writeFilesLive(ctx, pid, [{ dest: '/etc/resolv.conf', content: was }]);
      else if (wrote) ctx.log(`warning: ${what}: /etc/resolv.conf keeps the new resolvers (berth had not written it)`);
    };
    const run = () => {
      writeFilesLive(ctx, pid, [{ dest: '/etc/resolv.conf', content: resolv }]);
      wrote = true;
    };
    steps.push({ what: '/etc/resolv.conf', run, undo });
  }
  steps.push({
    what: 'state',
    run: () => writeState(ctx.paths, id, { ...state, ips: live.next.map((i) => i.addr), nft }),
    undo: () => writeState(ctx.paths, id, state),
  });
  return steps;
}

function ifOptions(o: SetOptions): IfOptions {
  const out: IfOptions = {};
  for (const k of ['mac', 'host_ifname', 'host_mac', 'bridge', 'gw', 'gw6', 'dhcp'] as const) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  if (o.ifname !== undefined && o.ipadd) out.ipadd = o.ipadd;
  if (o.ifname !== undefined && o.ipdel) out.ipdel = o.ipdel;
  return out;
}

/** --netif_del, --netif_add, then the changes to --ifname, in that order (vzctl). */
function changeNetifs(id: CtId, current: NetIf[], o: SetOptions, random: (n: number) => Uint8Array): NetIf[] {
  const del = o.netif_del ?? [];
  for (const d of del) {
    if (d !== 'all' && !current.some((n) => n.ifname === d)) {
      throw new BerthError('BAD_VALUE', `set ${id}: no interface ${d} to delete`, { hint: 'see NETIF in its config' });
    }
  }
  let list = del.includes('all') ? [] : current.filter((n) => !del.includes(n.ifname));
  for (const spec of o.netif_add ?? []) list = [...list, netifAdd(id, list, spec, random(12))];
  if (o.ifname !== undefined) {
    const at = list.findIndex((n) => n.ifname === o.ifname);
    if (at < 0) {
      throw new BerthError('BAD_VALUE', `set ${id}: no interface ${o.ifname}`, {
        hint: `add it first: berth set ${id} --netif_add ${o.ifname} --save`,
      });
    }
    list = list.map((n, i) => (i === at ? netifChange(n, ifOptions(o)) : n));
  }
  return list;
}

/** Everything checkable without the container's config, before the lock. */
function validateNetifOptions(id: CtId, o: SetOptions): void {
  const probe = () => new Uint8Array(12);
  for (const spec of o.netif_add ?? []) netifAdd(id, [], spec, probe());
  if (o.ifname !== undefined) validateIfName(o.ifname);
  netifChange(
    {
      ifname: 'x',
      mac: '02:00:00:00:00:01',
      hostIfname: 'x',
      hostMac: '02:00:00:00:00:02',
      bridge: '',
      ips: [],
      gw: null,
      gw6: null,
      dhcp: false,
    },
    ifOptions(o),
  );
}

/**
 * --diskspace/--diskinodes: refused for layouts that cannot enforce them (exit 60); for an
 * image, the size changes (growing works while it runs) and the inode count is fixed. Returns
 * the image's new size, or null when it stays.
 */
function checkDisk(cfg: CtConfig, keys: Record<string, string>, what: string): number | null {
  const space = keys['DISKSPACE'] ? parseDiskspace(keys['DISKSPACE']) : null;
  const inodes = keys['DISKINODES'] ? parseDiskinodes(keys['DISKINODES']) : null;
  checkDiskLimits(what, cfg.layout, space ?? cfg.diskspace, inodes);
  if (inodes && inodes.hard !== cfg.diskinodes?.hard) {
    throw new BerthError('DISK_RESIZE', `${what}: an image's inode count is fixed when it is made`, {
      hint: 'growing --diskspace adds inodes in proportion; for another count, back up and re-create the container',
    });
  }
  return space ? space.hard : null;
}

/**
 * The limits a live set leaves: what the kernel enforces now (an earlier live set may have
 * changed it), with only the limits this set names taken from the new config. Built from the
 * saved config alone, a live --cpus would put back the RAM an earlier live --ram changed.
 */
function liveTarget(
  ctx: Ctx,
  dirs: CgroupDir[],
  ct: StoredCt,
  next: CtConfig,
  keys: Record<string, string>,
): Resources {
  const layout = ctx.layout();
  const files = limitFiles(layout.kind, LIMIT_FIELDS);
  const now = liveResources(
    layout.kind,
    readCounterFiles(layout, dirs, files),
    ct.config.resources,
    onlineCpus().length,
  );
  const named = (key: string) => keys[key] !== undefined;
  const n = next.resources;
  return {
    ram: named('PHYSPAGES') ? n.ram : now.ram,
    swap: named('SWAPPAGES') ? n.swap : now.swap,
    cpus: named('CPUS') ? n.cpus : now.cpus,
    cpulimit: named('CPULIMIT') ? n.cpulimit : now.cpulimit,
    cpuunits: named('CPUUNITS') ? n.cpuunits : now.cpuunits,
    numproc: named('NUMPROC') ? n.numproc : now.numproc,
  };
}

function setLiveHostname(ctx: Ctx, pid: number, hostname: string): void {
  runHelperSimple(
    ctx.host,
    ctx.paths.helper,
    ['--join', String(pid), '--unshare', 'uts', '--hostname', hostname],
    'SYSTEM',
  );
}

/** The hostname a running container has now (it may differ from the saved one). */
function liveHostname(ctx: Ctx, pid: number): string | null {
  // only the UTS namespace is joined: the host's uname runs, nothing of the container's
  const r = ctx.host.tool('nsenter', [`--uts=/proc/${pid}/ns/uts`, 'uname', '-n']);
  const h = r.status === 0 ? r.stdout.trim() : '';
  return h ? h : null;
}
