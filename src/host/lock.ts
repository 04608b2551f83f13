// Per-container locks. Node has no flock(), so a tiny helper process holds it for us and dies with us.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { lockArgs } from '../core/helper-args.ts';

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
    let holder = '';
    try {
      holder = readFileSync(file, 'utf8').trim();
    } catch {}
    throw new BerthError('LOCKED', `${what}: container is locked${holder ? ` by ${holder}` : ''}`, {
      hint: 'another berth command is working on it; try again when it is done',
    });
  }
  try {
    writeFileSync(file, `pid ${process.pid}: berth ${process.argv.slice(2).join(' ')}\n`);
  } catch {}
  child.stdout.destroy();
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return {
    release() {
      child.stdin.end();
    },
  };
}
