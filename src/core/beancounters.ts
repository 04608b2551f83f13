// Resource accounting in OpenVZ's beancounter terms, from cgroup counters: per resource the
// amount held now, the most held since start (maxheld), the limit and how often the limit was
// hit (failcnt). Memory is in 4 KiB pages, as vzctl reports physpages and swappages, or in bytes
// for the metrics (Prometheus wants base units).
// Pure: the host reads the files, this turns their text into counters.

export interface Counter {
  resource: 'physpages' | 'swappages' | 'numproc' | 'oomkills' | 'cpu_seconds';
  held: number | null;
  maxheld: number | null;
  limit: number | null;
  failcnt: number | null;
}

/**
 * Counter files by name: v1 "controller/file", v2 "file"; null when absent. An events file may
 * hold the texts of several cgroups joined (host/cgroups.ts readCounterFiles): they are summed.
 */
export type CounterFiles = Record<string, string | null>;

export const V1_FILES = [
  'memory/memory.usage_in_bytes',
  'memory/memory.max_usage_in_bytes',
  'memory/memory.limit_in_bytes',
  'memory/memory.failcnt',
  'memory/memory.memsw.usage_in_bytes',
  'memory/memory.memsw.max_usage_in_bytes',
  'memory/memory.memsw.limit_in_bytes',
  'memory/memory.memsw.failcnt',
  'memory/memory.oom_control',
  'pids/pids.current',
  'pids/pids.max',
  'pids/pids.events',
  'cpuacct/cpuacct.usage',
] as const;

export const V2_FILES = [
  'memory.current',
  'memory.peak',
  'memory.max',
  'memory.events',
  'memory.swap.current',
  'memory.swap.peak',
  'memory.swap.max',
  'memory.swap.events',
  'pids.current',
  'pids.peak',
  'pids.max',
  'pids.events',
  'cpu.stat',
] as const;

/** How memory is counted: vzctl's 4 KiB pages, or bytes */
export type MemoryUnit = 'pages' | 'bytes';

const PAGE = 4096;
/** v1 reports "no limit" as the largest page-aligned signed 64-bit value */
const V1_UNLIMITED = 2 ** 62;

function num(text: string | null | undefined): number | null {
  const t = text?.trim();
  if (!t || t === 'max') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** "key value" lines (memory.events, pids.events, cpu.stat, oom_control), summed over the files joined. */
function field(text: string | null | undefined, key: string): number | null {
  const all = [...(text ?? '').matchAll(new RegExp(`^${key} (\\d+)$`, 'gm'))];
  return all.length ? all.reduce((sum, m) => sum + Number(m[1]), 0) : null;
}

/** CPU time in seconds, to the millisecond */
const seconds = (v: number | null, perSecond: number) =>
  v === null ? null : Math.round((v / perSecond) * 1000) / 1000;
const inUnit = (unit: MemoryUnit) => (bytes: number | null) =>
  bytes === null || unit === 'bytes' ? bytes : Math.ceil(bytes / PAGE);
const limitOf = (bytes: number | null) => (bytes === null || bytes >= V1_UNLIMITED ? null : bytes);
const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.max(0, a - b));

export function v1Counters(f: CounterFiles, unit: MemoryUnit = 'pages'): Counter[] {
  const pages = inUnit(unit);
  const mem = num(f['memory/memory.usage_in_bytes']);
  const memLimit = limitOf(num(f['memory/memory.limit_in_bytes']));
  const sw = num(f['memory/memory.memsw.usage_in_bytes']);
  const swLimit = limitOf(num(f['memory/memory.memsw.limit_in_bytes']));
  const cpu = num(f['cpuacct/cpuacct.usage']);
  return [
    {
      resource: 'physpages',
      held: pages(mem),
      maxheld: pages(num(f['memory/memory.max_usage_in_bytes'])),
      limit: pages(memLimit),
      failcnt: num(f['memory/memory.failcnt']),
    },
    {
      // v1 counts memory+swap together: swap is the difference
      resource: 'swappages',
      held: pages(diff(sw, mem)),
      maxheld: null,
      limit: pages(diff(swLimit, memLimit)),
      failcnt: num(f['memory/memory.memsw.failcnt']),
    },
    {
      resource: 'numproc',
      held: num(f['pids/pids.current']),
      maxheld: null,
      limit: num(f['pids/pids.max']),
      failcnt: field(f['pids/pids.events'], 'max'),
    },
    {
      resource: 'oomkills',
      held: field(f['memory/memory.oom_control'], 'oom_kill'),
      maxheld: null,
      limit: null,
      failcnt: null,
    },
    { resource: 'cpu_seconds', held: seconds(cpu, 1e9), maxheld: null, limit: null, failcnt: null },
  ];
}

export function v2Counters(f: CounterFiles, unit: MemoryUnit = 'pages'): Counter[] {
  const pages = inUnit(unit);
  const usec = field(f['cpu.stat'], 'usage_usec');
  return [
    {
      resource: 'physpages',
      held: pages(num(f['memory.current'])),
      maxheld: pages(num(f['memory.peak'])),
      limit: pages(num(f['memory.max'])),
      failcnt: field(f['memory.events'], 'max'),
    },
    {
      resource: 'swappages',
      held: pages(num(f['memory.swap.current'])),
      maxheld: pages(num(f['memory.swap.peak'])),
      limit: pages(num(f['memory.swap.max'])),
      failcnt: field(f['memory.swap.events'], 'fail'),
    },
    {
      resource: 'numproc',
      held: num(f['pids.current']),
      maxheld: num(f['pids.peak']),
      limit: num(f['pids.max']),
      failcnt: field(f['pids.events'], 'max'),
    },
    { resource: 'oomkills', held: field(f['memory.events'], 'oom_kill'), maxheld: null, limit: null, failcnt: null },
    { resource: 'cpu_seconds', held: seconds(usec, 1e6), maxheld: null, limit: null, failcnt: null },
  ];
}
