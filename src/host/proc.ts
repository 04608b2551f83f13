// Facts about host processes from /proc: start time (pid reuse guard), liveness, namespaces.
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields start after the last ')'
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0] ?? '?', ppid: Number(f[1]), startTime: Number(f[19]) };
  } catch {
    return null;
  }
}

/** The start time of a running pid; null if it is gone or a zombie (this host's PID 1 may never reap it). */
export function liveStartTime(pid: number): number | null {
  const st = readProcStat(pid);
  return st && st.state !== 'Z' && st.state !== 'X' ? st.startTime : null;
}

/** Whether pid runs (and, given a start time, is still the same process). */
export function isAlive(pid: number, startTime: number | null): boolean {
  const t = liveStartTime(pid);
  return t !== null && (startTime === null || t === startTime);
}

/** The pid as seen in its innermost pid namespace (last NSpid field). */
export function innermostPid(pid: number): number | null {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const last = m?.[1]?.trim().split(/\s+/).pop();
    return last ? Number(last) : null;
  } catch {
    return null;
  }
}

/** A synchronous sleep, for waits that have nothing else to do meanwhile (locks, lxcfs). */
export function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** PID runs in a user namespace of its own (an unprivileged container), not ours. */
export function ownUserns(pid: number): boolean {
  const theirs = nsId(pid, 'user');
  return theirs !== null && theirs !== nsId('self', 'user');
}

export function nsId(pid: number | 'self', ns: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return null;
  }
}

/** The capability bounding set of PID (CapBnd), or null once it is gone. */
export function boundingCaps(pid: number): bigint | null {
  try {
    const m = /^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

/** The permitted capability mask of this process (CapPrm of /proc/self/status). */
export function ownCapabilities(): bigint {
  const m = /^CapPrm:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
}

export function exePath(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}
