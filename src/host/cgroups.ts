// Cgroup drivers: the hybrid/legacy v1 layout (one hierarchy per controller set) and pure v2.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Resources } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { fnv1a } from '../core/hash.ts';
import type { SysinfoSource } from '../core/keeper.ts';
import { type CgroupWrite, cpusetCpus, limitsV1, limitsV2, parseCpuList } from '../core/limits.ts';
import type { CgroupMount } from '../core/mounts.ts';
import { errCode, errText } from './fs-util.ts';

export interface Hierarchy {
  mountPoint: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1 controllers of this hierarchy ([] for name=systemd and for cgroup2) */
  controllers: string[];
  /** what to pass to mount(2) for the same hierarchy inside a container */
  mountOptions: string;
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
]);

/** Reads the cgroup mounts of /proc/self/mountinfo ("generic: mount what the host has"). */
export function detectLayout(mountinfo: string): CgroupLayout {
  const hierarchies: Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4] ?? '';
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (hierarchies.some((h) => h.mountPoint === mountPoint)) continue;
    const words = superOpts.split(',').filter((w) => !NOT_CONTROLLERS.has(w) && !w.startsWith('release_agent='));
    hierarchies.push({
      mountPoint: mountPoint.replace(/\\040/g, ' '),
      fstype,
      controllers: fstype === 'cgroup' ? words.filter((w) => !w.startsWith('name=')) : [],
      mountOptions: fstype === 'cgroup' ? words.join(',') : '',
    });
  }
  const pure = hierarchies.find((h) => h.fstype === 'cgroup2' && h.mountPoint === '/sys/fs/cgroup');
  if (pure) return { kind: 'v2', hierarchies: [pure] };
  return { kind: 'v1', hierarchies };
}

export function hostLayout(): CgroupLayout {
  return detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
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

/** Creates the container's cgroups (idempotent). v1 cpuset needs cpus/mems before tasks join. */
export function createCgroups(layout: CgroupLayout, parent: string, id: string): CgroupDir[] {
  const dirs = ctDirs(layout, parent, id);
  for (const d of dirs) {
    const parentDir = join(d.hierarchy.mountPoint, parent);
    for (const dir of [parentDir, d.path]) {
      if (existsSync(dir)) continue;
      mkdirSync(dir, { recursive: true });
      if (d.hierarchy.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          const up = readOr(join(dir, '..', f), '');
          if (up && !readOr(join(dir, f), '')) write(join(dir, f), up);
        }
      }
    }
    if (layout.kind === 'v2') {
      // v2 controllers must be enabled top-down, in the parent of each level that uses them
      for (const dir of [d.hierarchy.mountPoint, parentDir]) {
        const want = readOr(join(dir, 'cgroup.controllers'), '')
          .split(/\s+/)
          .filter((c) => ['cpu', 'cpuset', 'memory', 'pids', 'io'].includes(c));
        if (want.length) write(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
      }
    }
  }
  return dirs;
}

/**
 * Hands the hierarchies a container's init manages itself (name=systemd, cgroup2) to its root
 * (host uid UID), as the kernel's delegation rules want: the directory and, on cgroup2, only
 * the files /sys/kernel/cgroup/delegate lists, so the container can make its own subgroups but
 * never change its own limits.
 */
export function delegateCgroups(dirs: CgroupDir[], uid: number): void {
  const v2files = readOr('/sys/kernel/cgroup/delegate', 'cgroup.procs\ncgroup.threads\ncgroup.subtree_control')
    .split(/\s+/)
    .filter(Boolean);
  for (const d of dirs) {
    const v2 = d.hierarchy.fstype === 'cgroup2';
    if (!v2 && d.hierarchy.controllers.length > 0) continue;
    const files = v2 ? v2files.filter((f) => existsSync(join(d.path, f))) : readdirSync(d.path);
    for (const f of ['', ...files]) {
      try {
        chownSync(join(d.path, f), uid, uid);
      } catch (err) {
        throw new BerthError('SYSTEM', `delegate ${join(d.path, f)} to ${uid}: ${errText(err)}`, { cause: err });
      }
    }
  }
}

/** A container's resource writes for this host: its limits, and its CPUs (--cpus). */
export function resourceWrites(layout: CgroupLayout, r: Resources, id: string): CgroupWrite[] {
  const online = parseCpuList(readOr('/sys/devices/system/cpu/online', ''));
  const cpuset = online.length ? cpusetCpus(r.cpus, online, Number.parseInt(fnv1a(id), 16)) : undefined;
  return layout.kind === 'v1' ? limitsV1(r, cpuset) : limitsV2(r, cpuset);
}

function dirFor(dirs: CgroupDir[], controller: string): CgroupDir | undefined {
  if (controller === 'unified') return dirs.find((d) => d.hierarchy.fstype === 'cgroup2');
  return dirs.find((d) => d.hierarchy.controllers.includes(controller));
}

/**
 * Writes limits. Some pairs must go in a value-dependent order (v1 memsw must stay >= the memory
 * limit), so a failed write is retried once after all the others.
 */
export function applyWrites(dirs: CgroupDir[], writes: readonly CgroupWrite[]): void {
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
      retry.push(() => write(file, w.value));
    }
  }
  for (const r of retry) r();
}

export function procsFiles(dirs: CgroupDir[]): string[] {
  return dirs.map((d) => join(d.path, 'cgroup.procs'));
}

/** Every process in the container's cgroups, including sub-cgroups its own init made. */
export function cgroupPids(dirs: CgroupDir[]): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const p of readOr(join(dir, 'cgroup.procs'), '').split('\n')) if (p) pids.add(Number(p));
    let subs: string[] = [];
    try {
      subs = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const s of subs) walk(join(dir, s));
  };
  for (const d of dirs) walk(d.path);
  return [...pids];
}

/** Removes the container's cgroups, deepest first. Returns the ones that are still busy. */
export function removeCgroups(dirs: CgroupDir[]): string[] {
  const busy: string[] = [];
  const rm = (dir: string): void => {
    let subs: string[] = [];
    try {
      subs = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return;
    }
    for (const s of subs) rm(join(dir, s));
    try {
      rmdirSync(dir);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') busy.push(dir);
    }
  };
  for (const d of dirs) {
    rm(d.path);
    try {
      rmdirSync(join(d.path, '..')); // the shared parent goes with its last container
    } catch {}
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

/** The beancounter files of a container's cgroups (core/beancounters.ts names them). */
export function readCounterFiles(
  layout: CgroupLayout,
  dirs: CgroupDir[],
  names: readonly string[],
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of names) {
    const [ctrl = '', file = ''] = layout.kind === 'v2' ? ['unified', name] : name.split('/');
    const d = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, ctrl);
    out[name] = d ? readOr(join(d.path, file), '') || null : null;
  }
  return out;
}

export function setDeviceRules(dirs: CgroupDir[], allow: readonly string[]): void {
  const d = dirFor(dirs, 'devices');
  if (!d) return; // v2: no devices controller file interface (see docs/security.md)
  write(join(d.path, 'devices.deny'), 'a');
  for (const rule of allow) write(join(d.path, 'devices.allow'), rule);
}

export function readCounter(dirs: CgroupDir[], controller: string, file: string): string | null {
  const d = dirFor(dirs, controller);
  return d ? readOr(join(d.path, file), '') || null : null;
}

/** Where the keeper reads a container's memory limits and counts its tasks, for sysinfo(2). */
export function sysinfoSource(layout: CgroupLayout, dirs: CgroupDir[]): SysinfoSource | null {
  const mem = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, 'memory');
  const pids = layout.kind === 'v2' ? dirs[0] : dirFor(dirs, 'pids');
  return mem && pids ? { v2: layout.kind === 'v2', memDir: mem.path, pidsDir: pids.path } : null;
}
