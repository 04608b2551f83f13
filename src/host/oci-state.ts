// berth-oci's state directory (--root, /run/berth-oci by default; containerd passes its own):
// ROOT/ID/state.json per container, written atomically, so a berth-oci killed at any point
// leaves either the record before or the one after. The status reported is the record's
// checked against the kernel: a recorded init that no longer runs is "stopped".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import type { OciHook } from '../core/oci-spec.ts';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import type { Host } from './host.ts';
import { isAlive } from './proc.ts';

export const DEFAULT_OCI_ROOT = '/run/berth-oci';

/** What berth-oci records of a container (its own fields; `state` prints the spec's). */
export interface OciRecord {
  id: string;
  /** the container's init; null until create has it */
  pid: number | null;
  /** its start time in /proc/PID/stat: a reused pid is not taken for it */
  startTime: number | null;
  bundle: string;
  rootfs: string;
  /** ISO 8601, when create began */
  created: string;
  status: 'creating' | 'created' | 'running';
  annotations: Record<string, string>;
  /**
   * where its cgroups are, under each hierarchy (cgroupsPath, split); ownParent: create made the
   * parent level too, so delete may remove it once empty (never one it found)
   */
  cgroup: { parent: string; name: string; ownParent?: boolean };
  /** the namespaces it made, in the helper's names: what exec joins */
  namespaces: string[];
  /** its limits as last set (create, update), in berth's terms */
  resources: Resources;
  /** a system container's id range from berth's pool (absent: none of berth's) */
  idBase?: number | null;
  /** the seccomp policy text its process loaded, which exec's load too (absent: berth's default) */
  seccomp?: string;
  /** the hooks that run after create: at start and at delete (config.json may be gone by then) */
  hooks: { poststart: OciHook[]; poststop: OciHook[] };
}

export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** runc's rule for ids: letters, digits, _ + - . (and not . or ..): a path component, nothing more */
export function checkOciId(id: string | undefined): string {
  if (!id || !/^[\w+.-]{1,1024}$/.test(id) || id === '.' || id === '..') {
    throw new BerthError('BAD_VALUE', `invalid container id ${JSON.stringify((id ?? '').slice(0, 80))}`, {
      hint: 'letters, digits, _ + - . (as runc)',
    });
  }
  return id;
}

const recordPath = (root: string, id: string) => join(root, id, 'state.json');

export function readOciRecord(root: string, id: string): OciRecord | null {
  const text = readIfExists(recordPath(root, checkOciId(id)));
  if (text === null) return null;
  try {
    return JSON.parse(text) as OciRecord;
  } catch {
    return null; // atomic writes: only a file made by hand can be torn
  }
}

export function writeOciRecord(root: string, r: OciRecord): void {
  writeFileAtomic(recordPath(root, r.id), `${JSON.stringify(r)}\n`, 0o600, false);
}

/** The record's status as the kernel has it now. */
export function statusOf(host: Host, r: OciRecord): OciStatus {
  if (r.pid === null) return r.status === 'creating' ? 'creating' : 'stopped';
  return isAlive(host, r.pid, r.startTime) ? r.status : 'stopped';
}

export function listOciIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^[\w+.-]+$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** The FIFO `start` opens (made by the helper at create, removed by start). */
export const execFifoPath = (root: string, id: string) => join(root, checkOciId(id), 'exec.fifo');

/**
 * Whether process PID holds an fd of FILE. A created container's process holds its exec FIFO
 * from before create returns until its execve (which closes it): a FIFO still there that the
 * process no longer holds was read by a start killed before it removed it.
 */
export function holdsFile(pid: number, file: string): boolean {
  let want: { dev: number; ino: number };
  let fds: string[];
  try {
    want = statSync(file);
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      return st.ino === want.ino && st.dev === want.dev;
    } catch {
      return false; // closed meanwhile
    }
  });
}
