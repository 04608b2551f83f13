// berth list / status: what each container is and holds, read without taking locks.

import { existsSync } from 'node:fs';
import type { CtConfig } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import { imageFile } from '../core/layout.ts';
import type { RunStatus } from '../core/lifecycle.ts';
import { formatIpList } from '../core/net.ts';
import { formatSize } from '../core/size.ts';
import { ownFilesDir } from '../core/snapshot.ts';
import { cgroupPidsOne } from '../host/cgroups.ts';
import { mountPoints } from '../host/mountinfo.ts';
import { type BrokenCt, derivedConfig, listCtIds, readCtOrBroken } from '../host/store.ts';
import { trace } from '../host/trace.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf, type Inspection, inspect } from './inspect.ts';
import { readCounters } from './stat.ts';

export interface CtRow {
  ctid: string;
  nproc: number | null;
  /** running, suspended, stopped; or broken: the config cannot be read (see problem) */
  status: string;
  /** what is wrong with a broken config, and where; null when it is fine */
  problem: string | null;
  /** the fields from the config are null when it is broken */
  ip: string | null;
  hostname: string | null;
  ostemplate: string | null;
  onboot: string | null;
  pid: number | null;
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

export const LIST_FIELDS = [
  'ctid',
  'nproc',
  'status',
  'problem',
  'ip',
  'hostname',
  'ostemplate',
  'onboot',
  'pid',
  'physpages',
  'swappages',
  'cpus',
  'cpulimit',
  'cpuunits',
  'numproc',
  've_root',
  've_private',
  'layout',
  'layer',
  'privileged',
  'id_base',
  'diskspace',
  'diskspace.s',
  'diskspace.h',
  'diskinodes',
  'diskinodes.s',
  'diskinodes.h',
  'physpages.m',
  'physpages.l',
  'physpages.f',
  'swappages.m',
  'swappages.l',
  'swappages.f',
  'numproc.m',
  'numproc.l',
  'numproc.f',
  'oomkills',
  'cpu_seconds',
] as const;
export type ListField = (typeof LIST_FIELDS)[number];

export const DISK_FIELDS: readonly ListField[] = LIST_FIELDS.filter((f) => f.startsWith('disk'));
export const COUNTER_FIELDS: readonly ListField[] = LIST_FIELDS.filter(
  (f) => /\.[mlf]$/.test(f) || f === 'oomkills' || f === 'cpu_seconds',
);

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

/** What one list call reads once for all its rows. */
interface Seen {
  mounts: Set<string>;
  /** host/image.ts, loaded only when disk fields are asked for (it spawns tools) */
  image: Image | null;
  counters: boolean;
}

/**
 * Disk usage against the limits: statfs of a mounted image, its superblock when not mounted,
 * and a walk (du) of a dir tree or an overlay's upper directory, which can take a while: so
 * only when asked for.
 */
function diskFields(c: CtConfig, image: Image, mounts: Set<string>): Partial<CtRow> {
  const u =
    c.layout === 'image'
      ? mounts.has(c.veRoot)
        ? image.mountedUsage(c.veRoot)
        : image.imageUsage(imageFile(c.vePrivate))
      : image.treeUsage(ownFilesDir(c.layout, c.vePrivate));
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
  const ct = readCtOrBroken(ctx.paths, id);
  if (!ct) return null;
  if ('error' in ct) return brokenRow(ctx, id, ct, seen);
  const c = ct.config;
  const now = inspect(ctx, id);
  const r = c.resources;
  return {
    ...runtimeFields(ctx, id, now),
    status: now.status,
    problem: null,
    ip: formatIpList(c.ipAddr) || '-',
    hostname: c.hostname,
    ostemplate: c.ostemplate,
    onboot: c.onboot ? 'yes' : 'no',
    physpages: formatSize(r.ram),
    swappages: formatSize(r.swap),
    cpus: r.cpus === null ? 'unlimited' : String(r.cpus),
    cpulimit: r.cpulimit === null ? '0' : String(r.cpulimit),
    cpuunits: String(r.cpuunits ?? 1000),
    numproc: r.numproc === null ? 'unlimited' : String(r.numproc),
    ve_root: c.veRoot,
    ve_private: c.vePrivate,
    layout: c.layout,
    layer: c.layer ?? '-',
    privileged: c.idBase === null ? 'yes' : 'no',
    id_base: c.idBase,
    mounted: seen.mounts.has(c.veRoot),
    exists: existsSync(c.vePrivate),
    running: now.status !== 'stopped',
    ...(seen.image ? diskFields(c, seen.image, seen.mounts) : {}),
    ...(seen.counters ? counterFields(ctx, id, now.status !== 'stopped') : {}),
  };
}

/** What the kernel says, config or not: processes and init's pid. */
function runtimeFields(ctx: Ctx, id: CtId, now: Inspection): Pick<CtRow, 'ctid' | 'nproc' | 'pid'> {
  return {
    ctid: id,
    nproc: now.status === 'stopped' ? null : cgroupPidsOne(cgroupDirsOf(ctx, id)).length,
    pid: now.pid,
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
    ip: null,
    hostname: null,
    ostemplate: null,
    onboot: null,
    ...unknown,
    ve_root: c.veRoot,
    ve_private: c.vePrivate,
    layout: null,
    layer: null,
    privileged: null,
    id_base: null,
    mounted: seen.mounts.has(c.veRoot),
    exists: existsSync(c.vePrivate),
    running: now.status !== 'stopped',
    ...(seen.image ? Object.fromEntries(DISK_FIELDS.map((f) => [f, null])) : {}),
    ...(seen.counters ? counterFields(ctx, id, now.status !== 'stopped') : {}),
  };
}

/** Running (or suspended) containers, all with `all`; a broken config shows when it runs. */
export async function listContainers(ctx: Ctx, all: boolean, disk = false, counters = false): Promise<CtRow[]> {
  const seen: Seen = {
    mounts: mountPoints(ctx.mountinfo()),
    image: disk ? await import('../host/image.ts') : null,
    counters,
  };
  const rows = listCtIds(ctx.paths)
    .map((id) => ctRow(ctx, id, seen))
    .filter((r): r is CtRow => r !== null && (all || r.running));
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
}

/** berth status: the facts, also for a broken config (then at the paths berth.conf gives). */
export function ctStatus(ctx: Ctx, id: CtId): CtStatus | null {
  const ct = readCtOrBroken(ctx.paths, id);
  if (!ct) return null;
  const broken = 'error' in ct;
  const c = broken ? derivedConfig(ctx.paths, id) : ct.config;
  const now = inspect(ctx, id);
  return {
    exists: broken || existsSync(c.vePrivate), // a broken config is a container still, for destroy
    mounted: mountPoints(ctx.mountinfo()).has(c.veRoot),
    status: now.status,
    pid: now.pid,
    problem: broken ? ct.error.message : null,
  };
}
