// The mount plan of a container: what its root looks like, in the order berth-nsexec builds it.
import { DEFAULT_DEVICES, type HostDevice } from './devices.ts';
import type { LxcfsView } from './lxcfs.ts';

export type MountOp =
  | { op: 'mount'; fstype: string; source: string; dest: string; options: string }
  | { op: 'bind'; source: string; dest: string; options: string }
  /** an idmapped copy of a host tree, staged by the helper at STAGE for the clone (BINDMOUNT) */
  /** loose: the plain bind where the source's filesystem cannot be idmapped (berth-oci's binds) */
  | { op: 'bind-idmapped'; source: string; stage: string; dest: string; options: string; loose?: boolean }
  /** a new FSTYPE mounted by the helper's parent at STAGE (in the namespaces it joined), bound at DEST */
  | { op: 'mount-staged'; fstype: string; stage: string; dest: string; options: string }
  | { op: 'rebind'; dest: string; options: string }
  | { op: 'remount'; dest: string; options: string }
  | { op: 'mask'; dest: string }
  | { op: 'symlink'; target: string; dest: string }
  | { op: 'mkdir'; dest: string; mode: string }
  | { op: 'write'; dest: string; content: string }
  /** a node made in the root: NODE is "TYPE MAJOR MINOR MODE UID GID", mode in octal (OCI linux.devices) */
  | { op: 'mknod'; dest: string; node: string }
  /** berth's marked block in a file the container also edits (helper --block) */
  | { op: 'block'; dest: string; content: string }
  /** a pty of the container's own devpts on DEST, its master for the keeper (helper --console) */
  /** own: a devpts instance of its own (berth's containers), else a pty of /dev/pts (OCI's) */
  | { op: 'console'; dest: string; own?: boolean };

/** A cgroup hierarchy to show inside the container (its cgroup namespace makes it the CT's own). */
/** A file written inside the container (by the helper, resolved in its root). */
export interface ContainerFile {
  dest: string;
  content: string;
}

export interface CgroupMount {
  /** directory under /sys/fs/cgroup, '' for a pure v2 host (mounted on /sys/fs/cgroup itself) */
  name: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1 super options: the controller list or name=systemd */
  options: string;
  /** systemd needs its own hierarchies writable; resource controllers stay read-only */
  writable: boolean;
}

export interface MountPlanInput {
  cgroups: readonly CgroupMount[];
  hostname: string;
  /** files berth writes into the container at every start (resolv.conf, network config) */
  files?: readonly ContainerFile[];
  /** berth's blocks in files the container also edits (/etc/hosts) */
  blocks?: readonly ContainerFile[];
  /** lxcfs's files over /proc and /sys (the container's own figures); null without lxcfs */
  lxcfs?: LxcfsView | null;
  /** DEVNODES: more host nodes in its /dev */
  devices?: readonly HostDevice[];
  /** BINDMOUNT: host paths, with their stage for an unprivileged container (null: privileged) */
  binds?: readonly { source: string; stage: string | null; dest: string; options: string }[];
  /** FEATURES nesting: an unmasked proc and sysfs under NESTING_DIR */
  nesting?: boolean;
}

/** Where nesting shows an unmasked proc and sysfs (LXC's /dev/.lxc/{proc,sys}). */
export const NESTING_DIR = '/dev/.berth';

/** Host-sensitive /proc entries: hidden entirely. */
export const PROC_MASKS = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/kmsg',
  '/proc/acpi',
  '/proc/scsi',
  '/proc/latency_stats',
  '/proc/mpt',
  '/proc/kpageflags',
  '/proc/kpagecount',
  '/proc/kpagecgroup',
  '/sys/firmware',
  '/sys/kernel/debug',
  '/sys/kernel/security',
  '/sys/kernel/tracing',
];

/** Visible but read-only: writing them would change the host kernel. */
export const PROC_READONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];

const NOSUID_NODEV_NOEXEC = 'nosuid,nodev,noexec';

/** lxcfs's files over the container's own /proc or /sys ones. */
export function lxcfsBinds(lxcfs: LxcfsView | null | undefined, under: 'proc' | 'sys'): MountOp[] {
  return (lxcfs?.[under] ?? []).map((f) => ({
    op: 'bind',
    source: `${lxcfs?.dir}/${under}/${f}`,
    dest: `/${under}/${f}`,
    options: NOSUID_NODEV_NOEXEC,
  }));
}

/** The usual device nodes in a /dev of the container's own, bound from the host's (a user namespace may not mknod). */
export const DEFAULT_DEVICE_BINDS: readonly MountOp[] = DEFAULT_DEVICES.map((d) => ({
  op: 'bind',
  source: d.path,
  dest: d.path,
  options: 'nosuid,noexec',
}));

/** The links of a /dev of the container's own to its process's fds (runc makes the same). */
export const DEV_LINKS: readonly MountOp[] = [
  { op: 'symlink', target: '/proc/self/fd', dest: '/dev/fd' },
  { op: 'symlink', target: '/proc/self/fd/0', dest: '/dev/stdin' },
  { op: 'symlink', target: '/proc/self/fd/1', dest: '/dev/stdout' },
  { op: 'symlink', target: '/proc/self/fd/2', dest: '/dev/stderr' },
];

export function planMounts(input: MountPlanInput): MountOp[] {
  const ops: MountOp[] = [
    { op: 'mount', fstype: 'proc', source: 'proc', dest: '/proc', options: NOSUID_NODEV_NOEXEC },
    ...lxcfsBinds(input.lxcfs, 'proc'),
    // /proc/sys/net belongs to the container's own network namespace: keep it writable, and bind
    // it first so the read-only bind of /proc/sys (recursive) carries it along.
    { op: 'rebind', dest: '/proc/sys/net', options: NOSUID_NODEV_NOEXEC },
    ...PROC_READONLY.map((dest): MountOp => ({ op: 'rebind', dest, options: `ro,${NOSUID_NODEV_NOEXEC}` })),
    { op: 'mount', fstype: 'sysfs', source: 'sysfs', dest: '/sys', options: `ro,${NOSUID_NODEV_NOEXEC}` },
    ...lxcfsBinds(input.lxcfs, 'sys'),
    ...PROC_MASKS.map((dest): MountOp => ({ op: 'mask', dest })),
    { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dest: '/dev', options: 'nosuid,mode=755,size=65536k' },
    ...DEFAULT_DEVICE_BINDS,
    ...(input.devices ?? []).map(
      (d): MountOp => ({ op: 'bind', source: d.source, dest: `/dev/${d.name}`, options: 'nosuid,noexec' }),
    ),
    {
      op: 'mount',
      fstype: 'devpts',
      source: 'devpts',
      dest: '/dev/pts',
      options: 'nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5',
    },
    // its console is pty 0 of a devpts of its own (apart from /dev/pts: checkpoints need that,
    // helper/rootops.c); the keeper on the host holds the master
    { op: 'console', dest: '/dev/console', own: true },
    { op: 'symlink', target: 'pts/ptmx', dest: '/dev/ptmx' },
    { op: 'mount', fstype: 'tmpfs', source: 'shm', dest: '/dev/shm', options: 'nosuid,nodev,mode=1777' },
    { op: 'mount', fstype: 'mqueue', source: 'mqueue', dest: '/dev/mqueue', options: NOSUID_NODEV_NOEXEC },
    ...DEV_LINKS,
    // a user namespace may mount a new proc or sysfs only where one is fully visible
    // (mount_too_revealing), and /proc and /sys carry masks; a nested mount keeps these flags
    ...(input.nesting
      ? ([
          { op: 'mount', fstype: 'proc', source: 'proc', dest: `${NESTING_DIR}/proc`, options: NOSUID_NODEV_NOEXEC },
          // read-only like /sys, whose superblock it shares
          {
            op: 'mount',
            fstype: 'sysfs',
            source: 'sysfs',
            dest: `${NESTING_DIR}/sys`,
            options: `ro,${NOSUID_NODEV_NOEXEC}`,
          },
        ] as const)
      : []),
    ...(input.binds ?? []).map(
      (b): MountOp =>
        b.stage === null
          ? { op: 'bind', source: b.source, dest: b.dest, options: `${b.options},rec` }
          : { op: 'bind-idmapped', source: b.source, stage: b.stage, dest: b.dest, options: b.options },
    ),
    // last, so the helper builds everything else while the kernel moves it into its cgroups
    ...cgroupOps(input.cgroups),
    // systemd reads /etc/hostname at boot and would otherwise set the template's name
    { op: 'write', dest: '/etc/hostname', content: `${input.hostname}\n` },
    ...(input.files ?? []).map((f) => ({ op: 'write', dest: f.dest, content: f.content }) as const),
    ...(input.blocks ?? []).map((f) => ({ op: 'block', dest: f.dest, content: f.content }) as const),
  ];
  return ops;
}

/** The cgroup hierarchies at /sys/fs/cgroup (its tmpfs on v1), read-only but the writable ones. */
export function cgroupOps(cgroups: readonly CgroupMount[]): MountOp[] {
  const v2root = cgroups.find((c) => c.name === '');
  if (v2root) {
    // read-only unless the container's own (berth-oci without a cgroup namespace: the host's tree)
    const ro = v2root.writable ? '' : 'ro,';
    return [
      {
        op: 'mount',
        fstype: 'cgroup2',
        source: 'cgroup2',
        dest: '/sys/fs/cgroup',
        options: `${ro}${NOSUID_NODEV_NOEXEC}`,
      },
    ];
  }
  const ops: MountOp[] = [
    {
      op: 'mount',
      fstype: 'tmpfs',
      source: 'cgroup',
      dest: '/sys/fs/cgroup',
      options: `${NOSUID_NODEV_NOEXEC},mode=755`,
    },
  ];
  for (const c of cgroups) {
    const dest = `/sys/fs/cgroup/${c.name}`;
    const ro = c.writable ? '' : 'ro,';
    ops.push({
      op: 'mount',
      fstype: c.fstype,
      source: 'cgroup',
      dest,
      options: `${ro}${NOSUID_NODEV_NOEXEC}${c.options ? `,${c.options}` : ''}`,
    });
  }
  ops.push({ op: 'remount', dest: '/sys/fs/cgroup', options: `ro,${NOSUID_NODEV_NOEXEC},mode=755` });
  return ops;
}
