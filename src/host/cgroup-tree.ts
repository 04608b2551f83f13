// The cgroups a container's own init made below its inner cgroup, as a checkpoint carries them:
// CRIU re-creates only the cgroups its tasks are in, but systemd watches the cgroup.events of
// every slice it made (empty ones too) and its restore fails on a missing one.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type CgroupTree, cgroupTreeKey, MAX_TREE_DIRS } from '../core/criu.ts';
import { BerthError } from '../core/errors.ts';
import { type CgroupDir, innerPath, subdirsOf } from './cgroups.ts';
import { errCode, errText } from './fs-util.ts';
import type { Host } from './host.ts';

/** The hierarchies the container manages itself (cgroup2, name=systemd), by key, and their inner dir. */
function managed(dirs: readonly CgroupDir[]): [string, string][] {
  const out: [string, string][] = [];
  for (const d of dirs) {
    const key = cgroupTreeKey(d.hierarchy.fstype, d.hierarchy.mountOptions, d.hierarchy.controllers);
    if (key) out.push([key, innerPath(d)]);
  }
  return out;
}

/** DIR's sub-cgroups, relative, parents first; past MAX_TREE_DIRS the rest are left out. */
function walk(dir: string, rel: string, out: string[]): void {
  // none when it went meanwhile (a unit that stopped)
  const names = subdirsOf(join(dir, rel))
    .map((d) => basename(d))
    .sort();
  for (const n of names) {
    if (out.length >= MAX_TREE_DIRS) return;
    const r = rel ? `${rel}/${n}` : n;
    out.push(r);
    walk(dir, r, out);
  }
}

/**
 * The sub-cgroups below the container's inner cgroup, in the hierarchies its init manages, that
 * hold no process of their own: CRIU makes the others (with their properties, from its images).
 */
export function innerTree(dirs: readonly CgroupDir[]): CgroupTree {
  const tree: CgroupTree = {};
  for (const [key, inner] of managed(dirs)) {
    const rels: string[] = [];
    walk(inner, '', rels);
    const empty = rels.filter((r) => !hasOwnTasks(join(inner, r)));
    if (empty.length) tree[key] = empty;
  }
  return tree;
}

/**
 * Opens every cgroup.events below the inner cgroups, for as long as CRIU dumps: kernfs gives a
 * file handle of a file whose dentry left the cache a detached dentry, which CRIU cannot name
 * ("openable (inode don't match) as ."), and systemd's inotify watch on it would be dumped
 * without a path. An open file keeps its dentry. Returns the fds to close afterwards.
 */
export function pinCgroupEvents(dirs: readonly CgroupDir[]): number[] {
  const fds: number[] = [];
  for (const [, inner] of managed(dirs)) {
    const rels: string[] = [];
    walk(inner, '', rels);
    for (const rel of ['', ...rels]) {
      try {
        fds.push(openSync(join(inner, rel, 'cgroup.events'), 'r'));
      } catch {} // v1 (name=systemd) has none; a cgroup gone meanwhile needs none
    }
  }
  return fds;
}

export function unpin(fds: readonly number[]): void {
  for (const fd of fds) closeSync(fd);
}

/**
 * Makes TREE (checked by parseMeta) below the inner cgroups that prepareCgroups made, owned
 * dir and files by the container's root (UID, as when its systemd made them): before CRIU
 * runs, which then makes only the cgroups of its tasks. A hierarchy this host lacks is skipped.
 */
export function makeInnerTree(host: Host, dirs: readonly CgroupDir[], tree: CgroupTree, uid: number | null): void {
  for (const [key, inner] of managed(dirs)) {
    for (const rel of tree[key] ?? []) {
      // its parent may be a cgroup with tasks (not in TREE, CRIU's to make): made here too
      const parts = rel.split('/');
      for (let i = 1; i <= parts.length; i++) makeOwned(host, join(inner, ...parts.slice(0, i)), uid);
    }
  }
}

function makeOwned(host: Host, dir: string, uid: number | null): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if (errCode(err) === 'EEXIST') return;
    throw new BerthError('RESTORE', `restore: make cgroup ${dir}: ${errText(err)}`, { cause: err });
  }
  if (uid === null) return;
  // the kernel's files of a cgroup just made (it has no subdirectory yet)
  for (const f of ['', ...readdirSync(dir)]) {
    try {
      host.chown(join(dir, f), uid, uid);
    } catch (err) {
      throw new BerthError('RESTORE', `restore: delegate ${join(dir, f)} to ${uid}: ${errText(err)}`, { cause: err });
    }
  }
}

/** whether cgroup DIR holds processes of its own (CRIU makes those: its image has their properties) */
function hasOwnTasks(dir: string): boolean {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '';
  } catch {
    return false;
  }
}
