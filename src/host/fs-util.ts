// Small file helpers: atomic replace (tmp + fsync + rename), its leftovers, and tolerant reads.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import type { Host } from './host.ts';
import { isAlive } from './proc.ts';

/**
 * Readers see the old file or the new one, never a torn one, even after SIGKILL. `durable`
 * adds an fsync for power loss too; runtime state under /run needs none (it does not survive
 * a reboot anyway, and the fsync costs milliseconds on every start).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644, durable = true): void {
  const tmp = tmpName(file);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(tmp, 'w', mode);
    try {
      writeFileSync(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk must not leave it behind
    throw new BerthError('SYSTEM', `write ${file}: ${errText(err)}`, { cause: err });
  }
}

/** FILE.tmp-PID: where this process writes FILE before renaming it into place. */
export function tmpName(file: string, pid = process.pid): string {
  return `${file}.tmp-${pid}`;
}

/**
 * Removes the NAME.tmp-PID files in `dir` (of NAME `base` only, when given) that a killed
 * process left: those whose pid no longer runs. Returns their names.
 */
export function removeStaleTmps(host: Host, dir: string, base?: string): string[] {
  const gone: string[] = [];
  for (const n of listDir(dir)) {
    const m = /^(.+)\.tmp-(\d+)$/.exec(n);
    if (!m || (base !== undefined && m[1] !== base) || isAlive(host, Number(m[2]), null)) continue;
    try {
      rmSync(join(dir, n));
      gone.push(n);
    } catch {}
  }
  return gone;
}

export function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw new BerthError('SYSTEM', `read ${file}: ${errText(err)}`, { cause: err });
  }
}

/** A directory's entries, or none when it does not exist (yet). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return [];
    throw new BerthError('SYSTEM', `read ${dir}: ${errText(err)}`, { cause: err });
  }
}

export function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

/** Random bytes from the kernel (node:crypto would cost start-up time for 12 bytes). */
export function randomBytes(n: number): Uint8Array {
  const fd = openSync('/dev/urandom', 'r');
  try {
    const buf = new Uint8Array(n);
    readSync(fd, buf, 0, n, null);
    return buf;
  } finally {
    closeSync(fd);
  }
}
