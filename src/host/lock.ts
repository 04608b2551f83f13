// Per-container locks. Node has no flock(), so a tiny helper process holds it for us and dies with us.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { lockArgs } from '../core/helper-args.ts';
import { readProcStat } from './proc.ts';

export interface Lock {
  release(): void;
}

/**
 * Takes the lock or fails at once with LOCKED (vzctl does not wait either). If this process is
 * killed, the holder sees EOF on its stdin (and PDEATHSIG) and exits: no stale lock survives.
 */
export async function acquireLock(helper: string, file: string, what: string): Promise<Lock> {
  mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
  const child = spawn(helper, lockArgs(file), { stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.on('error', reject);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf);
    });
    child.stdout.on('close', () => resolve(buf));
  }).catch((err: unknown) => {
    throw new BerthError('SYSTEM', `run ${helper}: ${(err as Error).message}`, {
      hint: 'build the helper with `make -C helper` (the setup script does this)',
    });
  });
  if (!line.includes('"locked":true')) {
    const holder = lockHolder(file);
    throw new BerthError('LOCKED', `${what}: container is locked${holder ? ` by ${holder}` : ''}`, {
      hint: 'another berth command is working on it; try again when it is done',
    });
  }
  child.stdout.destroy();
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return {
    release() {
      child.stdin.end();
    },
  };
}

/**
 * Who holds the lock, from /proc/locks (no pid is written into the lock file: a refused command
 * must change nothing on disk). The flock belongs to the helper; its parent is the berth command.
 */
function lockHolder(file: string): string {
  try {
    const ino = statSync(file).ino;
    const line = readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .find((l) => l.includes('FLOCK') && l.split(/\s+/)[5]?.endsWith(`:${ino}`));
    const pid = Number(line?.split(/\s+/)[4]);
    const parent = pid ? readProcStat(pid)?.ppid : undefined;
    if (!parent) return '';
    const cmd = readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const at = cmd.findIndex((a) => a.endsWith('/berth'));
    return `pid ${parent} (berth ${cmd.slice(at + 1).join(' ')})`;
  } catch {
    return '';
  }
}
