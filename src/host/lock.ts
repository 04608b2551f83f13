// Per-container locks. Node has no flock(): a helper process takes it and holds it until this
// process exits (it watches our pid with a pidfd), so a SIGKILLed berth leaves no stale lock.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { lockArgs } from '../core/helper-args.ts';
import { runHelper } from './helper.ts';
import { readProcStat } from './proc.ts';

export interface Lock {
  release(): void;
}

/** Takes the lock or fails at once with LOCKED (vzctl does not wait either). */
export function acquireLock(helper: string, file: string, what: string): Lock {
  mkdirSync(dirname(file), { recursive: true });
  const r = runHelper(helper, lockArgs(file, process.pid), { stdio: ['ignore', 'ignore', 'ignore'] });
  const holder = r.pid;
  if (r.error || holder === null) {
    if (r.error?.errno !== 11)
      throw new BerthError('SYSTEM', `${what}: lock ${file}: ${r.error?.message ?? 'helper failed'}`);
    const who = lockHolder(file);
    throw new BerthError('LOCKED', `${what}: container is locked${who ? ` by ${who}` : ''}`, {
      hint: 'another berth command is working on it; try again when it is done',
    });
  }
  return {
    release() {
      try {
        process.kill(holder, 'SIGKILL');
      } catch {}
    },
  };
}

/**
 * Who holds the lock, from /proc/locks (no pid is written into the lock file: a refused command
 * must change nothing on disk). The flock belongs to a helper whose session was started by berth.
 */
function lockHolder(file: string): string {
  try {
    const ino = statSync(file).ino;
    const line = readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .find((l) => l.includes('FLOCK') && l.split(/\s+/)[5]?.endsWith(`:${ino}`));
    const pid = Number(line?.split(/\s+/)[4]);
    const watched = pid ? /--watch-pid\0(\d+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] : undefined;
    if (!watched || !readProcStat(Number(watched))) return '';
    const cmd = readFileSync(`/proc/${watched}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const at = cmd.findIndex((a) => a.endsWith('/berth'));
    return `pid ${watched} (berth ${cmd.slice(at + 1).join(' ')})`;
  } catch {
    return '';
  }
}
