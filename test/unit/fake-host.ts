// A recording fake of host/host.ts, as youki's TestHelperSyscall: it keeps a table of host
// processes whose /proc files it answers, records every helper run, tool run, signal, chown and
// cgroup removal, and lets a test script the helper's answers. cgroupfs is emulated on the temp
// tree the test's layout points at: a cgroup goes with its files once it has no process and no
// child cgroup, and a killed process leaves every cgroup.procs under that tree.
import { closeSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScriptEnd } from '../../src/core/action-scripts.ts';
import type { HelperOptions, HelperResult } from '../../src/host/helper.ts';
import type { Host, ToolResult } from '../../src/host/host.ts';
import type { PipeSource } from '../../src/host/tools.ts';

export interface FakeProc {
  pid: number;
  startTime: number;
  /** /proc/PID/stat state: 'S' runs, 'Z' a zombie */
  state: string;
  /** NSpid: its pid in each pid namespace, outermost first */
  nspid: number[];
  exe: string;
  /** namespace links by name ("pid" -> "pid:[4026532]"); the host's when absent */
  ns: Record<string, string>;
  /** signals it survives (an init that ignores its poweroff signal); SIGKILL never */
  survives: Array<NodeJS.Signals | number>;
}

export type Call =
  | { op: 'helper'; args: string[]; opts: HelperOptions }
  | { op: 'tool'; cmd: string; args: string[]; input: string | undefined }
  | { op: 'run'; cmd: string; args: string[] }
  | { op: 'pipe'; src: PipeSource; dst: readonly string[] }
  | { op: 'script'; path: string; env: Record<string, string> }
  | { op: 'kill'; pid: number; signal: NodeJS.Signals | number }
  | { op: 'chown'; path: string; uid: number; gid: number }
  | { op: 'rmdir'; dir: string };

/** A helper run's answer: what its status records would have said (the rest as a clean run). */
export type HelperAnswer = Partial<HelperResult>;

export interface FakeHost {
  host: Host;
  calls: Call[];
  procs: Map<number, FakeProc>;
  /** /proc/self/mountinfo */
  mountinfo: string;
  /** the helper's answers by mode; the default is a clean exit with no records */
  onHelper: (args: string[], opts: HelperOptions) => HelperAnswer;
  onTool: (cmd: string, args: string[], input: string | undefined) => Partial<ToolResult>;
  /** how a host action script ends; the default is exit 0 */
  onScript: (path: string) => Partial<ScriptEnd>;
  /** adds a running process; returns its pid */
  spawn(p?: Partial<FakeProc>): number;
  /** the helper runs, as their argv */
  helperRuns(): string[][];
  /** the signals sent, as "PID SIGNAL" */
  signals(): string[];
}

const HOST_NS = (ns: string) => `${ns}:[4026531836]`;
const SIGKILL = ['SIGKILL', 9];

/** A fake host; killed processes leave the cgroup.procs files under cgroupRoot. */
export function fakeHost(cgroupRoot: string): FakeHost {
  const procs = new Map<number, FakeProc>();
  const calls: Call[] = [];
  let nextPid = 4000;
  const f: FakeHost = {
    calls,
    procs,
    mountinfo: '',
    onHelper: () => ({}),
    onTool: () => ({}),
    onScript: () => ({}),
    spawn(p = {}) {
      const pid = p.pid ?? nextPid++;
      procs.set(pid, {
        pid,
        startTime: 100 + pid,
        state: 'S',
        nspid: [pid],
        exe: '/usr/bin/x',
        ns: {},
        survives: [],
        ...p,
      });
      return pid;
    },
    helperRuns: () => calls.flatMap((c) => (c.op === 'helper' ? [c.args] : [])),
    signals: () => calls.flatMap((c) => (c.op === 'kill' ? [`${c.pid} ${c.signal}`] : [])),
    host: {
      runHelper(_helper, args, opts) {
        calls.push({ op: 'helper', args, opts });
        if (opts.seccompFd !== undefined) closeSync(opts.seccompFd); // as the real one: the policy fd is its to close
        return {
          exitCode: 0,
          pid: null,
          keeper: null,
          console: null,
          error: null,
          warnings: [],
          timedOut: false,
          ...f.onHelper(args, opts),
        };
      },
      async runHelperAsync(helper, args, opts) {
        const r = f.host.runHelper(helper, args, {
          stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
          ...(opts.seccompFd === undefined ? {} : { seccompFd: opts.seccompFd }),
        });
        return { ...r, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), truncated: false };
      },
      tool(cmd, args, opts = {}) {
        calls.push({ op: 'tool', cmd, args, input: opts.input });
        return { status: 0, stdout: '', stderr: '', ...f.onTool(cmd, args, opts.input) };
      },
      async run(cmd, args) {
        calls.push({ op: 'run', cmd, args });
      },
      async pipe(src, dst) {
        calls.push({ op: 'pipe', src, dst });
      },
      async runScript(path, env) {
        calls.push({ op: 'script', path, env });
        return { code: 0, signal: null, timedOut: false, ...f.onScript(path) };
      },
      readProc(path) {
        if (path === 'self/mountinfo') return f.mountinfo;
        if (path === 'self/status') return 'CapPrm:\t000001ffffffffff\n';
        if (path === 'sys/kernel/random/boot_id') return 'fake-boot-id\n';
        const m = /^(\d+)\/(stat|status)$/.exec(path);
        const p = m ? procs.get(Number(m[1])) : undefined;
        if (!m || !p) return null;
        if (m[2] === 'stat') {
          // fields after "(comm) ": state, ppid, then 17 more before starttime (the 22nd field)
          return `${p.pid} (fake (x)) ${p.state} 1 ${'0 '.repeat(17)}${p.startTime} 0 0\n`;
        }
        return `Name:\tfake\nNSpid:\t${p.nspid.join('\t')}\nCapBnd:\t000001ffffffffff\n`;
      },
      readProcLink(path) {
        const ns = /^self\/ns\/(\w+)$/.exec(path);
        if (ns) return HOST_NS(ns[1] ?? '');
        const m = /^(\d+)\/(exe|ns\/(\w+))$/.exec(path);
        const p = m ? procs.get(Number(m[1])) : undefined;
        if (!m || !p) return null;
        if (m[2] === 'exe') return p.exe;
        const name = m[3] ?? '';
        return p.ns[name] ?? HOST_NS(name);
      },
      kill(pid, signal) {
        calls.push({ op: 'kill', pid, signal });
        const p = procs.get(pid);
        if (!p || (!SIGKILL.includes(signal) && p.survives.includes(signal))) return;
        procs.delete(pid);
        leaveCgroups(cgroupRoot, pid);
      },
      chown(path, uid, gid) {
        calls.push({ op: 'chown', path, uid, gid });
      },
      rmdirCgroup(dir) {
        calls.push({ op: 'rmdir', dir });
        if (!existsSync(dir)) throw Object.assign(new Error(`ENOENT: ${dir}`), { code: 'ENOENT' });
        const entries = readdirSync(dir, { withFileTypes: true });
        const procsText = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
        if (entries.some((e) => e.isDirectory()) || procsText.trim()) {
          throw Object.assign(new Error(`EBUSY: ${dir}`), { code: 'EBUSY' });
        }
        rmSync(dir, { recursive: true });
      },
    },
  };
  return f;
}

/** The kernel's part of a process's exit: it is in no cgroup any more. */
function leaveCgroups(dir: string, pid: number): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) leaveCgroups(path, pid);
    else if (e.name === 'cgroup.procs') {
      const left = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l && Number(l) !== pid);
      writeFileSync(path, left.map((l) => `${l}\n`).join(''));
    }
  }
}
