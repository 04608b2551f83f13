// Reading and writing backup archives with GNU tar and zstd (core/backup.ts says what is in
// them). Every tool gets SIGKILL when berth dies, so none outlives a killed backup or restore.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { BerthError } from '../core/errors.ts';
import { run } from './template.ts';

/** tar flags that keep what a root filesystem needs: owners, modes, xattrs, ACLs, holes. */
const KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse'];

function spawnKilled(cmd: string, args: string[], stdio: Array<'pipe' | 'ignore'>) {
  return spawn('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], {
    stdio: stdio as ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe' | 'ignore'],
  });
}

/** Packs the contents of `dir` into a zstd tarball, returning its sha256. */
export async function packTree(dir: string, out: string): Promise<string> {
  await run('tar', ['--zstd', '-cpf', out, ...KEEP, '-C', dir, '.']);
  return sha256Of(out);
}

export function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const child = spawnKilled('cat', [file], ['ignore', 'pipe', 'pipe']);
    child.stdout?.on('data', (d: Buffer) => h.update(d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(h.digest('hex')) : reject(new BerthError('SYSTEM', `read ${file} failed (exit ${code})`)),
    );
  });
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
export function streamMember(file: string, name: string, consumer: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const src = spawnKilled('tar', ['-xOf', file, name], ['ignore', 'pipe', 'pipe']);
    const dst = spawnKilled('tar', consumer, ['pipe', 'ignore', 'pipe']);
    let err = '';
    src.stderr?.on('data', (d) => {
      err += d;
    });
    dst.stderr?.on('data', (d) => {
      err += d;
    });
    src.stdout?.on('data', (d: Buffer) => h.update(d));
    src.stdout?.pipe(dst.stdin as NodeJS.WritableStream);
    dst.stdin?.on('error', () => {}); // the consumer may stop early on a damaged stream
    let srcCode: number | null = null;
    src.on('close', (c) => {
      srcCode = c;
    });
    dst.on('close', (c) => {
      if (c === 0 && srcCode === 0) resolve(h.digest('hex'));
      else reject(new Error(err.trim().split('\n').slice(-2).join(' | ') || `tar exit ${srcCode}/${c}`));
    });
  });
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
