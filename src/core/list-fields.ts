// berth list's fields (vzlist's names), and a running container's limits read back from the
// text of its cgroup files: what the kernel enforces, which a live `set` without --save changes.
import type { Resources } from './ct-config.ts';
import { BerthError } from './errors.ts';
import { cpuPercent, cpuShares, cpuWeight, parseCpuList } from './limits.ts';
import { formatSize } from './size.ts';

/** the limits a live `set` changes: read from the cgroup files of a running container */
export const LIMIT_FIELDS = ['physpages', 'swappages', 'cpus', 'cpulimit', 'cpuunits', 'numproc'] as const;

export const LIST_FIELDS = [
  'ctid',
  'nproc',
  'status',
  'problem',
  'migrating',
  'ip',
  'hostname',
  'description',
  'ostemplate',
  'onboot',
  'bootorder',
  'nameserver',
  'searchdomain',
  'pid',
  'uptime',
  ...LIMIT_FIELDS,
  've_root',
  've_private',
  'layout',
  'layer',
  'privileged',
  'id_base',
  'features',
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

/** vzlist's other names for berth's fields */
export const FIELD_ALIASES: Readonly<Record<string, ListField>> = {
  veid: 'ctid',
  vpsid: 'ctid',
  ip_addr: 'ip',
  ram: 'physpages',
  swap: 'swappages',
  private: 've_private',
  root: 've_root',
};

const HEADERS: Partial<Record<ListField, string>> = { ip: 'IP_ADDR' };

export const fieldHeader = (f: ListField): string => HEADERS[f] ?? f.toUpperCase();

/** A field named on the command line (any case, or one of vzlist's aliases). */
export function parseField(name: string): ListField {
  const lower = name.toLowerCase();
  const f = (FIELD_ALIASES[lower] ?? lower) as ListField;
  if (!LIST_FIELDS.includes(f)) {
    throw new BerthError('BAD_VALUE', `list: unknown field ${JSON.stringify(name)}`, {
      hint: 'berth list -L names them all',
    });
  }
  return f;
}

/** vzlist -L: one line per field name (aliases too) and the header it prints under. */
export function fieldLines(): string[] {
  const names: Array<[string, ListField]> = [
    ...LIST_FIELDS.map((f): [string, ListField] => [f, f]),
    ...Object.entries(FIELD_ALIASES),
  ];
  return names.map(([name, f]) => `${name.padEnd(15)} ${fieldHeader(f)}`.trimEnd());
}

/** The limit fields as list prints them, from saved or live resources. */
export function limitCells(r: Resources): Record<(typeof LIMIT_FIELDS)[number], string> {
  return {
    physpages: formatSize(r.ram),
    swappages: formatSize(r.swap),
    cpus: r.cpus === null ? 'unlimited' : String(r.cpus),
    cpulimit: r.cpulimit === null ? '0' : String(r.cpulimit),
    cpuunits: String(r.cpuunits ?? 1000),
    numproc: r.numproc === null ? 'unlimited' : String(r.numproc),
  };
}

type LimitField = (typeof LIMIT_FIELDS)[number];

const CPU_FILES = {
  v1: ['cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us', 'cpuset/cpuset.cpus'],
  v2: ['cpu.max', 'cpuset.cpus'],
};

/** The files of a container's limits level each limit field reads (v1 "controller/file"). */
const LIMIT_FILES: Record<LimitField, { v1: string[]; v2: string[] }> = {
  physpages: { v1: ['memory/memory.limit_in_bytes'], v2: ['memory.max'] },
  swappages: { v1: ['memory/memory.limit_in_bytes', 'memory/memory.memsw.limit_in_bytes'], v2: ['memory.swap.max'] },
  numproc: { v1: ['pids/pids.max'], v2: ['pids.max'] },
  // both come from the one quota and the CPU count
  cpus: CPU_FILES,
  cpulimit: CPU_FILES,
  cpuunits: { v1: ['cpu/cpu.shares'], v2: ['cpu.weight'] },
};

/** The cgroup files to read for these fields (none when no limit field is among them). */
export function limitFiles(kind: 'v1' | 'v2', fields: readonly (ListField | null)[]): string[] {
  const limits = fields.filter((f): f is LimitField => (LIMIT_FIELDS as readonly unknown[]).includes(f));
  return [...new Set(limits.flatMap((f) => LIMIT_FILES[f][kind]))];
}

/** v1 says "no limit" with the largest page-aligned signed 64-bit value */
const V1_UNLIMITED = 2 ** 62;

/** A number, null for no limit, undefined when the file is missing or unreadable. */
function limit(text: string | null | undefined, unlimited: (n: number) => boolean): number | null | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (t === 'max') return null;
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  return unlimited(n) ? null : n;
}

const v1Limit = (t: string | null | undefined) => limit(t, (n) => n < 0 || n >= V1_UNLIMITED);
const v2Limit = (t: string | null | undefined) => limit(t, () => false);

/**
 * What the kernel enforces, in the terms of Resources; a field is undefined when its file is
 * missing (swap accounting off, no cpuset): the saved value then stands.
 */
interface Kernel {
  ram: number | null | undefined;
  swap: number | null | undefined;
  numproc: number | null | undefined;
  /** the CPU quota in percent of one CPU, null for none */
  cpuPct: number | null | undefined;
  cpuCount: number | undefined;
  cpuunits: number | undefined;
}

function kernelV1(f: Record<string, string | null>, saved: Resources): Kernel {
  const ram = v1Limit(f['memory/memory.limit_in_bytes']);
  const memsw = v1Limit(f['memory/memory.memsw.limit_in_bytes']);
  const quota = v1Limit(f['cpu/cpu.cfs_quota_us']);
  const period = v1Limit(f['cpu/cpu.cfs_period_us']);
  const shares = v1Limit(f['cpu/cpu.shares']);
  return {
    ram,
    // memory+swap together: swap is what is left above the memory limit
    swap: memsw === undefined || ram === undefined ? undefined : memsw === null || ram === null ? null : memsw - ram,
    numproc: v1Limit(f['pids/pids.max']),
    cpuPct: quota === null ? null : quota === undefined || !period ? undefined : (quota * 100) / period,
    cpuCount: cpuCount(f['cpuset/cpuset.cpus']),
    cpuunits: unitsBack(shares, saved.cpuunits, cpuShares, (v) => Math.round((v * 1000) / 1024)),
  };
}

function kernelV2(f: Record<string, string | null>, saved: Resources): Kernel {
  const [quota, period] = (f['cpu.max'] ?? '').trim().split(/\s+/);
  const weight = v2Limit(f['cpu.weight']);
  return {
    ram: v2Limit(f['memory.max']),
    swap: v2Limit(f['memory.swap.max']),
    numproc: v2Limit(f['pids.max']),
    cpuPct: quota === 'max' ? null : quota && Number(period) > 0 ? (Number(quota) * 100) / Number(period) : undefined,
    cpuCount: cpuCount(f['cpuset.cpus']),
    cpuunits: unitsBack(weight, saved.cpuunits, cpuWeight, (v) => v * 10),
  };
}

/** cpuunits from cpu.shares or cpu.weight (lossy both ways): the saved value when it maps to the same. */
function unitsBack(
  v: number | null | undefined,
  saved: number | null,
  toKernel: (u: number | null) => number,
  back: (v: number) => number,
): number | undefined {
  if (typeof v !== 'number') return undefined;
  return toKernel(saved) === v ? (saved ?? 1000) : back(v);
}

function cpuCount(text: string | null | undefined): number | undefined {
  const n = parseCpuList(text ?? '').length;
  return n > 0 ? n : undefined;
}

/** How many CPUs a container with `cpus` gets (core/limits.ts cpusetCpus). */
const cpusetSize = (cpus: number | null, online: number) =>
  cpus === null ? online : Math.min(online, Math.max(1, Math.ceil(cpus)));

/**
 * --cpus and --cpulimit both end in one quota (the lower of the two) plus a CPU count: the pair
 * that explains what the kernel has, changing as few of the saved values as can; when none
 * does (the files were written by hand), the count and the quota as they are.
 */
function liveCpu(
  saved: Resources,
  pct: number | null,
  count: number,
  online: number,
): Pick<Resources, 'cpus' | 'cpulimit'> {
  const quota = (p: number | null) => (p === null ? null : Math.round(p * 10));
  const cpusOptions = [saved.cpus, count, null]; // --cpus takes whole CPUs
  const limitOptions = [saved.cpulimit, pct === null ? null : Math.round(pct), null];
  const pairs = cpusOptions
    .flatMap((cpus) => limitOptions.map((cpulimit) => ({ cpus, cpulimit })))
    .map((p) => ({ ...p, changes: Number(p.cpus !== saved.cpus) + Number(p.cpulimit !== saved.cpulimit) }))
    .sort((a, b) => a.changes - b.changes);
  const fits = pairs.find(
    (p) =>
      quota(cpuPercent({ ...saved, ...p })) === quota(pct) && cpusetSize(p.cpus, online) === count && p.cpulimit !== 0,
  );
  return fits
    ? { cpus: fits.cpus, cpulimit: fits.cpulimit }
    : { cpus: count, cpulimit: pct === null ? null : Math.round(pct) };
}

/**
 * A running container's resources as its cgroup files say (limitFiles names them; missing or
 * null: not read), on a host with `online` CPUs; what the files do not say stays as saved.
 */
export function liveResources(
  kind: 'v1' | 'v2',
  files: Record<string, string | null>,
  saved: Resources,
  online: number,
): Resources {
  const k = kind === 'v1' ? kernelV1(files, saved) : kernelV2(files, saved);
  const cpu =
    k.cpuPct === undefined || k.cpuCount === undefined || online < 1
      ? { cpus: saved.cpus, cpulimit: saved.cpulimit }
      : liveCpu(saved, k.cpuPct, k.cpuCount, online);
  return {
    ram: k.ram === undefined ? saved.ram : k.ram,
    swap: k.swap === undefined ? saved.swap : k.swap,
    numproc: k.numproc === undefined ? saved.numproc : k.numproc,
    cpuunits: k.cpuunits ?? saved.cpuunits,
    ...cpu,
  };
}

/** vzlist's uptime column: days, hours, minutes, seconds ("002d03h:04m:05s"). */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(Math.floor(s / 86400), 3)}d${p(Math.floor(s / 3600) % 24)}h:${p(Math.floor(s / 60) % 60)}m:${p(s % 60)}s`;
}
