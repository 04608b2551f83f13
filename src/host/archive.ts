// Reading and writing backup archives with GNU tar and zstd (core/backup.ts says what is in
// them). Every tool gets SIGKILL when berth dies, so none outlives a killed backup or restore.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { pipeTools, run, sha256File } from './tools.ts';

/** tar flags that keep what a root filesystem needs: owners, modes, xattrs, ACLs, holes. */
const KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse'];

/** Packs the contents of `dir` into a zstd tarball, returning its sha256. */
export async function packTree(dir: string, out: string): Promise<string> {
  await run('tar', ['--zstd', '-cpf', out, ...KEEP, '-C', dir, '.']);
  return (await sha256File(out)).sha256;
}

/** The member names of a plain tar archive, in order (null: not a whole tar archive). */
export function members(file: string): string[] | null {
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : null;
}

/** One (small) member's text. */
export function memberText(file: string, name: string): string | null {
  const r = spawnSync('tar', ['-xOf', file, name], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : null;
}

/**
 * Streams member `name` of `file` once: its sha256 is computed while `consumer` (a tar
 * reading the zstd tarball from stdin: listing to verify, or extracting) reads it too.
 * Resolves to the checksum; rejects when either side fails.
 */
export async function streamMember(file: string, name: string, consumer: string[]): Promise<string> {
  const h = createHash('sha256');
  await pipeTools(['tar', '-xOf', file, name], ['tar', ...consumer], (d) => h.update(d));
  return h.digest('hex');
}

/** The consumer that only checks the inner tarball is whole. */
export const LIST_ZSTD = ['--zstd', '-tf', '-'];

/** The consumer that unpacks the inner tarball into `dest`. */
export function extractZstdTo(dest: string): string[] {
  return ['--zstd', '-xpf', '-', ...KEEP, '-C', dest];
}

/** The outer archive: plain tar of the members, in order, from `dir`. */
export function packMembers(out: string, dir: string, names: readonly string[]): Promise<void> {
  return run('tar', ['-cf', out, '-C', dir, ...names]);
}
