// Mount facts from /proc/self/mountinfo: a file read, no helper (the read-only verbs load this,
// not mounts.ts).
import type { Host } from './host.ts';

export function readMountinfo(host: Host): string {
  return host.readProc('self/mountinfo') ?? '';
}

function unescapeOctal(s: string): string {
  return s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The mount points of a mountinfo text, unescaped. */
export function mountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const l of mountinfo.split('\n')) {
    const mp = l.split(' ')[4];
    if (mp) out.add(unescapeOctal(mp));
  }
  return out;
}

/** Whether something is mounted at path in a mountinfo text (readMountinfo: now). */
export function isMounted(path: string, mountinfo: string): boolean {
  return mountPoints(mountinfo).has(path);
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
    return { target: unescapeOctal(target), flags };
  }
  return null;
}

/**
 * The filesystem type and superblock options of the last mount at PATH (the one on top), or
 * null: how berth-oci finds that an image's root is an overlay, and its layers.
 */
export function mountAt(path: string, mountinfo: string): { fstype: string; options: string } | null {
  let found: { fstype: string; options: string } | null = null;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const fs = right?.split(' ');
    if (!left || !fs || unescapeOctal(left.split(' ')[4] ?? '') !== path) continue;
    found = { fstype: fs[0] ?? '', options: unescapeOctal(fs[2] ?? '') };
  }
  return found;
}
