// Per-container locks as a symlink whose target names the holder (pid, start time, boot, pid
// namespace). Taking one is a single symlink(2) (no helper process, no flock), releasing it an
// unlink. A holder killed with SIGKILL leaves its link behind: the next command sees that the
// holder is gone and breaks the link, under a flock so two breakers cannot race.
import { mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { lockArgs } from '../core/helper-args.ts';
import { formatLock, judgeHolder, type LockHolder, type Observer, parseLock } from '../core/lock-record.ts';
import { errCode, errText } from './fs-util.ts';
import type { Host } from './host.ts';
import { liveStartTime, nsId, pause } from './proc.ts';

export interface Lock {
  release(): void;
}

const selves = new WeakMap<Host, { obs: Observer; me: Omit<LockHolder, 'what'> }>();

/** This process's side of every lock it takes: read once (create takes three locks). */
function observer(host: Host): { obs: Observer; me: Omit<LockHolder, 'what'> } {
  let self = selves.get(host);
  if (!self) {
    const obs = {
      bootId: (host.readProc('sys/kernel/random/boot_id') ?? '').trim(),
      pidNs: nsId(host, 'self', 'pid') ?? '',
      startTimeOf: (pid: number) => liveStartTime(host, pid),
    };
    const me = {
      pid: process.pid,
      startTime: liveStartTime(host, process.pid) ?? 0,
      bootId: obs.bootId,
      pidNs: obs.pidNs,
    };
    self = { obs, me };
    selves.set(host, self);
  }
  return self;
}

function readLink(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    if (errCode(err) === 'EINVAL') return ''; // a regular file: an old flock-style lock file
    throw err;
  }
}

/** how long a command waits for the guard of lock breaking (each breaker holds it for ms) */
const GUARD_WAIT_MS = 5000;

export interface LockOptions {
  /** how long to wait for a live holder, in ms (0: fail at once) */
  waitMs?: number;
  /** the berthd request the lock is taken for (ctx.request): two requests are told apart in a LOCKED */
  request?: string | undefined;
}

/**
 * Takes the lock or fails with LOCKED: at once by default (vzctl does not wait either), or
 * after waiting up to waitMs for a live holder (never for one berth cannot judge).
 */
export function acquireLock(host: Host, helper: string, file: string, what: string, opts: LockOptions = {}): Lock {
  const end = Date.now() + (opts.waitMs ?? 0);
  const guardEnd = Date.now() + GUARD_WAIT_MS;
  const { obs, me } = observer(host);
  const request = opts.request;
  const record = formatLock({ ...me, what: request ? `${what} for berthd request ${request.slice(0, 64)}` : what });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        symlinkSync(record, file);
        return { release: () => releaseLock(file, record) };
      } catch (err) {
        if (errCode(err) === 'ENOENT') {
          mkdirSync(dirname(file), { recursive: true });
          continue;
        }
        if (errCode(err) !== 'EEXIST') throw err;
      }
      const seen = readLink(file);
      if (seen === null) continue; // released meanwhile
      const holder = parseLock(seen);
      const verdict = judgeHolder(holder, obs);
      if (verdict === 'alive' && Date.now() < end) {
        pause(20);
        attempt = 0;
        continue;
      }
      if (verdict !== 'stale') throw lockedError(what, file, holder, verdict);
      // the guard is busy while another command breaks a stale lock (of any container, after a
      // crash often several at once): wait for it rather than use up the attempts and say LOCKED
      if (!breakStale(host, helper, file, seen, what) && Date.now() < guardEnd) {
        pause(10);
        attempt = -1;
      }
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError('SYSTEM', `${what}: lock ${file}: ${errText(err)}`, { cause: err });
  }
  throw new BerthError('LOCKED', `${what}: could not take the lock ${file}`, {
    hint: 'other berth commands keep taking it; try again',
  });
}

function releaseLock(file: string, record: string): void {
  try {
    // only our own link: never one that a breaker judged stale and someone else re-took
    if (readlinkSync(file) === record) unlinkSync(file);
  } catch {}
}

/**
 * Removes a link whose holder is gone; false when another command holds the guard. Breakers
 * serialize on a flock (held by a helper process, as Node has no flock) and re-read the link
 * under it: it must still be the stale record.
 */
function breakStale(host: Host, helper: string, file: string, stale: string, what: string): boolean {
  const guard = join(dirname(file), '.break.lck');
  const r = host.runHelper(helper, lockArgs(guard, process.pid), { stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.error || r.pid === null) {
    if (r.error?.errno === 11) return false; // another command is breaking one right now
    throw new BerthError('SYSTEM', `${what}: lock ${guard}: ${r.error?.message ?? 'helper failed'}`);
  }
  try {
    if (readLink(file) === stale) unlinkSync(file);
  } finally {
    host.kill(r.pid, 'SIGKILL');
  }
  return true;
}

function lockedError(what: string, file: string, h: LockHolder | null, verdict: 'alive' | 'unknown'): BerthError {
  const by = h ? ` by pid ${h.pid} (berth ${h.what})` : '';
  if (verdict === 'unknown') {
    return new BerthError('LOCKED', `${what}: locked${by} in another pid namespace`, {
      hint: `if no berth command runs there, remove ${file}`,
    });
  }
  return new BerthError('LOCKED', `${what}: locked${by}`, {
    hint: 'another berth command is working on it; try again when it is done',
  });
}
