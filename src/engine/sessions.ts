// enter sessions a checkpoint carries (ops/enter.ts, ops/chkpnt.ts, docs/checkpoint.md). Each
// session's helper records itself (helper/nsexec.c write_session_record): its host pid, the
// pid of the shell's parent in the container, and its pty as CRIU keys it. chkpnt asks each
// helper (SIGUSR1) to end that parent, so the shell becomes init's child and is dumped with
// its tree; the helper relays the pty until the checkpoint ends the container.
import { join } from 'node:path';
import type { CarriedSession } from '../core/criu.ts';
import { MAX_SESSIONS, ttyKey } from '../core/criu.ts';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { cgroupPidsOne } from '../host/cgroups.ts';
import { makeDir, removeFile } from '../host/files.ts';
import { listDir, readIfExists, writeFileAtomic } from '../host/fs-util.ts';
import { carriedDir, carriedMarkPath, sessionsDir } from '../host/paths.ts';
import { pause, readProcStat } from '../host/proc.ts';
import type { Ctx } from './context.ts';
import { cgroupDirsOf } from './inspect.ts';

const SIGUSR1 = 10;

interface LiveSession {
  name: string;
  helper: number;
  child: number;
  tty: string;
}

/** The record NAME's facts, if it is whole and its processes are still what it says. */
function liveSession(ctx: Ctx, dir: string, name: string, inCt: ReadonlySet<number>): LiveSession | null {
  let r: { helper?: unknown; child?: unknown; rdev?: unknown; dev?: unknown };
  try {
    r = JSON.parse(readIfExists(join(dir, name)) ?? 'null') ?? {};
  } catch {
    return null;
  }
  const ints = [r.helper, r.child, r.rdev, r.dev];
  if (!ints.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) return null;
  const [helper, child, rdev, dev] = ints as number[];
  // the shell's parent is in the container and the helper's child; the helper is not in the
  // container (a pid reused since is neither) and catches SIGUSR1 (it would kill another helper)
  if (!inCt.has(child as number) || inCt.has(helper as number)) return null;
  if (readProcStat(ctx.host, child as number)?.ppid !== helper) return null;
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(ctx.host.readProc(`${helper}/status`) ?? '')?.[1];
  if (!caught || !((BigInt(`0x${caught}`) >> BigInt(SIGUSR1 - 1)) & 1n)) return null;
  return { name, helper: helper as number, child: child as number, tty: ttyKey(rdev as number, dev as number) };
}

/**
 * The sessions a checkpoint of running container ID carries: those a restore carried over,
 * which its keeper holds (KEPT, from the runtime state: they keep their numbers; one whose
 * shell ended costs the next restore a pty that goes at once), and every recorded enter
 * session, handed to init (its shell's parent killed by the helper) and marked with the next
 * free number. Stale records go. A session whose parent does not go within 2 s fails the
 * chkpnt (unmarked).
 */
export function carrySessions(ctx: Ctx, id: CtId, kept: readonly CarriedSession[] = []): CarriedSession[] {
  const dir = sessionsDir(ctx.paths, id);
  const names = listDir(dir)
    .filter((n) => /^\d+$/.test(n))
    .sort((a, b) => Number(a) - Number(b));
  if (names.length === 0) return [...kept];
  const inCt = new Set(cgroupPidsOne(cgroupDirsOf(ctx, id)));
  const live: LiveSession[] = [];
  for (const name of names) {
    const s = liveSession(ctx, dir, name, inCt);
    if (s) live.push(s);
    else removeFile(join(dir, name));
  }
  if (live.length + kept.length > MAX_SESSIONS) {
    throw new BerthError(
      'CHKPNT',
      `chkpnt ${id}: ${live.length + kept.length} enter sessions run or are kept; a checkpoint carries ${MAX_SESSIONS}`,
      { hint: 'end some of them first' },
    );
  }
  const taken = new Set(kept.map((s) => s.n));
  const free = Array.from({ length: MAX_SESSIONS }, (_, k) => k + 1).filter((n) => !taken.has(n));
  const carried = live.map((s, k) => ({ n: free[k] as number, tty: s.tty }));
  // beside the run directory, which the stop at the end of chkpnt removes before the admin's
  // berth enter (ops/enter.ts) may read its mark
  makeDir(carriedDir(ctx.paths), 0o700);
  for (const [k, s] of live.entries())
    writeFileAtomic(carriedMarkPath(ctx.paths, id, s.name), `${carried[k]?.n}\n`, 0o600, false);
  for (const s of live) ctx.host.kill(s.helper, SIGUSR1);
  for (let i = 0; i < 200 && live.some((s) => readProcStat(ctx.host, s.child)?.ppid === s.helper); i++) pause(10);
  const stuck = live.filter((s) => readProcStat(ctx.host, s.child)?.ppid === s.helper);
  if (stuck.length) {
    uncarrySessions(ctx, id);
    throw new BerthError(
      'CHKPNT',
      `chkpnt ${id}: enter sessions did not let go of their shells (pids ${stuck.map((s) => s.child).join(' ')})`,
    );
  }
  return [...kept, ...carried];
}

/** A failed chkpnt: the sessions go on here (their shells now init's children), unmarked. */
export function uncarrySessions(ctx: Ctx, id: CtId): void {
  const marks = carriedDir(ctx.paths);
  for (const n of listDir(marks)) if (n.startsWith(`${id}.`)) removeFile(join(marks, n));
}
