// berthd's backup store: the archives in /var/lib/berth/backup (root's, 0700) by name, for
// download, upload and removal over the API. Names are checked (no path, no dot files), every
// open refuses a symlink, and an upload appears whole (NAME.part, then renamed) or not at all.
import {
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  mkdirSync,
  openSync,
  type ReadStream,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../core/errors.ts';
import { errCode } from './fs-util.ts';
import { backupDir, type Paths } from './paths.ts';
import { receiveUpload } from './upload.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.tar$/;

export interface BackupFile {
  name: string;
  size: number;
  created_at: string;
}

/** NAME as a file of the store, or a 400 (a path, a dot file, another suffix). */
export function backupFile(p: Paths, name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new BerthError('BAD_VALUE', `backup ${JSON.stringify(name.slice(0, 80))}: not a backup name`, {
      hint: 'letters, digits, _ . - ending in .tar, as GET /1.0/backups lists them',
    });
  }
  return join(backupDir(p), name);
}

export function listBackups(p: Paths): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(backupDir(p));
  } catch (err) {
    if (errCode(err) === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => NAME.test(n))
    .flatMap((name) => {
      try {
        const st = statSync(join(backupDir(p), name));
        return st.isFile() ? [{ name, size: st.size, created_at: st.mtime.toISOString() }] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function missing(name: string): BerthError {
  return new BerthError('NOT_FOUND', `backup ${name}: no such backup`, { hint: 'GET /1.0/backups lists them' });
}

/** The archive for reading (never through a symlink), and its size. */
export function openBackup(p: Paths, name: string): { stream: ReadStream; size: number } {
  let fd: number;
  try {
    fd = openSync(backupFile(p, name), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ELOOP') throw missing(name);
    throw err;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw missing(name);
  }
  return { stream: createReadStream('', { fd }), size: st.size };
}

/** Writes an upload to NAME (refused when it exists), whole or not at all. */
export async function storeUpload(p: Paths, name: string, body: Readable): Promise<BackupFile> {
  const file = backupFile(p, name);
  const part = `${file}.part-${process.pid}`;
  const exists = () => {
    try {
      statSync(file);
      return true;
    } catch {
      return false;
    }
  };
  if (exists())
    throw new BerthError('BAD_VALUE', `backup ${name}: exists`, {
      hint: 'DELETE it first, or upload under another name',
    });
  mkdirSync(backupDir(p), { recursive: true, mode: 0o700 });
  try {
    await receiveUpload(body, part, (why) => new BerthError('BAD_VALUE', `backup ${name}: ${why}`));
    if (exists()) throw new BerthError('BAD_VALUE', `backup ${name}: exists`);
    renameSync(part, file);
  } catch (err) {
    try {
      unlinkSync(part);
    } catch {}
    throw err;
  }
  const st = statSync(file);
  return { name, size: st.size, created_at: st.mtime.toISOString() };
}

export function removeBackup(p: Paths, name: string): void {
  const file = backupFile(p, name);
  try {
    if (!statSync(file).isFile()) throw missing(name);
    unlinkSync(file);
  } catch (err) {
    if (errCode(err) === 'ENOENT') throw missing(name);
    throw err;
  }
}

/**
 * Uploads a killed daemon left half written: every NAME.part-PID but this process's (the
 * caller holds the daemon lock, so no other daemon writes here now).
 */
export function removeDeadParts(p: Paths): void {
  let names: string[] = [];
  try {
    names = readdirSync(backupDir(p));
  } catch {}
  for (const n of names) {
    const m = /\.part-(\d+)$/.exec(n);
    if (m && Number(m[1]) !== process.pid) {
      try {
        unlinkSync(join(backupDir(p), n));
      } catch {}
    }
  }
}
