// Checkpoints (issue 17, docs/design/criu-recipe.md): what CRIU must be told about a berth
// container, the dump and restore argv, and the meta file kept beside the images (pure).
import { BerthError } from './errors.ts';
import type { MountOp } from './mounts.ts';

/** The file beside CRIU's images that says what they are of; restore refuses a mismatch. */
export const META_FILE = 'berth-meta.json';
export const DUMP_LOG = 'dump.log';
export const RESTORE_LOG = 'restore.log';
/** where criu finds the console's new pty slave (its --inherit-fd), given by the helper */
export const CRIU_TTY_FD = 9;
/** the most enter sessions a checkpoint carries (the keeper's slots: helper/keeper.h) */
export const MAX_SESSIONS = 16;

/** An enter session carried by a checkpoint: its number (enter --attach N) and its pty's key. */
export interface CarriedSession {
  n: number;
  tty: string;
}

const TTY_KEY = /^tty\[[0-9a-f]+:[0-9a-f]+\]$/;

function isSessions(v: unknown): v is CarriedSession[] {
  if (!Array.isArray(v) || v.length > MAX_SESSIONS) return false;
  const nums = new Set<number>();
  for (const e of v as Partial<CarriedSession>[]) {
    if (typeof e !== 'object' || e === null || !Number.isInteger(e.n) || typeof e.tty !== 'string') return false;
    if ((e.n as number) < 1 || (e.n as number) > MAX_SESSIONS || nums.has(e.n as number) || !TTY_KEY.test(e.tty))
      return false;
    nums.add(e.n as number);
  }
  return true;
}

/** A mount CRIU cannot make itself: key (the container path) and its source on this host. */
export interface ExternalMount {
  dest: string;
  /** the host path bound there at start; null: a mask, /dev/null or (dir) an empty directory */
  source: string | null;
  /** a masked directory: restored as a bind of berth's empty directory (maskDirPath) */
  dir?: boolean;
  /** an unprivileged container's BINDMOUNT, bound idmapped: restored from the helper's copy */
  idmapped?: boolean;
}

/**
 * A container's own sub-cgroups without tasks, relative to its inner cgroup, by hierarchy
 * (cgroupTreeKey): restore makes them before CRIU, which makes only the cgroups of its tasks.
 */
export type CgroupTree = Record<string, string[]>;

/** At most this many sub-cgroups are carried (a systemd guest has some 10 to 50). */
export const MAX_TREE_DIRS = 2000;

/** A hierarchy's key in a CgroupTree: "cgroup2", "name=systemd"; null for v1 controllers (berth's). */
export function cgroupTreeKey(fstype: string, mountOptions: string, controllers: readonly string[]): string | null {
  if (fstype === 'cgroup2') return 'cgroup2';
  if (controllers.length) return null;
  return /(?:^|,)(name=[^,]+)/.exec(mountOptions)?.[1] ?? null;
}

/** One relative cgroup path: names of up to 255 bytes without "/" or NUL, never "." or "..". */
function isCgroupPath(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) return false;
  return v.split('/').every((n) => n !== '' && n !== '.' && n !== '..' && n.length <= 255 && !n.includes('\0'));
}

/** An uploaded checkpoint's tree is hostile: paths stay below the inner cgroup, and few. */
function isCgroupTree(v: unknown): v is CgroupTree {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const [key, rels] of Object.entries(v)) {
    if (key !== 'cgroup2' && !/^name=[A-Za-z0-9_.-]{1,64}$/.test(key)) return false;
    if (!Array.isArray(rels) || !rels.every(isCgroupPath)) return false;
    n += rels.length;
  }
  return n <= MAX_TREE_DIRS;
}

export interface CheckpointMeta {
  version: 1;
  ctid: string;
  /** CRIU's key of the console's pty slave: tty[RDEV:DEV] in hex (restore's --inherit-fd) */
  tty: string;
  idBase: number | null;
  layout: string;
  ips: string[];
  stopSignal: number;
  /** the running state's nesting (false: its filter refuses new UTS/IPC namespaces), restored with it */
  nesting?: boolean | undefined;
  /** its init's sub-cgroups without tasks (absent: none, or an older berth's checkpoint) */
  cgroups?: CgroupTree | undefined;
  /** enter sessions whose shells it holds (absent: none) */
  sessions?: CarriedSession[] | undefined;
  externals: ExternalMount[];
  criu: string;
  kernel: string;
  created: string;
}

/**
 * The mounts of start's plan that CRIU must take as external: binds of host files (lxcfs's
 * files, device nodes) and masks. MASKS: the masks in place in init's mountinfo (maskedIn;
 * the helper skips absent paths). A masked directory is an empty tmpfs, which CRIU would
 * otherwise dump and restore with a tar run each (some 15 ms apiece, five of them on most
 * hosts, inside a migration's freeze): nothing of it needs keeping.
 */
export function externalMounts(plan: readonly MountOp[], masks: ReadonlyMap<string, 'file' | 'dir'>): ExternalMount[] {
  const out: ExternalMount[] = [];
  for (const op of plan) {
    const mask = op.op === 'mask' ? masks.get(op.dest) : undefined;
    if (op.op === 'bind') out.push({ dest: op.dest, source: op.source });
    else if (op.op === 'bind-idmapped') out.push({ dest: op.dest, source: op.source, idmapped: true });
    else if (mask === 'file') out.push({ dest: op.dest, source: null });
    else if (mask === 'dir') out.push({ dest: op.dest, source: null, dir: true });
    else if (op.op === 'mount-staged') {
      // berth-oci's pod mqueue: OCI containers are not checkpointed by berth
      throw new BerthError('CHKPNT', `chkpnt: ${op.dest}: a staged mount cannot be checkpointed`);
    }
  }
  return out;
}

/**
 * The checkpoint's external mounts with this host's sources, from this host's own mount plan
 * (EXTERNALS: this host's, from externalMounts): a dump from another host names its paths
 * (another prefix), and an uploaded one is hostile: a source is never taken from it.
 */
export function localExternals(dumped: readonly ExternalMount[], local: readonly ExternalMount[]): ExternalMount[] {
  return dumped.map((m) => {
    if (m.source === null) return m;
    const here = local.find((l) => l.dest === m.dest);
    if (!here) {
      throw new BerthError('RESTORE', `restore: the checkpoint binds ${m.dest}, which this host's mounts do not`, {
        hint: 'lxcfs, the nesting feature, DEVNODES or BINDMOUNT differ between the hosts or since the dump',
      });
    }
    return here;
  });
}

/**
 * The masks in a mountinfo text, by mount point: a bind of /dev/null is a masked file; an
 * empty tmpfs of no size and mode 000 (the helper's mask of a directory; one the container
 * made itself holds nothing either) or the restore stage's empty directory is a masked one.
 */
export function maskedIn(mountinfo: string): Map<string, 'file' | 'dir'> {
  const out = new Map<string, 'file' | 'dir'>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    const f = left?.split(' ') ?? [];
    const [fstype = '', , opts = ''] = right?.split(' ') ?? [];
    const super_ = opts.split(',');
    if (!f[4]) continue;
    if (f[3] === '/null' && fstype === 'devtmpfs') out.set(f[4], 'file');
    else if (fstype === 'tmpfs' && f[3] === '/' && super_.includes('size=0k') && super_.includes('mode=000'))
      out.set(f[4], 'dir');
    // berth's empty directory (maskDirPath) below /run's mount, or the root's where /run is none
    else if (/^(\/run)?\/berth(-[0-9a-f]+)?-masked-dir$/.test(f[3] ?? '')) out.set(f[4], 'dir');
  }
  return out;
}

/** CRIU's key of a tty from its rdev and dev (criu/tty.c: tty[%llx:%llx]). */
export function ttyKey(rdev: number, dev: number): string {
  return `tty[${rdev.toString(16)}:${dev.toString(16)}]`;
}

export interface DumpPlan {
  pid: number;
  dir: string;
  /** the container's freezer cgroup (v1): CRIU freezes it whole instead of seizing task by task */
  freezer: string | null;
  externals: readonly ExternalMount[];
  tty: string;
  /** the ptys of enter sessions, whose masters are outside (CRIU's external ttys) */
  sessionTtys?: readonly string[];
}

/**
 * Where CRIU also looks for the directories of inotify watches it cannot open by handle (an
 * overlay root mounted without nfs_export gives no usable handles): its built-in hints cover
 * /etc, /var/spool, /var/log, /lib/udev and dbus's service directories but not dbus-daemon's
 * policy directory /usr/share/dbus-1/system.d, which every systemd guest watches, nor the zone
 * file that systemd's watch of /etc/localtime lands on once a restore has followed the link.
 * Listed paths are scanned first, whole, inside the frozen container: keep them small.
 */
export const IRMAP_SCAN_PATHS = ['/usr/share/dbus-1', '/usr/share/polkit-1', '/usr/share/zoneinfo'] as const;

export function dumpArgs(p: DumpPlan): string[] {
  return [
    'dump',
    '-t',
    String(p.pid),
    '-D',
    p.dir,
    '-o',
    DUMP_LOG,
    '-v4',
    ...(p.freezer ? ['--freeze-cgroup', p.freezer] : []),
    ...p.externals.flatMap((m) => ['--external', `mnt[${m.dest}]:${m.dest}`]),
    '--external',
    'mnt[/dev/console]:console',
    '--external',
    p.tty,
    ...(p.sessionTtys ?? []).flatMap((t) => ['--external', t]),
    '--tcp-established',
    ...IRMAP_SCAN_PATHS.flatMap((d) => ['--irmap-scan-path', d]),
  ];
}

export interface RestorePlan {
  dir: string;
  root: string;
  /** the container's cgroup below the parent, as CRIU sees it: /PARENT/CTID/ns */
  cgroupRoot: string;
  meta: CheckpointMeta;
  /** the helper's staging dir: lxcfs's files bound at STAGE/lxcfs, a devpts at STAGE/pts */
  stage: string;
  /** lxcfs's mount point at start (its files' sources start with it) */
  lxcfsDir: string | null;
  /** an unprivileged container's own device nodes, by source: the helper binds each at STAGE/dev/NAME */
  devices: ReadonlyArray<{ source: string; name: string }>;
  /** the sources of idmapped binds, in order: the helper attaches a copy of the Nth at STAGE/bind/N */
  binds: readonly string[];
  /** berth's empty directory, bound where a directory was masked (maskDirPath) */
  maskDir: string;
  /** the fd the console's new pty slave has in CRIU */
  ttyFd: number;
  /** the pty's number in the staged devpts (helper: --console-pty N) */
  pty: string;
  /** the container's interfaces CRIU moves in: its name inside, the waiting end's name here */
  netdevs: ReadonlyArray<{ inside: string; here: string }>;
  /** the memory CRIU marked lazy comes later, from a lazy-pages daemon serving DIR (post-copy) */
  lazy?: boolean;
}

/** The source of an external mount on restore: lxcfs's files through the stage (see recipe §4). */
function restoreSource(m: ExternalMount, p: RestorePlan): string {
  if (m.source === null) return m.dir ? p.maskDir : '/dev/null';
  const dev = p.devices.find((d) => d.source === m.source);
  if (dev) return `${p.stage}/dev/${dev.name}`;
  if (m.idmapped) return `${p.stage}/bind/${p.binds.indexOf(m.source)}`;
  if (p.lxcfsDir && m.source.startsWith(`${p.lxcfsDir}/`))
    return `${p.stage}/lxcfs${m.source.slice(p.lxcfsDir.length)}`;
  return m.source;
}

export function restoreArgs(p: RestorePlan): string[] {
  return [
    'restore',
    '-D',
    p.dir,
    '-o',
    RESTORE_LOG,
    '-v4',
    '--root',
    p.root,
    '-d',
    '--pidfile',
    `${p.dir}/restored.pid`,
    '--manage-cgroups=soft',
    '--cgroup-root',
    p.cgroupRoot,
    '--inherit-fd',
    `fd[${p.ttyFd}]:${p.meta.tty}`,
    // the sessions' new slaves follow the console's (helper: --criu-session, in this order)
    ...(p.meta.sessions ?? []).flatMap((s, k) => ['--inherit-fd', `fd[${p.ttyFd + 1 + k}]:${s.tty}`]),
    ...p.meta.externals.flatMap((m) => ['--external', `mnt[${m.dest}]:${restoreSource(m, p)}`]),
    '--external',
    `mnt[console]:${p.stage}/pts/${p.pty}`,
    ...p.netdevs.flatMap((d) => ['--external', `netdev[${d.inside}]:${d.here}`]),
    '--tcp-established',
    ...(p.lazy ? ['--lazy-pages'] : []),
  ];
}

/** Reads a meta file's text; anything else is a damaged or foreign dump directory. */
export function parseMeta(text: string, where: string): CheckpointMeta {
  let m: Partial<CheckpointMeta>;
  try {
    m = JSON.parse(text) as Partial<CheckpointMeta>;
  } catch {
    throw new BerthError('RESTORE', `restore: ${where}: not a berth checkpoint (its ${META_FILE} is not JSON)`);
  }
  const ok =
    m.version === 1 &&
    typeof m.ctid === 'string' &&
    typeof m.tty === 'string' &&
    TTY_KEY.test(m.tty) &&
    (m.sessions === undefined || isSessions(m.sessions)) &&
    (m.idBase === null || Number.isInteger(m.idBase)) &&
    typeof m.layout === 'string' &&
    Array.isArray(m.ips) &&
    Array.isArray(m.externals) &&
    (m.nesting === undefined || typeof m.nesting === 'boolean') &&
    (m.cgroups === undefined || isCgroupTree(m.cgroups)) &&
    typeof m.criu === 'string';
  if (!ok) throw new BerthError('RESTORE', `restore: ${where}: ${META_FILE} is incomplete or of another version`);
  return m as CheckpointMeta;
}

/** The container as it is now must be the one dumped; CRIU must be as new as the dumping one. */
export function checkMeta(
  m: CheckpointMeta,
  now: { ctid: string; idBase: number | null; layout: string; criu: string },
  where: string,
): void {
  const fail = (why: string, hint?: string) =>
    new BerthError('RESTORE', `restore ${now.ctid}: ${where}: ${why}`, hint ? { hint } : {});
  if (m.ctid !== now.ctid)
    throw fail(`a checkpoint of container ${m.ctid}`, `berth restore ${m.ctid} --dumpfile ${where}`);
  if (m.idBase !== now.idBase) {
    throw fail(`dumped with ID_BASE ${m.idBase ?? 'none'}, the container has ${now.idBase ?? 'none'}`);
  }
  if (m.layout !== now.layout) throw fail(`dumped with layout ${m.layout}, the container has ${now.layout}`);
  if (compareVersions(now.criu, m.criu) < 0) {
    throw fail(`dumped by CRIU ${m.criu}, this host has ${now.criu}`, 'run ./setup-criu.sh');
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * The empty directory a restored container's masked directories are binds of: root's, mode
 * 000 (a container that remounts one writable can still put nothing in it), never removed
 * while its containers may run (CRIU cannot dump a bind of a deleted directory as external:
 * it re-creates it). Under the host's /run (0755), which the restored tasks (host uid BASE) pass.
 */
export const maskDirPath = (cgroupParent: string): string => `/run/${cgroupParent}-masked-dir`;
