// File operations on berth's own tree for ops and engine (paths under ctx.paths: a temp tree in
// unit tests), each failure a BerthError naming the operation and the path (runc's PathError).
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { errText } from './fs-util.ts';

function attempt<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new BerthError('SYSTEM', `${what}: ${errText(err)}`, { cause: err });
  }
}

export const pathExists = (path: string): boolean => existsSync(path);

/**
 * mkdir of PATH alone (its parent must exist: false when it does not), or the one there, given
 * to UID (null: left as it is)
 */
export function makeOwnedDir(path: string, mode: number, uid: number | null): boolean {
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EEXIST') throw new BerthError('SYSTEM', `mkdir ${path}: ${errText(err)}`, { cause: err });
  }
  if (uid !== null) attempt(`chown ${path}`, () => chownSync(path, uid, uid));
  return true;
}

/** mkdir -p; MODE for the directories it makes (the umask applies) */
export function makeDir(path: string, mode?: number): void {
  attempt(`mkdir ${path}`, () => mkdirSync(path, { recursive: true, ...(mode === undefined ? {} : { mode }) }));
}

/** rm -rf: nothing there is no error */
export function removeTree(path: string): void {
  attempt(`remove ${path}`, () => rmSync(path, { recursive: true, force: true, maxRetries: 5 }));
}

/** rm -f of one file */
export function removeFile(path: string): void {
  attempt(`remove ${path}`, () => rmSync(path, { force: true }));
}

/** rmdir, never recursive: false when it is not there or not empty (something still mounted there) */
export function removeEmptyDir(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

export function renamePath(from: string, to: string): void {
  attempt(`rename ${from} to ${to}`, () => renameSync(from, to));
}

export function readBytes(path: string): Buffer {
  return attempt(`read ${path}`, () => readFileSync(path));
}

/** A plain write (no rename): for files in a directory of its own that is renamed into place after. */
export function writeFile(path: string, data: string | Uint8Array, mode?: number): void {
  attempt(`write ${path}`, () => writeFileSync(path, data, mode === undefined ? {} : { mode }));
}

export function fileSize(path: string): number {
  return attempt(`stat ${path}`, () => statSync(path).size);
}

/** The bytes a (sparse) file takes on disk. */
export function allocatedBytes(path: string): number {
  return attempt(`stat ${path}`, () => statSync(path).blocks * 512);
}

export function fileMode(path: string): number {
  return attempt(`stat ${path}`, () => statSync(path).mode);
}

/** The path with symlinks resolved; null when it does not exist. */
export function realPath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** An fd appending to FILE (made with MODE), for a child's output. */
export function openAppend(path: string, mode: number): number {
  return attempt(`open ${path}`, () => openSync(path, 'a', mode));
}

export function closeFd(fd: number): void {
  closeSync(fd);
}
