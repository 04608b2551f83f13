// What a lock file says about its holder, and whether that holder can still be running.
// The record is the target of a symlink, so it appears on disk whole in one syscall.

export interface LockHolder {
  pid: number;
  /** clock ticks after boot (field 22 of /proc/PID/stat): a recycled pid never matches */
  startTime: number;
  bootId: string;
  /** the holder's pid namespace ("pid:[4026531836]"): its pid means nothing in another one */
  pidNs: string;
  /** what the holder is doing, for the LOCKED message */
  what: string;
}

const PREFIX = 'berth-lock';

export function formatLock(h: LockHolder): string {
  return [PREFIX, h.pid, h.startTime, h.bootId, h.pidNs, h.what.replace(/[\n/]/g, ' ')].join(':');
}

/** null for anything that is not a record (an old flock-style lock file, garbage). */
export function parseLock(text: string): LockHolder | null {
  const f = text.split(':');
  if (f[0] !== PREFIX || f.length < 7) return null;
  // pidNs itself contains a colon ("pid:[N]"): fields 4-5, then the free text
  const [pid, startTime] = [Number(f[1]), Number(f[2])];
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(startTime)) return null;
  return { pid, startTime, bootId: f[3] ?? '', pidNs: `${f[4]}:${f[5]}`, what: f.slice(6).join(':') };
}

/** Facts about the machine, as the judging process sees them. */
export interface Observer {
  bootId: string;
  pidNs: string;
  /** start time of a pid that is running (not a zombie), or null */
  startTimeOf: (pid: number) => number | null;
}

/**
 * 'alive': the holder runs; 'stale': it cannot (a previous boot, or its process is gone);
 * 'unknown': it belongs to another pid namespace, where its pid cannot be checked.
 */
export function judgeHolder(h: LockHolder | null, o: Observer): 'alive' | 'stale' | 'unknown' {
  if (h === null) return 'stale';
  if (h.bootId !== o.bootId) return 'stale';
  if (h.pidNs !== o.pidNs) return 'unknown';
  return o.startTimeOf(h.pid) === h.startTime ? 'alive' : 'stale';
}
