// What a backup keeps beside its archive while it runs (its work directory), and removing what
// a killed backup left: plain file operations, apart from archive.ts and its tools.
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import { listDir, tmpName } from './fs-util.ts';
import type { Host } from './host.ts';
import type { Paths } from './paths.ts';
import { isAlive } from './proc.ts';

const workRoot = (p: Paths, id: CtId) => join(p.lib, 'backup', '.work', id);
/** the file in a work directory that names the archive being written beside its -o FILE */
const WRITING = 'writing';

/**
 * The work directory of a backup of `id` by this process: under berth's own lib directory
 * (root only), keyed by CTID and pid, so the next command on that container finds and
 * removes what a killed backup left, wherever its -o pointed.
 */
export function makeBackupWork(p: Paths, id: CtId): string {
  const dir = join(workRoot(p, id), String(process.pid));
  removeWork(dir, String(process.pid)); // a dead process's, whose pid this one now has
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Records FILE.tmp-PID in the work directory, then makes it root's and 0600 (tar keeps the
 * mode of a file it overwrites): an archive holds the container's files, /etc/shadow too.
 */
export function archiveTmp(work: string, file: string): string {
  const tmp = tmpName(file);
  writeFileSync(join(work, WRITING), tmp);
  closeSync(openSync(tmp, 'wx', 0o600));
  return tmp;
}

/**
 * Removes a backup's work directory, and its CTID directory when it is the last (the CTID's
 * lock guards that one). `.work` itself stays: a backup of another container, which holds
 * another lock, may be making its own directory in it at this moment.
 */
export function removeBackupWork(work: string): void {
  rmSync(work, { recursive: true, force: true });
  try {
    rmdirSync(dirname(work));
  } catch {}
}

/**
 * Removes what killed backups of `id` left: their work directories and the FILE.tmp-PID each
 * recorded, when that pid no longer runs. Returns what it removed.
 */
export function cleanBackupLeftovers(host: Host, p: Paths, id: CtId): string[] {
  const gone: string[] = [];
  for (const pid of listDir(workRoot(p, id))) {
    if (!/^\d+$/.test(pid) || isAlive(host, Number(pid), null)) continue;
    const work = join(workRoot(p, id), pid);
    gone.push(...removeWork(work, pid), work);
    removeBackupWork(work);
  }
  // a backup killed while it made its directory leaves it empty
  try {
    rmdirSync(workRoot(p, id));
  } catch {}
  return gone;
}

/** The archive a work directory recorded: only a regular file named FILE.tmp-PID is removed. */
function removeWork(work: string, pid: string): string[] {
  let tmp = '';
  try {
    tmp = readFileSync(join(work, WRITING), 'utf8');
  } catch {}
  rmSync(work, { recursive: true, force: true });
  if (!tmp.startsWith('/') || !tmp.endsWith(`.tmp-${pid}`) || !isFile(tmp)) return [];
  rmSync(tmp, { force: true });
  return [tmp];
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
