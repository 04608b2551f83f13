// Action scripts on the host: who owns a script file, and running a host-side one confined to
// a clean environment and a time limit (which scripts, and what failure means: core/action-scripts.ts).
import { closeSync, constants, fstatSync, lstatSync, openSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { checkScript, type FileFacts, SCRIPT_TIMEOUT_MS, type ScriptEnd } from '../core/action-scripts.ts';
import type { BerthError } from '../core/errors.ts';
import { errCode } from './fs-util.ts';
import { childProcess } from './spawn.ts';

function facts(st: Stats): FileFacts {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return { uid: st.uid, mode: st.mode, kind };
}

/** Whether a script file is there at all (a dangling or any symlink counts: it is refused later). */
export function scriptPresent(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

/** Checks a present script and its directory (core checkScript); the refusal, or null. */
export function vetScript(path: string, inside: boolean): BerthError | null {
  return checkScript(path, facts(lstatSync(path)), facts(lstatSync(dirname(path))), inside);
}

/**
 * Opens a vetted script for reading, to feed its text to the container's shell. O_NOFOLLOW and
 * the fstat make it the very file vetScript judged, even if it was replaced in between.
 */
export function openScript(path: string): { fd: number } | { refused: BerthError } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const refused = checkScript(path, facts(fstatSync(fd)), facts(lstatSync(dirname(path))), true);
  if (refused) {
    closeSync(fd);
    return { refused };
  }
  return { fd };
}

/**
 * Runs a host-side script as berth's user (root) with only ENV, cwd /, stdin /dev/null and its
 * output on berth's stderr (a --json stdout stays clean). It runs in a process group of its own:
 * past timeoutMs the whole group is killed, so no sleeping child of a hung script holds berth.
 */
export function runHostScript(
  path: string,
  env: Record<string, string>,
  timeoutMs = SCRIPT_TIMEOUT_MS,
): Promise<ScriptEnd> {
  return new Promise((resolve) => {
    let timedOut = false;
    const child = childProcess().spawn(path, [], {
      cwd: '/',
      env,
      stdio: ['ignore', 2, 2],
      detached: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut: false, error: err.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}
