// Cgroup drivers: the hybrid/legacy v1 layout (one hierarchy per controller set) and pure v2.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Resources } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { fnv1a } from '../core/hash.ts';
import type { SysinfoSource } from '../core/keeper.ts';
import { type CgroupWrite, cpusetCpus, limitsV1, limitsV2, parseCpuList } from '../core/limits.ts';
import type { CgroupMount } from '../core/mounts.ts';
import { errCode, errText } from './fs-util.ts';
import type { Host } from './host.ts';

export interface Hierarchy {
  mountPoint: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1 controllers of this hierarchy ([] for name=systemd and for cgroup2) */
  controllers: string[];
  /** what to pass to mount(2) for the same hierarchy inside a container */
  mountOptions: string;
  /** the hierarchy-wide flags among its mount options (nsdelegate, pids_localevents, ...) */
  flags: string[];
}

export interface CgroupLayout {
  kind: 'v1' | 'v2';
  hierarchies: Hierarchy[];
}

/** A container's directory in one hierarchy. */
export interface CgroupDir {
  hierarchy: Hierarchy;
  path: string;
}

const NOT_CONTROLLERS = new Set([
  'rw',
  'ro',
  'noprefix',
  'clone_children',
  'xattr',
  'cpuset_v2_mode',
  'nsdelegate',
  'memory_recursiveprot',
  'memory_localevents',
  'favordynmods',
  'memory_hugetlb_accounting',
  'pids_localevents',
]);

/**
 * Reads the cgroup mounts of /proc/self/mountinfo ("generic: mount what the host has"): one
 * entry a hierarchy. A hierarchy mounted twice (the same superblock, major:minor) counts once,
 * at its place under /sys/fs/cgroup when it has one, else a mount of its root, else the first:
 * CRIU's cgroup yard, another runtime's mount or an admin's bind elsewhere is a transient second
 * view, and creating cgroups through it once made a start fail when CRIU unmounted it.
 */
export function detectLayout(mountinfo: string): CgroupLayout {
  const best = new Map<string, { h: Hierarchy; rank: number; order: number }>();
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [, , dev = '', root = '', rawPoint = ''] = left.split(' ');
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountPoint = rawPoint.replace(/\\040/g, ' ');
    // a point mounted over keeps its first cgroup mount, as before
    if (points.has(mountPoint)) continue;
    points.add(mountPoint);
    const rank =
      (mountPoint === '/sys/fs/cgroup' || mountPoint.startsWith('/sys/fs/cgroup/') ? 2 : 0) + (root === '/' ? 1 : 0);
    const seen = best.get(dev);
    if (seen && seen.rank >= rank) continue;
    const all = superOpts.split(',');
    const words = all.filter((w) => !NOT_CONTROLLERS.has(w) && !w.startsWith('release_agent='));
    const h: Hierarchy = {
      mountPoint,
      fstype,
      controllers: fstype === 'cgroup' ? words.filter((w) => !w.startsWith('name=')) : [],
      mountOptions: fstype === 'cgroup' ? words.join(',') : '',
      flags: all.filter((w) => NOT_CONTROLLERS.has(w) && w !== 'rw' && w !== 'ro'),
    };
    best.set(dev, { h, rank, order: seen?.order ?? best.size });
  }
  const hierarchies = [...best.values()].sort((x, y) => x.order - y.order).map((b) => b.h);
  const pure = hierarchies.find((h) => h.fstype === 'cgroup2' && h.mountPoint === '/sys/fs/cgroup');
  if (pure) return { kind: 'v2', hierarchies: [pure] };
  return { kind: 'v1', hierarchies };
}

export function ctDirs(layout: CgroupLayout, parent: string, id: string): CgroupDir[] {
  return layout.hierarchies.map((h) => ({ hierarchy: h, path: join(h.mountPoint, parent, id) }));
}

/** How the container sees the hierarchies (mounted under its own /sys/fs/cgroup). */
export function containerCgroupMounts(layout: CgroupLayout): CgroupMount[] {
  if (layout.kind === 'v2') return [{ name: '', fstype: 'cgroup2', options: '', writable: true }];
  return layout.hierarchies
    .filter((h) => h.mountPoint.startsWith('/sys/fs/cgroup/'))
    .map((h) => ({
      name: basename(h.mountPoint),
      fstype: h.fstype,
      options: h.mountOptions,
      writable: h.fstype === 'cgroup2' || h.controllers.length === 0,
    }));
}

function write(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (err) {
    throw new BerthError('SYSTEM', `write ${value} to ${file}: ${errText(err)}`, { cause: err });
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/**
 * The container's own cgroup, one level below the one that carries its limits and device
 * policy (the nesting LXC's lxc.cgroup.dir.container.inner and Incus use). Its init, everything
 * it starts and every `berth exec` live here, and its cgroup namespace is rooted here: the
 * container never sees, let alone writes, the files that bound it, and the kernel bounds every
 * cgroup by its ancestors' limits (memory, memsw, pids, CPU quota, cpuset, devices).
 */
export const INNER = 'ns';

export const innerPath = (d: CgroupDir): string => join(d.path, INNER);

/** v1 cpuset: a cgroup needs cpus and mems before a task may join it; they come from its parent. */
function copyCpuset(h: Hierarchy, dir: string): void {
  if (!h.controllers.includes('cpuset')) return;
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const up = readOr(join(dir, '..', f), '');
    if (up && !readOr(join(dir, f), '')) write(join(dir, f), up);
  }
}

/** One level at a time, so each gets its cpuset before the next is made below it. */
function makeLevels(h: Hierarchy, names: string[]): void {
  let dir = h.mountPoint;
  for (const name of names) {
    dir = join(dir, name);
    try {
      mkdirSync(dir);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    // also when it exists: another start may have just made it and not yet given it its cpuset
    copyCpuset(h, dir);
  }
}

/** v2: a controller is available to a cgroup's children once enabled in its subtree_control. */
function enableControllers(dir: string): void {
  const want = readOr(join(dir, 'cgroup.controllers'), '')
    .split(/\s+/)
    .filter((c) => ['cpu', 'cpuset', 'memory', 'pids', 'io'].includes(c));
  if (want.length) write(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
}

/** The sub-cgroups of dir, deepest first (a stale tree from a crash; a running container's own). */
function subtree(dir: string, subdirs: (dir: string) => string[] = subdirsOf): string[] {
  return subdirs(dir).flatMap((s) => [...subtree(s, subdirs), s]);
}

/** The cgroups right below DIR (none when it is gone). */
export function subdirsOf(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

/** Creates the limits level of the container's cgroups, CTID under the parent (idempotent). */
export function createCgroups(layout: CgroupLayout, parent: string, id: string): CgroupDir[] {
  const dirs = ctDirs(layout, parent, id);
  for (const d of dirs) {
    const parentDir = join(d.hierarchy.mountPoint, parent);
    // another container's stop removes the shared parent once it is empty (removeCgroups): a
    // start that meets that between its mkdirs makes both levels again
    for (let tries = 1; ; tries++) {
      try {
        makeLevels(d.hierarchy, [...parent.split('/').filter(Boolean), id]);
        break;
      } catch (err) {
        if (tries === 5 || errCode(err instanceof BerthError ? err.cause : err) !== 'ENOENT') throw err;
      }
    }
    // v2 controllers must be enabled top-down, in the parent of each level that uses them
    if (layout.kind === 'v2') for (const dir of [d.hierarchy.mountPoint, parentDir]) enableControllers(dir);
  }
  return dirs;
}

export interface CgroupSetup {
  /** v1 devices.allow rules; everything else is denied */
  devices: readonly string[];
  writes: readonly CgroupWrite[];
  /** host uid of an unprivileged container's root, who gets the inner cgroup (delegateCgroups) */
  owner: number | null;
}

/**
 * Makes a stopped container's cgroups for a start, in the order the kernel needs: the limits
 * level, its device policy and limits, then the inner cgroup the container gets. Returns the
 * limits level (innerPath() of each is where init goes).
 */
export function prepareCgroups(
  host: Host,
  layout: CgroupLayout,
  parent: string,
  id: string,
  setup: CgroupSetup,
): CgroupDir[] {
  const dirs = createCgroups(layout, parent, id);
  // a crash may have left an inner tree: "devices.deny a" is refused while a cgroup has children
  for (const d of dirs) for (const dir of subtree(d.path)) rmdirQuiet(host, dir);
  setDeviceRules(dirs, setup.devices);
  writeLimits(dirs, setup.writes);
  for (const d of dirs) {
    // v2: the limits level holds no process, so its controllers can be handed to the inner one
    if (layout.kind === 'v2') enableControllers(d.path);
    const inner = innerPath(d);
    // v1 devices: a new cgroup copies its parent's list, and can never widen it
    if (!existsSync(inner)) mkdirSync(inner);
    copyCpuset(d.hierarchy, inner);
  }
  writeInner(dirs, setup.writes);
  if (setup.owner !== null) delegateCgroups(host, dirs, setup.owner);
  return dirs;
}

function rmdirQuiet(host: Host, dir: string): void {
  try {
    host.rmdirCgroup(dir);
  } catch {}
}

/**
 * Hands the inner cgroup of the hierarchies a container's init manages itself (name=systemd,
 * cgroup2) to its root (host uid UID), as the kernel's delegation rules want: the directory
 * and, on cgroup2, only the files /sys/kernel/cgroup/delegate lists, so the container can make
 * its own subgroups. The limits level above stays root's: nothing the container owns bounds it.
 */
export function delegateCgroups(host: Host, dirs: CgroupDir[], uid: number): void {
  const v2files = readOr('/sys/kernel/cgroup/delegate', 'cgroup.procs\ncgroup.threads\ncgroup.subtree_control')
    .split(/\s+/)
    .filter(Boolean);
  for (const d of dirs) {
    const v2 = d.hierarchy.fstype === 'cgroup2';
    if (!v2 && d.hierarchy.controllers.length > 0) continue;
    const dir = innerPath(d);
    const files = v2 ? v2files.filter((f) => existsSync(join(dir, f))) : readdirSync(dir);
    for (const f of ['', ...files]) {
      try {
        host.chown(join(dir, f), uid, uid);
      } catch (err) {
        throw new BerthError('SYSTEM', `delegate ${join(dir, f)} to ${uid}: ${errText(err)}`, { cause: err });
      }
    }
  }
}

/** The host's online CPUs ([] when unknown). */
export function onlineCpus(): number[] {
  return parseCpuList(readOr('/sys/devices/system/cpu/online', ''));
}

/** A container's resource writes for this host: its limits, and its CPUs (--cpus). */
export function resourceWrites(layout: CgroupLayout, r: Resources, id: string): CgroupWrite[] {
  const online = onlineCpus();
  const cpuset = online.length ? cpusetCpus(r.cpus, online, Number.parseInt(fnv1a(id), 16)) : undefined;
  return layout.kind === 'v1' ? limitsV1(r, cpuset) : limitsV2(r, cpuset);
}

function dirFor(dirs: CgroupDir[], controller: string): CgroupDir | undefined {
  if (controller === 'unified') return dirs.find((d) => d.hierarchy.fstype === 'cgroup2');
  return dirs.find((d) => d.hierarchy.controllers.includes(controller));
}

/**
 * Writes limits on the limits level, and the copies lxcfs needs (CgroupWrite.inner) on the
 * inner cgroup when it exists (a container started before the inner cgroup existed has none).
 */
export function applyWrites(dirs: CgroupDir[], writes: readonly CgroupWrite[]): void {
  writeLimits(dirs, writes);
  writeInner(dirs, writes);
}

/**
 * Some pairs must go in a value-dependent order (v1 memsw must stay >= the memory limit), so a
 * failed write is retried once after all the others; on v1 a cgroup's cpuset and CPU quota
 * must also stay within its parent's, so a narrowing retry first relaxes the cgroups below.
 */
function writeLimits(dirs: CgroupDir[], writes: readonly CgroupWrite[]): void {
  const retry: Array<() => void> = [];
  for (const w of writes) {
    const d = dirFor(dirs, w.controller);
    if (!d) {
      if (w.optional) continue;
      throw new BerthError('SYSTEM', `no ${w.controller} cgroup controller on this host (for ${w.file})`);
    }
    const file = join(d.path, w.file);
    if (!existsSync(file) && w.optional) continue;
    try {
      writeFileSync(file, w.value);
    } catch {
      retry.push(() => {
        if (d.hierarchy.fstype === 'cgroup') relaxBelow(d.path, w.file, w.value);
        write(file, w.value);
      });
    }
  }
  for (const r of retry) r();
}

/**
 * v1 refuses a cpuset or CPU quota narrower than a child's (EBUSY, EINVAL). Before the limits
 * level narrows, the cgroups below it (the inner one, and any a privileged container made
 * under it, which must not be able to block its own limit) are brought within the new value:
 * cpusets widened top-down to hold it, then cut to it bottom-up; quotas unset (they inherit).
 */
function relaxBelow(dir: string, file: string, value: string): void {
  const below = subtree(dir);
  if (file === 'cpu.cfs_quota_us') {
    for (const sub of below) tryWrite(join(sub, file), '-1');
  } else if (file === 'cpuset.cpus') {
    const want = parseCpuList(value);
    const cpus = (sub: string) => parseCpuList(readOr(join(sub, file), ''));
    tryWrite(join(dir, file), cpuList([...cpus(dir), ...want]));
    for (const sub of [...below].reverse()) tryWrite(join(sub, file), cpuList([...cpus(sub), ...want]));
    for (const sub of below) {
      const cut = cpus(sub).filter((c) => want.includes(c));
      tryWrite(join(sub, file), cpuList(cut.length ? cut : want));
    }
  }
}

const cpuList = (cpus: number[]): string => [...new Set(cpus)].sort((a, b) => a - b).join(',');

function tryWrite(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {}
}

/** The copies on the inner cgroup only show the container its limits: a failure is ignored. */
function writeInner(dirs: CgroupDir[], writes: readonly CgroupWrite[]): void {
  for (const w of writes) {
    const d = w.inner ? dirFor(dirs, w.controller) : undefined;
    if (d && existsSync(join(innerPath(d), w.file))) tryWrite(join(innerPath(d), w.file), w.value);
  }
}

/** exec's leaf below a v2 inner cgroup whose init has enabled controllers for its own children */
export const EXEC_LEAF = '.berth';

/**
 * The cgroup.procs files a process joins to be in the container: the inner cgroups; for a
 * container started before berth made them (its processes sit in the limits level), those.
 * On cgroup2, once the container's init (systemd) enables controllers in that cgroup's
 * subtree_control, no process may join it (the no-internal-process rule: EBUSY): the process
 * joins the leaf EXEC_LEAF below it instead, made on first use, as LXC's attach joins `.lxc`.
 */
export function procsFiles(dirs: CgroupDir[]): string[] {
  return dirs.map((d) => {
    const dir = existsSync(innerPath(d)) ? innerPath(d) : d.path;
    if (d.hierarchy.fstype !== 'cgroup2' || !readOr(join(dir, 'cgroup.subtree_control'), '')) {
      return join(dir, 'cgroup.procs');
    }
    const leaf = join(dir, EXEC_LEAF);
    try {
      mkdirSync(leaf);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw new BerthError('SYSTEM', `mkdir ${leaf}: ${errText(err)}`, { cause: err });
    }
    return join(leaf, 'cgroup.procs');
  });
}

/** Every process in the container's cgroups, including sub-cgroups its own init made. */
export function cgroupPids(dirs: CgroupDir[], subdirs: (dir: string) => string[] = subdirsOf): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    for (const dir of [d.path, ...subtree(d.path, subdirs)]) {
      for (const p of readOr(join(dir, 'cgroup.procs'), '').split('\n')) if (p) pids.add(Number(p));
    }
  }
  return [...pids];
}

/**
 * The container's processes as one hierarchy has them (pids, where there is one): every process
 * of the container is in each, so a count needs no more reads than that. SUBDIRS lists a
 * cgroup's children (berthd's remembers them).
 */
export function cgroupPidsOne(dirs: CgroupDir[], subdirs: (dir: string) => string[] = subdirsOf): number[] {
  const d = dirFor(dirs, 'pids') ?? dirs[0];
  return d ? cgroupPids([d], subdirs) : [];
}

/** Removes the container's cgroups, deepest first. Returns the ones that are still busy. */
export function removeCgroups(host: Host, dirs: CgroupDir[], withParent = true): string[] {
  const busy: string[] = [];
  for (const d of dirs) {
    for (const dir of [...subtree(d.path), d.path]) {
      try {
        host.rmdirCgroup(dir);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') busy.push(dir);
      }
    }
    if (withParent) rmdirQuiet(host, join(d.path, '..')); // the shared parent goes with its last container
  }
  return busy;
}

export function setFrozen(layout: CgroupLayout, dirs: CgroupDir[], frozen: boolean): void {
  if (layout.kind === 'v2') {
    const d = dirs[0];
    if (d) write(join(d.path, 'cgroup.freeze'), frozen ? '1' : '0');
    return;
  }
  const d = dirFor(dirs, 'freezer');
  if (!d) throw new BerthError('SYSTEM', 'no freezer cgroup controller on this host');
  write(join(d.path, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
}

export function isFrozen(layout: CgroupLayout, dirs: CgroupDir[]): boolean {
  if (layout.kind === 'v2') {
    const d = dirs[0];
    return d ? /frozen 1/.test(readOr(join(d.path, 'cgroup.events'), '')) : false;
  }
  const d = dirFor(dirs, 'freezer');
  return d ? readOr(join(d.path, 'freezer.state'), 'THAWED') !== 'THAWED' : false;
}

/** Every task is frozen (v1 passes through FREEZING first; v2 reports "frozen 1" when done). */
export function fullyFrozen(layout: CgroupLayout, dirs: CgroupDir[]): boolean {
  if (layout.kind === 'v2') return isFrozen(layout, dirs);
  const d = dirFor(dirs, 'freezer');
  return d ? readOr(join(d.path, 'freezer.state'), '') === 'FROZEN' : false;
}

/**
 * Thaws the container's cgroups and every one below them, before its processes are killed: a
 * v1 frozen task does not die of SIGKILL, and a privileged container's root can freeze its own
 * cgroup (to outlast a stop), which thawing the limits level alone does not undo.
 */
export function thawAll(layout: CgroupLayout, dirs: CgroupDir[]): void {
  const d = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, 'freezer');
  if (!d || !existsSync(d.path)) return;
  const file = layout.kind === 'v2' ? 'cgroup.freeze' : 'freezer.state';
  for (const dir of [d.path, ...subtree(d.path)]) tryWrite(join(dir, file), layout.kind === 'v2' ? '0' : 'THAWED');
}

/**
 * Event counters the kernel keeps where the task was (the inner cgroup or below), not where the
 * limit is: on v1 refused forks (pids.events) and OOM kills (oom_control); on v2 the same with
 * the *_localevents mount options, and refused forks before Linux 6.12 (no pids.events.local).
 */
function countedBelow(d: CgroupDir, file: string): boolean {
  const h = d.hierarchy;
  if (h.fstype === 'cgroup') return file === 'pids.events' || file === 'memory.oom_control';
  if (file === 'pids.events') {
    return h.flags.includes('pids_localevents') || !existsSync(join(d.path, 'pids.events.local'));
  }
  return /^memory\.(swap\.)?events$/.test(file) && h.flags.includes('memory_localevents');
}

/**
 * The beancounter files of a container's limits level (core/beancounters.ts names them); an
 * event file counted below it is joined with the same file of every cgroup below (and summed).
 */
export function readCounterFiles(
  layout: CgroupLayout,
  dirs: CgroupDir[],
  names: readonly string[],
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, files] of counterSources(layout, dirs, names)) {
    out[name] =
      files
        .map((f) => readOr(f, ''))
        .join('\n')
        .trim() || null;
  }
  return out;
}

/** The files each of NAMES is read from (several: summed over the subtree), none where there is none. */
export function counterSources(
  layout: CgroupLayout,
  dirs: CgroupDir[],
  names: readonly string[],
): [string, string[]][] {
  return names.map((name) => {
    const [ctrl = '', file = ''] = layout.kind === 'v2' ? ['unified', name] : name.split('/');
    const d = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, ctrl);
    if (!d) return [name, []];
    const where = countedBelow(d, file) ? [d.path, ...subtree(d.path)] : [d.path];
    return [name, where.map((dir) => join(dir, file))];
  });
}

/** v1 devices: deny everything, then allow the list. */
function setDeviceRules(dirs: CgroupDir[], allow: readonly string[]): void {
  const d = dirFor(dirs, 'devices');
  // v2 has no devices files: its policy is a BPF_PROG_TYPE_CGROUP_DEVICE program, which would
  // attach to this same limits level (not the inner cgroup); berth loads none yet
  if (!d) return;
  write(join(d.path, 'devices.deny'), 'a');
  for (const rule of allow) write(join(d.path, 'devices.allow'), rule);
}

/** Where the keeper reads a container's memory limits and counts its tasks, for sysinfo(2). */
export function sysinfoSource(layout: CgroupLayout, dirs: CgroupDir[]): SysinfoSource | null {
  const mem = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, 'memory');
  const pids = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, 'pids');
  return mem && pids ? { v2: layout.kind === 'v2', memDir: mem.path, pidsDir: pids.path } : null;
}

/** One file of a container's limits level, e.g. the value a live `set` must be able to restore. */
export function readCounter(dirs: CgroupDir[], controller: string, file: string): string | null {
  const d = dirFor(dirs, controller);
  return d ? readOr(join(d.path, file), '') || null : null;
}
