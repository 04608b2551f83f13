// What berth-oci's verbs share: the state directory's records, the container's cgroups, and
// the signals. (The CLI's verbs have engine/ for this; an OCI container is no berth container:
// no config, no private area, its root given by the bundle.)
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { fnv1a64 } from '../core/hash.ts';
import { ociHookRunArgs } from '../core/oci-plan.ts';
import { OCI_VERSION } from '../core/oci-spec.ts';
import { makeCtx } from '../engine/context.ts';
import { releaseOciIdBase } from '../engine/idmap.ts';
import {
  type CgroupDir,
  type CgroupLayout,
  cgroupPids,
  ctDirs,
  detectLayout,
  isFrozen,
  removeCgroups,
  setFrozen,
} from '../host/cgroups.ts';
import { linuxHost } from '../host/host.ts';
import { mountPoints, readMountinfo } from '../host/mountinfo.ts';
import { unmountRoot } from '../host/mounts.ts';
import {
  checkOciId,
  execFifoPath,
  holdsFile,
  type OciRecord,
  type OciStatus,
  readOciRecord,
  statusOf,
} from '../host/oci-state.ts';
import { pause } from '../host/proc.ts';
import { trace } from '../host/trace.ts';
import { runAsCaller } from './caller.ts';
import { type OciGlobal, warn } from './main.ts';

/** The record of container ID, or the words the shim and Podman match on: "does not exist". */
export function mustRecord(g: OciGlobal, id: string | undefined): OciRecord {
  const r = readOciRecord(g.root, checkOciId(id));
  if (!r) throw new BerthError('NO_CT_CONFIG', `container does not exist: ${id}`);
  return r;
}

/** Whether the recorded process runs (created or running, as recorded), or is stopped. */
export const statusOfProcess = (r: OciRecord): OciStatus => statusOf(linuxHost, r);

/**
 * The status as the kernel has it now: a running container whose cgroups are frozen is
 * paused, and a created one whose process no longer holds its exec FIFO was started (by a
 * start killed before it recorded so, or before it removed the FIFO it had read).
 */
export function statusNow(g: OciGlobal, r: OciRecord): OciStatus {
  const s = statusOf(linuxHost, r);
  if (s === 'created' && !holdsFile(r.pid as number, execFifoPath(g.root, r.id))) return 'running';
  if (s !== 'running') return s;
  const layout = layoutNow();
  return isFrozen(layout, cgroupDirs(r, layout)) ? 'paused' : s;
}

/** The host's cgroup layout (a read of mountinfo): a command reads it once and passes it on. */
export const layoutNow = (): CgroupLayout => detectLayout(readMountinfo(linuxHost));

export function cgroupDirs(r: OciRecord, layout: CgroupLayout = layoutNow()): CgroupDir[] {
  return ctDirs(layout, r.cgroup.parent, r.cgroup.name);
}

/** "SIGTERM", "TERM", "15": a signal number (runc takes all three forms). */
export function signalNumber(raw: string | undefined): number {
  const SIGNALS: Record<string, number> = {
    HUP: 1,
    INT: 2,
    QUIT: 3,
    ILL: 4,
    TRAP: 5,
    ABRT: 6,
    BUS: 7,
    FPE: 8,
    KILL: 9,
    USR1: 10,
    SEGV: 11,
    USR2: 12,
    PIPE: 13,
    ALRM: 14,
    TERM: 15,
    STKFLT: 16,
    CHLD: 17,
    CONT: 18,
    STOP: 19,
    TSTP: 20,
    TTIN: 21,
    TTOU: 22,
    URG: 23,
    XCPU: 24,
    XFSZ: 25,
    VTALRM: 26,
    PROF: 27,
    WINCH: 28,
    IO: 29,
    PWR: 30,
    SYS: 31,
  };
  const s = (raw ?? 'TERM').toUpperCase().replace(/^SIG/, '');
  // the real-time ones as glibc numbers them (34 to 64): SIGRTMIN+3 is what stops systemd
  const rt = /^RT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(s);
  const n = rt
    ? (rt[1] === 'MIN' ? 34 : 64) + (rt[2] === '-' ? -1 : 1) * Number(rt[3] ?? 0)
    : /^\d+$/.test(s)
      ? Number(s)
      : SIGNALS[s];
  if (n === undefined || n < 1 || n > 64 || (rt && n < 34))
    throw new BerthError('BAD_VALUE', `invalid signal ${JSON.stringify(raw)}`);
  return n;
}

/** Every process in the container's cgroups gets SIG; with wait, again until none is left (10 s). */
export function killAll(r: OciRecord, sig: number, wait: boolean, layout: CgroupLayout = layoutNow()): void {
  const dirs = cgroupDirs(r, layout);
  // frozen tasks (a paused container) take no signal until thawed: v1 would wait forever
  if (wait && isFrozen(layout, dirs)) setFrozen(layout, dirs, false);
  const found = cgroupPids(dirs);
  for (const pid of found) linuxHost.kill(pid, sig);
  // none to wait for: a delete after the process exited (every `docker run --rm`) reads the
  // cgroups once, not twice (removeContainer kills again should its rmdir find one)
  if (!wait || found.length === 0) return;
  for (let i = 0; i < 500; i++) {
    const left = cgroupPids(dirs);
    if (left.length === 0) return;
    for (const pid of left) linuxHost.kill(pid, sig);
    pause(20);
  }
  throw new BerthError('STOP_FAILED', `container ${r.id}: its processes survive signal ${sig}`);
}

/**
 * Where create stages the idmapped copies of a system container's root and binds: under berth's
 * own run directory, whose every level its owner (host uid 0) may search. The helper's child
 * walks there with uid 0 but without the host's capabilities; a caller's --root may not be
 * searchable so (containerd makes /run/containerd 0600).
 */
export function stageDirOf(g: OciGlobal, id: string): string {
  // not node:crypto's sha256: loading it cost every verb that reaches here (start and delete
  // among them) 2-3 ms of Bun's start-up, and the name need only be distinct
  return join(g.berth.run, 'oci-stage', fnv1a64(`${resolve(g.root)}\0${checkOciId(id)}`));
}

/** Removes the container's cgroups (its processes gone), its id range and its state directory. */
export function removeContainer(g: OciGlobal, r: OciRecord): void {
  // a create killed midway may leave its helper at work: what it still puts in the cgroups
  // is killed too, until they can go
  trace('oci remove: begin');
  const layout = layoutNow();
  for (let i = 0; ; i++) {
    // rmdir first: the kernel refuses one that holds a process (EBUSY), so a container whose
    // processes are gone (the shim's delete after the exit) is removed without reading the
    // cgroup.procs of every hierarchy; the ones still busy have theirs killed, then go
    const busy = removeCgroups(linuxHost, cgroupDirs(r, layout), r.cgroup.ownParent === true);
    if (busy.length === 0) break;
    if (i === 100) throw new BerthError('STOP_FAILED', `container ${r.id}: cgroups still busy: ${busy.join(' ')}`);
    if (i > 0) pause(20);
    killAll(r, 9, true, layout);
    trace('oci remove: killed');
  }
  trace('oci remove: cgroups');
  if (typeof r.idBase === 'number') {
    releaseOciIdBase(
      makeCtx(g.berth, () => {}),
      r.idBase,
      { root: resolve(g.root), id: r.id },
    );
  }
  trace('oci remove: ids');
  removeStateDir(g, r.id);
  trace('oci remove: state');
}

export function removeStateDir(g: OciGlobal, id: string): void {
  const dir = join(g.root, checkOciId(id));
  const stage = stageDirOf(g, id);
  // nothing there (the shim's delete --force after a delete): no mount table to read
  if (!existsSync(dir) && !existsSync(stage)) return;
  // a create killed between staging and the clone leaves idmapped copies mounted in the stage:
  // they go first, and nothing there is removed while anything is mounted (a recursive removal
  // would walk into the image's files)
  const under = () =>
    [...mountPoints(readMountinfo(linuxHost))].filter((m) => m === stage || m.startsWith(`${stage}/`));
  for (const m of under().reverse()) unmountRoot(linuxHost, g.helper, m);
  const left = under();
  if (left.length) throw new BerthError('CANT_UMOUNT', `container ${id}: still mounted: ${left.join(' ')}`);
  // never recursive: the stage holds only empty mount points, and a helper still at work (its
  // berth-oci killed) may mount on one meanwhile; unlink and rmdir fail on a mount (EBUSY)
  // rather than walk into it
  for (const e of existsSync(stage) ? readdirSync(stage, { withFileTypes: true }) : []) {
    (e.isDirectory() ? rmdirSync : unlinkSync)(join(stage, e.name));
  }
  if (existsSync(stage)) rmdirSync(stage);
  // the record goes last: a delete killed midway leaves it, and the next delete --force goes on
  rmSync(join(dir, 'exec.fifo'), { force: true });
  rmSync(join(dir, 'state.json'), { force: true });
  rmSync(dir, { recursive: true, force: true });
}

/** The state without status and pid, open for them (the helper adds them for the hooks it runs). */
export function hookStatePrefix(r: Pick<OciRecord, 'id' | 'bundle' | 'annotations'>): string {
  return JSON.stringify({ ociVersion: OCI_VERSION, id: r.id, bundle: r.bundle, annotations: r.annotations }).slice(
    0,
    -1,
  );
}

/**
 * Runs R's poststart or poststop hooks in order, through the helper run by the caller's process
 * (runAsCaller: served or not, they are the caller's descendants, as runc's). A failing one is a
 * warning on stderr and in the log, and the rest still run (runtime-spec: the operation goes on).
 */
export function runHooks(g: OciGlobal, kind: 'poststart' | 'poststop', r: OciRecord, status: string): void {
  const hooks = r.hooks[kind];
  if (hooks.length === 0) return;
  const res = runAsCaller(g, ociHookRunArgs(kind, hooks, hookStatePrefix(r), status, r.pid ?? 0), {});
  for (const w of res.warnings) warn(g, w);
  if (res.exitCode !== 0) warn(g, `${kind} hooks: ${res.error?.message ?? `the helper exited with ${res.exitCode}`}`);
}

/**
 * The pid file the caller reads with Atoi once we exit: the pid alone, no newline, renamed into
 * place; its temporary made with O_EXCL after removing a stale one, so no planted link is followed.
 */
export function writePidFile(file: string, pid: number): void {
  const tmp = join(dirname(resolve(file)), `.${basename(file)}`);
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, String(pid));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
