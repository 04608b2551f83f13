// Facts about host processes from /proc (through the Host: a fake in unit tests): start time
// (pid reuse guard), liveness, namespaces, capabilities.
import type { Host } from './host.ts';

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function readProcStat(host: Host, pid: number): ProcStat | null {
  const s = host.readProc(`${pid}/stat`);
  if (s === null) return null;
  // comm may contain spaces and parentheses: the fields start after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '?', ppid: Number(f[1]), startTime: Number(f[19]) };
}

/** The start time of a running pid; null if it is gone or a zombie (this host's PID 1 may never reap it). */
export function liveStartTime(host: Host, pid: number): number | null {
  const st = readProcStat(host, pid);
  return st && st.state !== 'Z' && st.state !== 'X' ? st.startTime : null;
}

/** Whether pid runs (and, given a start time, is still the same process). */
export function isAlive(host: Host, pid: number, startTime: number | null): boolean {
  const t = liveStartTime(host, pid);
  return t !== null && (startTime === null || t === startTime);
}

/** The pid as seen in its innermost pid namespace (last NSpid field). */
export function innermostPid(host: Host, pid: number): number | null {
  const m = /^NSpid:\s*(.*)$/m.exec(host.readProc(`${pid}/status`) ?? '');
  const last = m?.[1]?.trim().split(/\s+/).pop();
  return last ? Number(last) : null;
}

/** A synchronous sleep, for waits that have nothing else to do meanwhile (locks, lxcfs). */
export function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** PID runs in a user namespace of its own (an unprivileged container), not ours. */
export function ownUserns(host: Host, pid: number): boolean {
  const theirs = nsId(host, pid, 'user');
  return theirs !== null && theirs !== nsId(host, 'self', 'user');
}

/** The kernel has time namespaces (Linux 5.6+): every container gets one (core/container-plan.ts). */
export function hasTimens(host: Host): boolean {
  return nsId(host, 'self', 'time') !== null;
}

export function nsId(host: Host, pid: number | 'self', ns: string): string | null {
  return host.readProcLink(`${pid}/ns/${ns}`);
}

/** The capability bounding set of PID (CapBnd), or null once it is gone. */
export function boundingCaps(host: Host, pid: number): bigint | null {
  const m = /^CapBnd:\s+([0-9a-f]+)$/m.exec(host.readProc(`${pid}/status`) ?? '');
  return m?.[1] ? BigInt(`0x${m[1]}`) : null;
}

/** The permitted capability mask of this process (CapPrm of /proc/self/status). */
export function ownCapabilities(host: Host): bigint {
  const m = /^CapPrm:\s*([0-9a-f]+)$/m.exec(host.readProc('self/status') ?? '');
  return m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
}

export function exePath(host: Host, pid: number): string | null {
  return host.readProcLink(`${pid}/exe`);
}
