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
// Not yet behind it: the long tool runs of templates, archives and copies (tar, cp, rsync, zstd:
// host/tools.ts), the lxcfs daemon's start, and reads of /sys (loop devices, online CPUs).
import { chownSync, readFileSync, readlinkSync, rmdirSync } from 'node:fs';
import type { ScriptEnd } from '../core/action-scripts.ts';
import { runHostScript } from './action-scripts.ts';
import { type HelperOptions, type HelperResult, runHelper } from './helper.ts';
import { childProcess } from './spawn.ts';

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
  /** runs a short host tool to its end, stdin from `input` (nft, mknod, fsfreeze, nsenter, fstrim) */
  tool(cmd: string, args: string[], input?: string): ToolResult;
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
  tool(cmd, args, input) {
    const r = childProcess().spawnSync(cmd, args, {
      encoding: 'utf8',
      maxBuffer: 64 << 20, // `nft list table` of a host with many containers' elements
      ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }),
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr || r.error?.message || '' };
  },
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
