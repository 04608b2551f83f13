// Reading and writing backup archives with GNU tar and zstd (core/backup.ts says what is in
// them). Every tool gets SIGKILL when berth dies, so none outlives a killed backup or restore.
// The outer archive is a plain tar of a few members: berth reads its headers itself
// (host/tar.ts) and hands a member's bytes to the tool that reads them from where they lie,
// instead of running a tar per member (a restore ran six tools before; each start costs
// 10-20 ms on a slow VM, and a migration's restore is inside its freeze).
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Host } from './host.ts';
import { type TarEntry, tarIndex } from './tar.ts';
import { sha256File } from './tools.ts';

/** more entries than a berth archive ever has: a longer one is no berth archive */
const MAX_MEMBERS = 64;

/** Member NAME (as written, or with "./" before it) of the plain tar FILE: a regular file only. */
function member(file: string, name: string): TarEntry | null {
  const all = tarIndex(file, MAX_MEMBERS);
  const e = all?.find((m) => m.path.replace(/^\.\//, '') === name) ?? null;
  return e && (e.type === '0' || e.type === '\0') ? e : null;
}

/** tar flags that keep what a root filesystem needs: owners, modes, xattrs, ACLs, holes. */
const KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse'];

/** Packs the contents of `dir` into a zstd tarball, returning its sha256. */
export async function packTree(host: Host, dir: string, out: string): Promise<string> {
  await host.run('tar', ['--zstd', '-cpf', out, ...KEEP, '-C', dir, '.']);
  return (await sha256File(out)).sha256;
}

/**
 * The member names of a plain tar archive, in order (null: not a whole tar archive); a member
 * that is not a regular file (a link, a directory, GNU's long-name records) is named with its
 * type, so that no berth archive's list matches it.
 */
export function members(file: string): string[] | null {
  const all = tarIndex(file, MAX_MEMBERS);
  return all ? all.map((m) => (m.type === '0' || m.type === '\0' ? m.path : `${m.path} (type ${m.type})`)) : null;
}

/** One small member's text (null: missing, not a regular file, or larger than `max` bytes). */
export function memberText(file: string, name: string, max: number): string | null {
  const e = member(file, name);
  if (!e || e.size > max) return null;
  const buf = Buffer.alloc(e.size);
  const fd = openSync(file, constants.O_RDONLY);
  try {
    return readSync(fd, buf, 0, e.size, e.data) === e.size ? buf.toString('utf8') : null;
  } finally {
    closeSync(fd);
  }
}

export interface Streamed {
  sha256: string;
  bytes: number;
}

/**
 * Streams member `name` of `file` once through `consumer` (a tar reading the zstd tarball
 * from stdin), computing its checksum and size on the way. Rejects when either side fails.
 */
async function streamMember(
  host: Host,
  file: string,
  name: string,
  consumer: string[],
  onOut?: (d: Buffer) => void,
  onBytes?: (n: number) => void,
): Promise<Streamed> {
  const h = createHash('sha256');
  let bytes = 0;
  const count = (d: Buffer) => {
    h.update(d);
    bytes += d.length;
    onBytes?.(d.length);
  };
  const e = member(file, name);
  if (!e) throw new Error(`${name}: no such member (or not a file) in ${file}`);
  await host.pipe({ file, start: e.data, length: e.size }, consumer, count, onOut);
  return { sha256: h.digest('hex'), bytes };
}

/**
 * Lists the inner tarball `name` to its end, handing each entry's line to `check` (GNU tar's
 * verbose listing, numeric owners, names C-quoted in the C locale: one entry per line,
 * whatever bytes its name holds). The first error `check` throws wins.
 */
export async function listMember(
  host: Host,
  file: string,
  name: string,
  check: (line: string) => void,
): Promise<Streamed> {
  let partial = '';
  let failed: unknown = null;
  const feed = (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    try {
      if (!failed) for (const l of lines) if (l) check(l);
    } catch (err) {
      failed = err;
    }
  };
  // names C-quoted (host/tools.ts runs every tool in the C locale)
  const argv = ['tar', '--zstd', '-tvf', '-', '--numeric-owner', '--quoting-style=c'];
  let r: Streamed | null = null;
  let toolErr: unknown = null;
  try {
    r = await streamMember(host, file, name, argv, (d) => feed(d.toString('latin1')));
  } catch (err) {
    toolErr = err;
  }
  feed('\n');
  // a refused entry says more than tar's exit status
  if (failed || !r) throw failed ?? toolErr;
  return r;
}

/**
 * Unpacks the inner tarball `name` into `dest` (a directory restore just made). GNU tar keeps
 * the unpack inside `dest` by itself: it strips a leading "/", refuses names with "..", makes
 * a symlink that points out of the tree only at the end (so no later entry is written through
 * it), and strips hard link targets the same way; the listing was checked for all of that too.
 */
export function extractMember(
  host: Host,
  file: string,
  name: string,
  dest: string,
  onBytes?: (n: number) => void,
): Promise<Streamed> {
  return streamMember(host, file, name, ['tar', '--zstd', '-xpf', '-', ...KEEP, '-C', dest], undefined, onBytes);
}

/**
 * Makes a restored image berth's own file, as create makes it (root, 0600, in a root 0755
 * directory), and checks its ext4 with e2fsck before the kernel ever mounts it: a crafted
 * filesystem image is kernel attack surface. Returns why it is refused, or null.
 */
export function sealImage(host: Host, img: string): string | null {
  for (const [path, mode] of [
    [dirname(img), 0o755],
    [img, 0o600],
  ] as const) {
    host.chown(path, 0, 0);
    chmodSync(path, mode);
  }
  const r = host.tool('e2fsck', ['-f', '-p', img]);
  // 0: clean, 1: errors corrected; anything else is not an ext4 the kernel should see
  if (r.status === 0 || r.status === 1) return null;
  return r.status === null ? `e2fsck: ${r.stderr.trim()}` : `e2fsck exit ${r.status}`;
}

/** The outer archive: plain tar of the members, in order, from `dir`. */
export function packMembers(host: Host, out: string, dir: string, names: readonly string[]): Promise<void> {
  return host.run('tar', ['-cf', out, '-C', dir, ...names]);
}
