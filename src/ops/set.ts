// berth set: change resources and settings, live on a running container and/or saved (--save).
import { formatCapabilities, parseCapabilities } from '../core/capabilities.ts';
import { formatConfig, setKeys, toRecord } from '../core/config.ts';
import { type CtConfig, ctConfigFrom } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { formatDevnodes, parseDevnodes } from '../core/devices.ts';
import { checkDiskLimits, parseDiskinodes, parseDiskspace } from '../core/disk.ts';
import { BerthError } from '../core/errors.ts';
import { parsePrivileged } from '../core/idmap.ts';
import { imageFile } from '../core/layout.ts';
import type { ContainerFile } from '../core/mounts.ts';
import { formatPortFwd, portFwdChanges } from '../core/nat.ts';
import { formatIpList, ipChanges, parseIpList } from '../core/net.ts';
import { hostsBlock, networkdFiles } from '../core/netconf.ts';
import { formatNetifs, type IfOptions, type NetIf, netifAdd, netifChange, validateIfName } from '../core/netif.ts';
import { type SetOptions, setOptionsToKeys } from '../core/set-options.ts';
import { applyWrites, resourceWrites } from '../host/cgroups.ts';
import { randomBytes } from '../host/fs-util.ts';
import { runHelperSimple } from '../host/helper.ts';
import { resizeImage } from '../host/image.ts';
import { readGlobal, writeCtText, writeState } from '../host/store.ts';
import type { Ctx } from './context.ts';
import { writeConfigWithIds } from './idmap.ts';
import {
  changeIpsLive,
  changeNetifsLive,
  checkIpsFree,
  checkPortsFree,
  isSystemd,
  nftFor,
  resolvConfFor,
  syncNft,
  writeFilesLive,
} from './net.ts';
import { cgroupDirsOf, mustExist, reconcile, withLock } from './runtime.ts';

export interface SetResult {
  applied: boolean;
  saved: boolean;
  keys: Record<string, string>;
}

export function setContainer(ctx: Ctx, id: CtId, opts: SetOptions, save: boolean): Promise<SetResult> {
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
  const startChange = Boolean(opts.capability?.length || opts.devnodes?.length);
  if (startChange && !save) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: --capability and --devnodes need --save`, {
      hint: 'they apply from the next start',
    });
  }
  if (Object.keys(keys).length === 0 && !ipsChange && !fwdChange && !ifChange && !privChange && !startChange) {
    throw new BerthError('BAD_SYNTAX', `set ${id}: nothing to set`, { hint: 'see berth help set' });
  }
  return withLock(ctx, id, 'set', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const running = now.status !== 'stopped';
    if (privChange && running) {
      throw new BerthError('RUNNING', `set ${id}: --privileged changes only a stopped container`, {
        hint: `berth stop ${id} first`,
      });
    }
    const diskChange = keys['DISKSPACE'] !== undefined || keys['DISKINODES'] !== undefined;
    if (!running && !save && !diskChange) {
      throw new BerthError('NOT_RUNNING', `set ${id}: container is not running, so nothing applies now`, {
        hint: 'add --save to change its saved configuration',
      });
    }
    // first: a disk change that fails leaves everything else as it was
    if (diskChange) changeDisk(ct.config, keys, `set ${id}`);
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
    if (startChange && running) ctx.log(`${id}: CAPABILITY and DEVNODES apply from its next start`);
    const netifs = ifChange ? changeNetifs(id, ct.config.netifs, opts, randomBytes) : ct.config.netifs;
    if (ifChange) keys['NETIF'] = formatNetifs(netifs);
    const file = setKeys(ct.file, keys);
    const next = ctConfigFrom(id, toRecord(file), readGlobal(ctx.paths));
    if (running) {
      const layout = ctx.layout();
      const dirs = cgroupDirsOf(ctx, id);
      applyWrites(dirs, resourceWrites(layout, next.resources, id));
      if (keys['HOSTNAME'] && now.pid !== null) setLiveHostname(ctx, now.pid, keys['HOSTNAME']);
      if (now.pid !== null && now.state) {
        const ipsMoved = live.add.length > 0 || live.del.length > 0;
        if (ipsMoved) changeIpsLive(ctx, next, now.pid, { had: liveNow, add: live.add, del: live.del });
        if (ifChange) changeNetifsLive(ctx, id, now.pid, ct.config.netifs, netifs);
        // the files inside follow the change, all in one helper call
        const files: ContainerFile[] = [];
        if (keys['NAMESERVER'] !== undefined || keys['SEARCHDOMAIN'] !== undefined) {
          const resolv = resolvConfFor(next);
          if (resolv) files.push({ dest: '/etc/resolv.conf', content: resolv });
        }
        // keep the distro's network config in step, or restarting networking inside undoes it
        if ((ipsMoved || ifChange) && isSystemd(ctx, next)) files.push(...networkdFiles(live.next, netifs));
        const hostsChanged = keys['HOSTNAME'] !== undefined || ipsMoved || ifChange;
        writeFilesLive(ctx, now.pid, files, hostsChanged ? [hostsBlock(next.hostname, live.next, netifs)] : []);
        const nft = nftFor(next, live.next);
        syncNft(ctx, `set ${id}`, now.state.nft ?? [], nft);
        writeState(ctx.paths, id, { ...now.state, ips: live.next.map((i) => i.addr), nft });
      }
    }
    const wantPrivileged = privChange ? parsePrivileged(opts.privileged ?? '') : null;
    if (wantPrivileged === false && ct.config.idBase === null) {
      // its files are on disk as they were: only the config names the range
      keys['ID_BASE'] = String(writeConfigWithIds(ctx, id, formatConfig(file), true));
    } else if (wantPrivileged === true && ct.config.idBase !== null) {
      ctx.log(`warning: ${id} becomes privileged: root inside is root on the host (docs/security.md)`);
      writeCtText(ctx.paths, id, formatConfig(setKeys(file, { ID_BASE: undefined })));
    } else if (save) writeCtText(ctx.paths, id, formatConfig(file));
    else if (diskChange) {
      // the image itself changed: its limits are saved whether or not --save was given
      const disk = Object.fromEntries(Object.entries(keys).filter(([k]) => k.startsWith('DISK')));
      writeCtText(ctx.paths, id, formatConfig(setKeys(ct.file, disk)));
      ctx.log(`${id}: saved ${Object.keys(disk).join(', ')} (the image itself changed)`);
    }
    return { applied: running || diskChange, saved: save || diskChange, keys };
  });
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
 * image, the size changes (growing works while it runs) and the inode count is fixed.
 */
function changeDisk(cfg: CtConfig, keys: Record<string, string>, what: string): void {
  const space = keys['DISKSPACE'] ? parseDiskspace(keys['DISKSPACE']) : null;
  const inodes = keys['DISKINODES'] ? parseDiskinodes(keys['DISKINODES']) : null;
  checkDiskLimits(what, cfg.layout, space ?? cfg.diskspace, inodes);
  if (inodes && inodes.hard !== cfg.diskinodes?.hard) {
    throw new BerthError('DISK_RESIZE', `${what}: an image's inode count is fixed when it is made`, {
      hint: 'growing --diskspace adds inodes in proportion; for another count, back up and re-create the container',
    });
  }
  if (space) resizeImage(imageFile(cfg.vePrivate), space.hard, cfg.veRoot, what);
}

function setLiveHostname(ctx: Ctx, pid: number, hostname: string): void {
  runHelperSimple(ctx.paths.helper, ['--join', String(pid), '--unshare', 'uts', '--hostname', hostname], 'SYSTEM');
}
