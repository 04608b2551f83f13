// berthd's unix socket on disk: /run/berth/berthd.sock, 0660 root:berth-admin, in a run
// directory made 0710 root:berth-admin (paths.ts, RUN_DIR_DAEMON_MODE).
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { errCode } from './fs-util.ts';
import { RUN_DIR_DAEMON_MODE } from './paths.ts';

export const ADMIN_GROUP = 'berth-admin';

/** The gid of a group in the host's /etc/group, or null. */
export function groupId(name: string, file = '/etc/group'): number | null {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && /^\d+$/.test(f[2] ?? '')) return Number(f[2]);
    }
  } catch {}
  return null;
}

/**
 * Before listening: the run directory traversable by the group (when it exists), and a socket
 * left by a daemon that was killed removed (the caller holds the daemon lock, so none serves it).
 */
export function prepareSocket(socket: string, gid: number | null): void {
  const dir = dirname(socket);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (gid !== null) {
    chownSync(dir, 0, gid);
    chmodSync(dir, RUN_DIR_DAEMON_MODE);
  }
  try {
    if (lstatSync(socket).isSocket()) unlinkSync(socket);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
}

/** After listening: root's and the group's only. */
export function secureSocket(socket: string, gid: number | null): void {
  chmodSync(socket, gid === null ? 0o600 : 0o660);
  if (gid !== null) chownSync(socket, 0, gid);
}

/** The socket, removed when this daemon stops (only a socket: never what replaced it). */
export function removeSocket(socket: string): void {
  try {
    if (statSync(socket).isSocket()) unlinkSync(socket);
  } catch {}
}
