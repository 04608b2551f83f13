// Action scripts (vzctl's): which run at each moment of a container's life, in what order, where,
// with which environment, and what their failure does. Pure policy; host/action-scripts.ts runs them.
import type { CtId } from './ctid.ts';
import { BerthError } from './errors.ts';

export type ScriptAction = 'premount' | 'mount' | 'start' | 'stop' | 'umount' | 'postumount';

export const SCRIPT_ACTIONS: readonly ScriptAction[] = ['premount', 'mount', 'start', 'stop', 'umount', 'postumount'];

/** A host-side script runs longer than this at most (vzctl has no limit; a hung one would hold the lock). */
export const SCRIPT_TIMEOUT_MS = 120_000;

/** The host-side scripts' PATH (vzctl's ENV_PATH, with the local directories first). */
export const SCRIPT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ActionScript {
  /** file name in the config directory: vps.ACTION (global) or CTID.ACTION */
  name: string;
  /** start and stop run as the container's root inside it; the others on the host */
  inside: boolean;
}

/**
 * The scripts of ACTION for container ID, in the order vzctl runs them: global first before the
 * root is mounted or the container runs (premount, mount), the container's own first after
 * (umount, postumount); start and stop exist per container only, and run inside it.
 */
export function scriptsFor(action: ScriptAction, id: CtId): ActionScript[] {
  const own = { name: `${id}.${action}`, inside: action === 'start' || action === 'stop' };
  if (own.inside) return [own];
  const global = { name: `vps.${action}`, inside: false };
  return action === 'premount' || action === 'mount' ? [global, own] : [own, global];
}

/** Whether a failing script of ACTION aborts what runs it (start, mount) or is only warned about. */
export function scriptAborts(action: ScriptAction): boolean {
  return action === 'premount' || action === 'mount' || action === 'start';
}

/**
 * The whole environment of a host-side script: vzctl's (HOME, PATH, VEID, VE_CONFFILE) plus the
 * container's resolved roots, so a script need not expand berth.conf's $VEID itself.
 */
export function scriptEnv(
  id: CtId,
  files: { conf: string; veRoot: string; vePrivate: string },
): Record<string, string> {
  return {
    HOME: '/',
    PATH: SCRIPT_PATH,
    VEID: id,
    VE_CONFFILE: files.conf,
    VE_ROOT: files.veRoot,
    VE_PRIVATE: files.vePrivate,
  };
}

/** What lstat says of a script file or its directory: enough to judge who can change it. */
export interface FileFacts {
  uid: number;
  mode: number;
  kind: 'file' | 'dir' | 'symlink' | 'other';
}

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;
const S_IXUSR = 0o100;

/**
 * Refuses a script that anyone but root could have written (as vzctl's users were told to keep
 * them, now enforced): root-owned, not group- or world-writable, in such a directory, a regular
 * file (no symlink to follow elsewhere), executable when the host runs it.
 */
export function checkScript(path: string, file: FileFacts, dir: FileFacts, inside: boolean): BerthError | null {
  const refuse = (why: string, hint: string) =>
    new BerthError('ACTION_SCRIPT', `action script ${path}: ${why}: refused`, { hint });
  const own = (f: FileFacts, what: string) => {
    if (f.uid !== 0) return refuse(`${what} is owned by uid ${f.uid}, not root`, `chown root: ${what}`);
    if (f.mode & (S_IWGRP | S_IWOTH)) return refuse(`${what} is group- or world-writable`, `chmod go-w ${what}`);
    return null;
  };
  const dirPath = path.slice(0, path.lastIndexOf('/')) || '/';
  if (dir.kind !== 'dir') return refuse(`${dirPath} is not a directory`, 'make it the directory berth created');
  if (file.kind !== 'file') {
    return refuse('not a regular file', 'put the script itself there (a symlink is not followed), owned by root');
  }
  const bad = own(dir, dirPath) ?? own(file, path);
  if (bad) return bad;
  if (!inside && !(file.mode & S_IXUSR)) return refuse('not executable', `chmod 0755 ${path} (and start it with #!)`);
  return null;
}

/** A failed or refused script's error, with vzctl's code (VZ_ACTIONSCRIPT_ERROR). */
export function scriptFailed(path: string, action: ScriptAction, why: string): BerthError {
  return new BerthError('ACTION_SCRIPT', `${action} script ${path}: ${why}`, {
    hint: `fix the script or move it away; see docs/scripts.md`,
  });
}

export interface ScriptEnd {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  /** it could not be started at all (spawn's error) */
  error?: string;
}

/** Describes how a script failed, for its message; null when it succeeded. */
export function describeExit(end: ScriptEnd, timeoutMs = SCRIPT_TIMEOUT_MS): string | null {
  const { code, signal, timedOut } = end;
  if (end.error) return `could not be run: ${end.error}`;
  if (timedOut) return `ran longer than ${timeoutMs / 1000} s and was killed`;
  if (code === 0) return null;
  if (signal) return `killed by ${signal}`;
  return `exited with ${code}`;
}

/** The script names a destroy renames to NAME.destroyed (vzctl's move_config). */
export function ownScriptNames(id: CtId): string[] {
  return SCRIPT_ACTIONS.map((a) => `${id}.${a}`);
}
