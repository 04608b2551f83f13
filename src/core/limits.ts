// Resources -> cgroup file writes, for the v1 (per-controller hierarchies) and v2 (unified) layouts.
import type { Resources } from './ct-config.ts';

export interface CgroupWrite {
  /** v1: the controller whose hierarchy holds the file; v2: always 'unified' */
  controller: string;
  file: string;
  value: string;
  /** a missing file is skipped when the value asks for no limit (e.g. no swap accounting) */
  optional?: boolean;
  /**
   * also written to the container's own cgroup, below the one that enforces it: lxcfs reads the
   * CPU quota and the cpuset from the reader's cgroup only (memory it looks up the tree for)
   */
  inner?: boolean;
}

export const CPU_PERIOD_US = 100_000;

/** The CPU ceiling in percent of one CPU: the lower of --cpulimit and --cpus x 100. */
export function cpuPercent(r: Resources): number | null {
  const caps = [r.cpulimit, r.cpus === null ? null : r.cpus * 100].filter((v): v is number => v !== null);
  return caps.length ? Math.min(...caps) : null;
}

export function cpuShares(units: number | null): number {
  return Math.min(262144, Math.max(2, Math.round(((units ?? 1000) * 1024) / 1000)));
}

export function cpuWeight(units: number | null): number {
  return Math.min(10000, Math.max(1, Math.round((units ?? 1000) / 10)));
}

/** "0-3,5" (the kernel's list format) -> [0, 1, 2, 3, 5] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let c = a; c <= end; c++) out.push(c);
  }
  return out;
}

/**
 * The CPUs a container may run on: with --cpus N, N of the host's online CPUs (as with
 * OpenVZ, the container then sees N CPUs: nproc, sched_getaffinity, lxcfs's cpuinfo), picked
 * from a place that SEED (a hash of the CTID) spreads over the host, so that containers with
 * one CPU each do not all share the first. Without --cpus, or with as many as the host has:
 * all of them.
 */
export function cpusetCpus(cpus: number | null, online: readonly number[], seed: number): string {
  const n = cpus === null ? online.length : Math.min(online.length, Math.max(1, Math.ceil(cpus)));
  const start = n >= online.length ? 0 : seed % online.length;
  const pick = Array.from({ length: n }, (_, k) => online[(start + k) % online.length] as number).sort((a, b) => a - b);
  return pick.join(',');
}

/** The cpuset write of a container (both layouts); null when the host's CPUs are unknown. */
function cpusetWrite(controller: string, cpuset: string | undefined): CgroupWrite[] {
  return cpuset ? [{ controller, file: 'cpuset.cpus', value: cpuset, optional: true, inner: true }] : [];
}

export function limitsV1(r: Resources, cpuset?: string): CgroupWrite[] {
  const pct = cpuPercent(r);
  const memsw = r.ram === null || r.swap === null ? '-1' : String(r.ram + r.swap);
  return [
    { controller: 'memory', file: 'memory.limit_in_bytes', value: r.ram === null ? '-1' : String(r.ram) },
    {
      controller: 'memory',
      file: 'memory.memsw.limit_in_bytes',
      value: memsw,
      optional: memsw === '-1',
    },
    { controller: 'pids', file: 'pids.max', value: r.numproc === null ? 'max' : String(r.numproc) },
    { controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US), inner: true },
    {
      controller: 'cpu',
      file: 'cpu.cfs_quota_us',
      value: pct === null ? '-1' : String(Math.round((pct * CPU_PERIOD_US) / 100)),
      inner: true,
    },
    { controller: 'cpu', file: 'cpu.shares', value: String(cpuShares(r.cpuunits)) },
    ...cpusetWrite('cpuset', cpuset),
  ];
}

export function limitsV2(r: Resources, cpuset?: string): CgroupWrite[] {
  const pct = cpuPercent(r);
  const u = 'unified';
  return [
    { controller: u, file: 'memory.max', value: r.ram === null ? 'max' : String(r.ram) },
    {
      controller: u,
      file: 'memory.swap.max',
      value: r.swap === null ? 'max' : String(r.swap),
      optional: r.swap === null,
    },
    { controller: u, file: 'pids.max', value: r.numproc === null ? 'max' : String(r.numproc) },
    {
      controller: u,
      file: 'cpu.max',
      value: `${pct === null ? 'max' : Math.round((pct * CPU_PERIOD_US) / 100)} ${CPU_PERIOD_US}`,
      inner: true,
    },
    { controller: u, file: 'cpu.weight', value: String(cpuWeight(r.cpuunits)) },
    ...cpusetWrite(u, cpuset),
  ];
}
