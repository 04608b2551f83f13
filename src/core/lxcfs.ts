// What a container's /proc and /sys show from lxcfs: its own memory, CPUs, uptime, load and
// disk figures instead of the host's (free, top, uptime, nproc). lxcfs answers each read with
// the figures of the reader's cgroups and pid namespace.

/** The /proc files lxcfs virtualizes that berth binds over the container's own procfs. */
export const LXCFS_PROC = ['cpuinfo', 'diskstats', 'loadavg', 'meminfo', 'stat', 'swaps', 'uptime'] as const;
/** And in sysfs: the online CPUs (what glibc's sysconf(_SC_NPROCESSORS_ONLN) reads). */
export const LXCFS_SYS = ['devices/system/cpu/online'] as const;

/** A running lxcfs: its mount point, and which of the files above it serves. */
export interface LxcfsView {
  dir: string;
  proc: readonly string[];
  sys: readonly string[];
}

/** LXCFS from berth.conf: yes (the default) or no. */
export function lxcfsWanted(raw: string | undefined): boolean {
  return raw !== 'no';
}
