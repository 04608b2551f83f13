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

/** The cgroup2 mount options that are host-wide settings of its one superblock. */
const CGROUP2_ROOT_FLAGS = [
  'nsdelegate',
  'favordynmods',
  'memory_localevents',
  'memory_recursiveprot',
  'memory_hugetlb_accounting',
  'pids_localevents',
];

/**
 * The host's cgroup2 mount and its superblock flags, from a mountinfo text (null: no cgroup2).
 * lxcfs mounts cgroup2 for itself with no options, and a mount in the host's cgroup namespace
 * sets the superblock's flags to its own: these are what to give back after it starts.
 */
export function cgroup2Flags(mountinfo: string): { target: string; flags: string[] } | null {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const fs = right?.split(' ');
    if (!left || fs?.[0] !== 'cgroup2') continue;
    const target = left.split(' ')[4] ?? '';
    const flags = (fs[2] ?? '').split(',').filter((o) => CGROUP2_ROOT_FLAGS.includes(o));
    return {
      target: target.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      flags,
    };
  }
  return null;
}
