// berth list / status: what each container is and holds, read without taking locks. A running
// container shows what runs (its addresses and limits as applied), unless the saved are asked for.

import { dirname } from 'node:path';
import { getKey } from '../core/config.ts';
import type { CtConfig } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { formatFeatures } from '../core/features.ts';
import { imageFile } from '../core/layout.ts';
import type { RunStatus } from '../core/lifecycle.ts';
import {
  COUNTER_FIELDS,
  DISK_FIELDS,
  type ListField,
  limitCells,
  limitFiles,
  liveResources,
} from '../core/list-fields.ts';
import { migratingField } from '../core/migrate.ts';
import { formatIpList } from '../core/net.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import { type Ctx, remembered } from '../engine/context.ts';
import { readCounters } from '../engine/counters.ts';
import { cgroupDirsOf, type Inspection, inspect } from '../engine/inspect.ts';
import { cgroupPidsOne, counterSources, onlineCpus, readCounterFiles, subdirsOf } from '../host/cgroups.ts';
import { pathExists } from '../host/files.ts';
import { journalIds, readJournal } from '../host/migrate-journal.ts';
import { mountPoints } from '../host/mountinfo.ts';
import { ctConfigPath, migrateDir } from '../host/paths.ts';
import { type BrokenCt, derivedConfig, listCtIds, readCtOrBroken, type StoredCt } from '../host/store.ts';
import { trace } from '../host/trace.ts';

export interface CtRow {
  ctid: string;
  nproc: number | null;
  /** running, suspended, stopped; or broken: the config cannot be read (see problem) */
  status: string;
  /** what is wrong with a broken config, and where; null when it is fine */
  problem: string | null;
  /** DEST:PHASE while berth migrate moves it to DEST (its journal), null otherwise */
  migrating: string | null;
  /**
   * The fields from the config are null when it is broken. ip: the routed addresses a running
   * container has (state.json), unless the saved are asked for.
   */
  ip: string | null;
  hostname: string | null;
  description: string | null;
  ostemplate: string | null;
  onboot: string | null;
  bootorder: number | null;
  nameserver: string | null;
  searchdomain: string | null;
  pid: number | null;
  /** seconds since a running container started */
  uptime: number | null;
  /** limits: a running container's from its cgroups when asked for, unless saved is asked for */
  physpages: string | null;
  swappages: string | null;
  cpus: string | null;
  cpulimit: string | null;
  cpuunits: string | null;
  numproc: string | null;
  ve_root: string;
  ve_private: string;
  layout: string | null;
  layer: string | null;
  /** "yes": no user namespace, root inside is root on the host */
  privileged: string | null;
  /** the host uid of root inside (ID_BASE), null for a privileged container */
  id_base: number | null;
  /** FEATURES switched on (fuse, tun, nesting), from the next start */
  features: string | null;
  /** KiB in use, soft and hard limit (vzlist); inodes likewise. Filled only when asked for. */
  diskspace?: number | null;
  'diskspace.s'?: number | null;
  'diskspace.h'?: number | null;
  diskinodes?: number | null;
  'diskinodes.s'?: number | null;
  'diskinodes.h'?: number | null;
  /** beancounters of a running container (null when stopped or not kept); filled when asked for */
  'physpages.m'?: number | null;
  'physpages.l'?: number | null;
  'physpages.f'?: number | null;
  'swappages.m'?: number | null;
  'swappages.l'?: number | null;
  'swappages.f'?: number | null;
  'numproc.m'?: number | null;
  'numproc.l'?: number | null;
  'numproc.f'?: number | null;
  oomkills?: number | null;
  cpu_seconds?: number | null;
  mounted: boolean;
  exists: boolean;
  /** init runs (running or suspended), whatever status says */
  running: boolean;
}

/** The beancounter fields (vzlist's .m maxheld, .l limit, .f failcnt) of a running container. */
function counterFields(ctx: Ctx, id: CtId, running: boolean): Partial<CtRow> {
  const out: Record<string, number | null> = {};
  for (const f of COUNTER_FIELDS) out[f] = null;
  for (const c of running ? readCounters(ctx, id) : []) {
    if (c.resource === 'oomkills' || c.resource === 'cpu_seconds') out[c.resource] = c.held;
    else {
      out[`${c.resource}.m`] = c.maxheld;
      out[`${c.resource}.l`] = c.limit;
      out[`${c.resource}.f`] = c.failcnt;
    }
  }
  return out as Partial<CtRow>;
}

type Image = typeof import('../host/image.ts');

export interface ListOptions {
  /** stopped containers too */
  all: boolean;
  /** only these (whatever their status); undefined: all of them */
  ids?: CtId[] | undefined;
  /** compute the disk fields (a walk of the files for dir and overlay) */
  disk: boolean;
  /** read the beancounters of running containers */
  counters: boolean;
  /** the fields shown: those among the limits are read from a running container's cgroups */
  fields: readonly (ListField | null)[];
  /** the config's values for every container, running or not */
  saved: boolean;
}

/** What one list call reads once for all its rows. */
interface Seen {
  mounts: Set<string>;
  /** host/image.ts, loaded only when disk fields are asked for (it spawns tools) */
  image: Image | null;
  counters: boolean;
  saved: boolean;
  /** the CTIDs with a migration journal (one directory read, not one open per container) */
  journals: Set<string>;
  /** the cgroup files of the limits shown, and the host's online CPUs; null: show the saved */
  limits: { files: string[]; online: number } | null;
}

/**
 * Disk usage against the limits: statfs of a mounted image, its superblock when not mounted,
 * and a walk (du) of a dir tree or an overlay's upper directory, which can take a while: so
 * only when asked for.
 */
function diskFields(ctx: Ctx, c: CtConfig, image: Image, mounts: Set<string>): Partial<CtRow> {
  const u =
    c.layout === 'image'
      ? mounts.has(c.veRoot)
        ? image.mountedUsage(c.veRoot)
        : image.imageUsage(ctx.host, imageFile(c.vePrivate))
      : image.treeUsage(ctx.host, ownFilesDir(c.layout, c.vePrivate));
  const kib = (b: number | null | undefined) => (b === null || b === undefined ? null : Math.ceil(b / 1024));
  return {
    diskspace: kib(u?.used),
    'diskspace.s': kib(c.diskspace?.soft ?? u?.total),
    'diskspace.h': kib(c.diskspace?.hard ?? u?.total),
    diskinodes: u?.inodesUsed ?? null,
    'diskinodes.s': c.diskinodes?.soft ?? u?.inodesTotal ?? null,
    'diskinodes.h': c.diskinodes?.hard ?? u?.inodesTotal ?? null,
  };
}

function ctRow(ctx: Ctx, id: CtId, seen: Seen): CtRow | null {
  const files = [ctConfigPath(ctx.paths, id), ctx.paths.globalConfig];
  const ct = remembered(ctx, `config ${id}`, files, () => readCtOrBroken(ctx.paths, id));
  if (!ct) return null;
  if ('error' in ct) return brokenRow(ctx, id, ct, seen);
  const c = ct.config;
  const now = inspect(ctx, id);
  const live = now.status !== 'stopped' && !seen.saved;
  const liveIps = live ? now.state?.ips : undefined;
  const limits = live ? seen.limits : null;
  return {
    ...runtimeFields(ctx, id, now),
    status: now.status,
    problem: null,
    migrating: seen.journals.has(id) ? migrating(ctx, id) : null,
    ip: (liveIps ? liveIps.join(' ') : formatIpList(c.ipAddr)) || '-',
    hostname: c.hostname,
    description: getKey(ct.file, 'DESCRIPTION') ?? null,
    ostemplate: c.ostemplate,
    onboot: c.onboot ? 'yes' : 'no',
    bootorder: c.bootorder,
    nameserver: c.nameservers.join(' ') || null,
    searchdomain: c.searchDomains.join(' ') || null,
    ...limitCells(limits ? liveLimits(ctx, id, now.pid, ct, limits) : c.resources),
    ve_root: c.veRoot,
    ve_private: c.vePrivate,
    layout: c.layout,
    layer: c.layer ?? '-',
    privileged: c.idBase === null ? 'yes' : 'no',
    id_base: c.idBase,
    features: formatFeatures(c.features) || '-',
    mounted: seen.mounts.has(c.veRoot),
    exists: privateExists(ctx, c.vePrivate),
    running: now.status !== 'stopped',
    ...(seen.image ? diskFields(ctx, c, seen.image, seen.mounts) : {}),
    ...(seen.counters ? counterFields(ctx, id, now.status !== 'stopped') : {}),
  };
}

/** The limits the kernel enforces on a running container (a live set changes them), from its cgroup files. */
function liveLimits(ctx: Ctx, id: CtId, pid: number | null, ct: StoredCt, limits: { files: string[]; online: number }) {
  const layout = ctx.layout();
  const dirs = cgroupDirsOf(ctx, id);
  // limits change only by a write (berth set, or an admin's echo): berthd hears those
  const sources = counterSources(layout, dirs, limits.files).flatMap(([, f]) => f);
  // the config's too: what the kernel does not hold (a limit never set) shows the saved value
  const watched = [...sources, ctConfigPath(ctx.paths, id), ctx.paths.globalConfig];
  return remembered(ctx, `limits ${id} ${pid} ${limits.online}`, watched, () =>
    liveResources(layout.kind, readCounterFiles(layout, dirs, limits.files), ct.config.resources, limits.online),
  );
}

/** Its migration's DEST:PHASE: berthd hears a journal written or removed in their directory. */
export function migrating(ctx: Ctx, id: CtId): string | null {
  return remembered(ctx, `migrating ${id}`, [`${migrateDir(ctx.paths)}/`], () => {
    try {
      const j = readJournal(ctx.paths, id);
      return j ? migratingField(j) : null;
    } catch {
      return '?'; // a damaged journal still stops the verbs, which say why
    }
  });
}

/** Whether the private area is there: berthd hears it made or removed in its parent directory. */
const privateExists = (ctx: Ctx, dir: string) =>
  remembered(ctx, `exists ${dir}`, [`${dirname(dir)}/`], () => pathExists(dir));

/** What the kernel says, config or not: processes and init's pid. */
function runtimeFields(ctx: Ctx, id: CtId, now: Inspection): Pick<CtRow, 'ctid' | 'nproc' | 'pid' | 'uptime'> {
  const stopped = now.status === 'stopped';
  // a cgroup's children change by mkdir and rmdir (the container's own too): berthd hears those
  const subdirs = (dir: string) => remembered(ctx, `subdirs ${dir}`, [`${dir}/`], () => subdirsOf(dir));
  const since = stopped || !now.state ? Number.NaN : Date.parse(now.state.startedAt);
  return {
    ctid: id,
    nproc: stopped ? null : cgroupPidsOne(cgroupDirsOf(ctx, id), subdirs).length,
    pid: now.pid,
    uptime: Number.isNaN(since) ? null : Math.max(0, Math.floor((Date.now() - since) / 1000)),
  };
}

/**
 * A container whose config cannot be read: listed as broken, with what is wrong, the facts of
 * the kernel, and the paths berth.conf gives its CTID (those that destroy removes).
 */
function brokenRow(ctx: Ctx, id: CtId, ct: BrokenCt, seen: Seen): CtRow {
  const c = derivedConfig(ctx.paths, id);
  const now = inspect(ctx, id);
  const unknown = { physpages: null, swappages: null, cpus: null, cpulimit: null, cpuunits: null, numproc: null };
  return {
    ...runtimeFields(ctx, id, now),
    status: 'broken',
    problem: ct.error.message,
    migrating: seen.journals.has(id) ? migrating(ctx, id) : null,
    ip: null,
    hostname: null,
    description: null,
    ostemplate: null,
    onboot: null,
    bootorder: null,
    nameserver: null,
    searchdomain: null,
    ...unknown,
    ve_root: c.veRoot,
    ve_private: c.vePrivate,
    layout: null,
    layer: null,
    privileged: null,
    id_base: null,
    features: null,
    mounted: seen.mounts.has(c.veRoot),
    exists: pathExists(c.vePrivate),
    running: now.status !== 'stopped',
    ...(seen.image ? Object.fromEntries(DISK_FIELDS.map((f) => [f, null])) : {}),
    ...(seen.counters ? counterFields(ctx, id, now.status !== 'stopped') : {}),
  };
}

/**
 * Running (or suspended) containers, all with `all`, those of `ids` whatever their status (an id
 * without a config has no row); a broken config shows when it runs.
 */
export async function listContainers(ctx: Ctx, o: ListOptions): Promise<CtRow[]> {
  const seen: Seen = {
    mounts: mountPoints(ctx.mountinfo()),
    image: o.disk ? await import('../host/image.ts') : null,
    counters: o.counters,
    saved: o.saved,
    journals: journalIds(ctx.paths),
    limits: null,
  };
  const files = o.saved ? [] : limitFiles(ctx.layout().kind, o.fields);
  if (files.length) seen.limits = { files, online: onlineCpus().length };
  const ids = o.ids ?? listCtIds(ctx.paths);
  const rows = ids
    .map((id) => ctRow(ctx, id, seen))
    .filter((r): r is CtRow => r !== null && (o.all || o.ids !== undefined || r.running));
  trace(`listed ${rows.length}`);
  return rows;
}

export interface CtStatus {
  /** the config and the private area exist (vzctl's "exist"); a broken config counts */
  exists: boolean;
  mounted: boolean;
  status: RunStatus;
  pid: number | null;
  /** what is wrong with a broken config, and where; null when it is fine */
  problem: string | null;
  /** DEST:PHASE while berth migrate moves it (list's field), null otherwise */
  migrating: string | null;
}

/** berth status: the facts, also for a broken config (then at the paths berth.conf gives). */
export function ctStatus(ctx: Ctx, id: CtId): CtStatus | null {
  const ct = readCtOrBroken(ctx.paths, id);
  if (!ct) return null;
  const broken = 'error' in ct;
  const c = broken ? derivedConfig(ctx.paths, id) : ct.config;
  const now = inspect(ctx, id);
  return {
    exists: broken || pathExists(c.vePrivate), // a broken config is a container still, for destroy
    mounted: mountPoints(ctx.mountinfo()).has(c.veRoot),
    status: now.status,
    pid: now.pid,
    problem: broken ? ct.error.message : null,
    migrating: migrating(ctx, id),
  };
}
