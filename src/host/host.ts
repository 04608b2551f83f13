// The kernel and the host's processes behind one interface, as youki's Syscall trait: ops and
// engine reach them through ctx.host, and unit tests give them a recording fake instead
// (test/unit/fake-host.ts).
//
// Why this level: berth's files all live under one --root prefix (host/paths.ts), so a unit test
// points ctx.paths at a temp tree and the file code runs for real there; the cgroup tree is
// where ctx.layout() says, a temp tree too. What cannot live in a temp tree is what is outside
// the root and what needs root: process runs (the helper, nft, mknod, action scripts), /proc
// (other processes, mountinfo), signals, chown, and rmdir on cgroupfs (whose kernel files do not
// count as contents). Those, and only those, are the few primitives below; the logic over them
// (parsing /proc, cgroup ordering, helper status records) stays in host/, tested with the fake.
// Not yet behind it: the lxcfs daemon's start, the build of a template's rootfs (debootstrap,
// chroot, busybox's applet list) and reads of /sys (loop devices, online CPUs).
import { chownSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import type { ScriptEnd } from '../core/action-scripts.ts';
import { runHostScript } from './action-scripts.ts';
import {
  type HelperAsyncOptions,
  type HelperCaptured,
  type HelperOptions,
  type HelperResult,
  runHelper,
  runHelperAsync,
} from './helper.ts';
import { childProcess } from './spawn.ts';
import type { PipeSource } from './tools.ts';

/** How a short host tool ended. */
export interface ToolResult {
  /** null: it did not run (not installed), or died of a signal */
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Host {
  /** runs berth-nsexec (any mode) to its end and reads its status records (host/helper.ts) */
  runHelper(helper: string, args: string[], opts: HelperOptions): HelperResult;
  /** the same, without blocking: stdin given whole, stdout and stderr collected (berthd's exec) */
  runHelperAsync(helper: string, args: string[], opts: HelperAsyncOptions): Promise<HelperCaptured>;
  /**
   * runs a short host tool to its end (nft, mknod, fsfreeze, e2fsck, du, tar -t), stdin from
   * `input`; output past maxBytes (64 MiB) kills it and counts as a failure (status null)
   */
  tool(cmd: string, args: string[], opts?: { input?: string; maxBytes?: number }): ToolResult;
  /** runs a tool that may take long (tar, cp, rsync, zstd), killed with berth; stderr lines to onLine (host/tools.ts) */
  run(cmd: string, args: string[], onLine?: (line: string) => void, ok?: readonly number[]): Promise<void>;
  /** runs `src | dst` (src a tool or a file's byte range): src's output to onData on the way, dst's to onOut (host/tools.ts) */
  pipe(
    src: PipeSource,
    dst: readonly string[],
    onData?: (d: Buffer) => void,
    onOut?: (d: Buffer) => void,
  ): Promise<void>;
  /** runs an admin's action script on the host with only ENV (host/action-scripts.ts) */
  runScript(path: string, env: Record<string, string>): Promise<ScriptEnd>;
  /** a file under /proc ("PID/stat", "self/mountinfo"); null when it is not there (a process gone) */
  readProc(path: string): string | null;
  /** a link under /proc ("PID/exe", "self/ns/pid"); null when it is not there */
  readProcLink(path: string): string | null;
  /** sends a signal; a process already gone is no error */
  kill(pid: number, signal: NodeJS.Signals | number): void;
  /** gives a file to a host uid (an unprivileged container's cgroups and device nodes) */
  chown(path: string, uid: number, gid: number): void;
  /** removes a cgroup directory (rmdir on cgroupfs); throws as rmdir does (ENOENT, EBUSY) */
  rmdirCgroup(dir: string): void;
}

function orNull<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/** The real one: Linux through node:fs, the helper and the host's tools. */
export const linuxHost: Host = {
  runHelper,
  runHelperAsync,
  tool(cmd, args, opts = {}) {
    const r = childProcess().spawnSync(cmd, args, {
      encoding: 'utf8',
      maxBuffer: opts.maxBytes ?? 64 << 20, // `nft list table` of a host with many containers' elements
      ...(opts.input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input: opts.input }),
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr || r.error?.message || '' };
  },
  // the tools module (and node:crypto) loads only for a verb that runs one: start-up is user-visible
  run: async (cmd, args, onLine, ok) => (await import('./tools.ts')).run(cmd, args, onLine, ok),
  pipe: async (src, dst, onData, onOut) => (await import('./tools.ts')).pipeTools(src, dst, onData, onOut),
  runScript: (path, env) => runHostScript(path, env),
  readProc: (path) => orNull(() => readFileSync(`/proc/${path}`, 'utf8')),
  readProcLink: (path) => orNull(() => readlinkSync(`/proc/${path}`)),
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch {}
  },
  chown: (path, uid, gid) => chownSync(path, uid, gid),
  rmdirCgroup: (dir) => rmdirSync(dir),
};
