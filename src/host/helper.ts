// The only spawner of berth-nsexec: runs a plan (argv) and turns its status records into results.
// A CLI command's spawns are synchronous: Node's first asynchronous spawn costs several
// milliseconds more, and a command has nothing else to do meanwhile. berthd, which has, runs
// the helper asynchronously (runHelperAsync; engine/context.ts helperRun chooses).
import type { StdioOptions } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { fnv1a } from '../core/hash.ts';
import { STATUS_FD } from '../core/helper-args.ts';
import { writeFileAtomic } from './fs-util.ts';
import type { Host } from './host.ts';
import { childProcess } from './spawn.ts';
import { trace } from './trace.ts';

export interface StatusRecord {
  pid?: number;
  /** start mode: the keeper forked for the container */
  keeper?: number;
  /** attach mode: how it ended (helper/console.c) */
  console?: string;
  locked?: boolean;
  error?: string;
  /** an optional step that failed (the others ran): `{"warning":"net",...}` */
  warning?: string;
  errno?: number;
  message?: string;
  /** criu restore mode: a carried enter session's new pty (its number, device and devpts) */
  session?: number;
  rdev?: number;
  dev?: number;
}

export interface HelperResult {
  exitCode: number;
  pid: number | null;
  keeper: number | null;
  /** attach mode: how it ended */
  console: string | null;
  error: StatusRecord | null;
  /** what optional steps could not do, as messages */
  warnings: string[];
  /** killed (SIGKILL) after the timeoutMs it was given */
  timedOut: boolean;
  /** criu restore mode: the carried enter sessions' new ptys */
  sessions?: { n: number; rdev: number; dev: number }[];
}

function parseRecords(text: string): StatusRecord[] {
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as StatusRecord];
      } catch {
        return [];
      }
    });
}

/**
 * Runs the helper with fds 0-2 as given, the status pipe on fd 3 and, when given, the seccomp
 * policy on fd 4 (the fd is closed afterwards). With relaysSignals, the helper has the admin's
 * terminal: its ^C and ^\ reach the helper too, which passes them on (or, raw, never sees them),
 * so berth ignores them meanwhile and waits for the status.
 */
export interface HelperOptions {
  stdio: [unknown, unknown, unknown];
  seccompFd?: number;
  timeoutMs?: number;
  relaysSignals?: boolean;
  /** passed on as WINSIZE_FD (helper-args.ts) */
  winsizeFd?: number;
}

export function runHelper(helper: string, args: string[], opts: HelperOptions): HelperResult {
  // The status records go to an unlinked file, not a pipe: Bun's spawnSync (and Bun.spawnSync)
  // returns no output for fds above 2, and a file works the same under Node.
  const statusFd = anonymousFile();
  const stdio = [
    ...opts.stdio,
    statusFd,
    opts.seccompFd ?? 'ignore',
    ...(opts.winsizeFd === undefined ? [] : [opts.winsizeFd]),
  ] as StdioOptions;
  trace(`helper ${args[0]} spawn`);
  const ignore = () => {};
  if (opts.relaysSignals) for (const sig of ['SIGINT', 'SIGQUIT'] as const) process.on(sig, ignore);
  let r: ReturnType<typeof spawnHelper>;
  try {
    r = spawnHelper(helper, args, stdio, opts.timeoutMs);
  } finally {
    if (opts.relaysSignals) for (const sig of ['SIGINT', 'SIGQUIT'] as const) process.off(sig, ignore);
  }
  trace(`helper ${args[0]} done`);
  if (opts.seccompFd !== undefined) closeSync(opts.seccompFd);
  const text = readAll(statusFd);
  closeSync(statusFd);
  if (r.error) {
    throw new BerthError('SYSTEM', `run ${helper}: ${r.error.message}`, {
      cause: r.error,
      hint: 'build the helper with `make -C helper` (the setup script does this)',
    });
  }
  return resultOf(r, parseRecords(text));
}

/** The result of a helper run made elsewhere (a client of berth-oci's server): its status and records. */
export function helperResult(status: number | null, signal: string | null, records: string): HelperResult {
  return resultOf({ status, signal }, parseRecords(records));
}

function sessionsOf(records: StatusRecord[]): Pick<HelperResult, 'sessions'> {
  const sessions = records.flatMap((x) =>
    Number.isSafeInteger(x.session) && Number.isSafeInteger(x.rdev) && Number.isSafeInteger(x.dev)
      ? [{ n: x.session as number, rdev: x.rdev as number, dev: x.dev as number }]
      : [],
  );
  return sessions.length ? { sessions } : {};
}

function resultOf(
  r: { status: number | null; signal: string | null; timedOut?: boolean },
  records: StatusRecord[],
): HelperResult {
  return {
    exitCode: r.status ?? 128 + (r.signal ? 9 : 0),
    pid: records.find((x) => x.pid !== undefined)?.pid ?? null,
    keeper: records.find((x) => x.keeper !== undefined)?.keeper ?? null,
    console: records.find((x) => x.console !== undefined)?.console ?? null,
    error: records.find((x) => x.error !== undefined) ?? null,
    warnings: records.flatMap((x) => (x.warning !== undefined ? [x.message ?? x.warning] : [])),
    timedOut: r.timedOut === true,
    // criu restore mode only: absent otherwise
    ...sessionsOf(records),
  };
}

/**
 * An asynchronous run, for berthd (its exec, its start): fds 0-2 as given (default: STDIN
 * written to a pipe, stdout and stderr collected, CAP bytes each), the event loop free meanwhile.
 */
export interface HelperAsyncOptions {
  stdio?: [unknown, unknown, unknown];
  stdin?: Buffer;
  /** closed once the helper has ended */
  seccompFd?: number;
  /** bytes kept of stdout and of stderr each (piped ones) */
  cap?: number;
}

export type HelperCaptured = HelperResult & { stdout: Buffer; stderr: Buffer; truncated: boolean };

/** A stream's bytes up to CAP (the rest dropped); LINES hears each non-empty line of what is kept. */
export function capture(
  stream: NodeJS.ReadableStream | null,
  cap: number,
  lines?: (line: string) => void,
): { data: () => Buffer; truncated: boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  let partial = '';
  const c = { data: () => Buffer.concat(chunks), truncated: false };
  stream?.on('data', (b: Buffer) => {
    if (size + b.length > cap) {
      c.truncated = true;
      b = b.subarray(0, Math.max(0, cap - size));
    }
    size += b.length;
    if (b.length) chunks.push(b);
    if (lines) {
      const parts = (partial + b.toString('utf8')).split(/[\r\n]/);
      partial = parts.pop() ?? '';
      for (const l of parts) if (l) lines(l);
    }
  });
  return c;
}

export function runHelperAsync(helper: string, args: string[], opts: HelperAsyncOptions): Promise<HelperCaptured> {
  const statusFd = anonymousFile();
  const stdio = [...(opts.stdio ?? ['pipe', 'pipe', 'pipe']), statusFd, opts.seccompFd ?? 'ignore'] as StdioOptions;
  const child = childProcess().spawn(helper, args, { stdio });
  const out = capture(child.stdout, opts.cap ?? 0);
  const err = capture(child.stderr, opts.cap ?? 0);
  child.stdin?.on('error', () => {}); // a command that reads nothing closes its end
  child.stdin?.end(opts.stdin ?? Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new BerthError('SYSTEM', `run ${helper}: ${e.message}`, { cause: e })));
    child.on('close', (status, signal) => {
      if (opts.seccompFd !== undefined) closeSync(opts.seccompFd);
      const text = readAll(statusFd);
      closeSync(statusFd);
      resolve({
        ...resultOf({ status, signal }, parseRecords(text)),
        stdout: out.data(),
        stderr: err.data(),
        truncated: out.truncated || err.truncated,
      });
    });
  });
}

/** Bun's native spawn, where berth runs on Bun (the shipped executable). */
declare const Bun:
  | {
      spawnSync(
        cmd: string[],
        o: { stdio: unknown[]; timeout?: number; killSignal?: string },
      ): { exitCode: number | null; signalCode?: string | null; exitedDueToTimeout?: boolean };
    }
  | undefined;

/**
 * A synchronous run of the helper: on Bun its own spawnSync, which needs no node:child_process
 * (host/spawn.ts); on Node (the unit tests), Node's.
 */
function spawnHelper(
  helper: string,
  args: string[],
  stdio: StdioOptions,
  timeout?: number,
): { status: number | null; signal: string | null; error?: Error | undefined; timedOut?: boolean } {
  // SIGKILL: a helper relaying SIGTERM would wait for a command that ignores it
  const limit = timeout === undefined ? {} : { timeout, killSignal: 'SIGKILL' as const };
  if (typeof Bun === 'undefined') {
    const r = childProcess().spawnSync(helper, args, { stdio, maxBuffer: 1 << 20, ...limit });
    // Node reports its own timeout as an error; it is an outcome here
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT')
      return { ...r, error: undefined, timedOut: true };
    return r;
  }
  try {
    const r = Bun.spawnSync([helper, ...args], { stdio: stdio as unknown[], ...limit });
    return { status: r.exitCode, signal: r.signalCode ?? null, timedOut: r.exitedDueToTimeout === true };
  } catch (err) {
    return { status: null, signal: null, error: err as Error };
  }
}

/** Simple modes (host mounts, live hostname): run, and fail with the helper's own message. */
export function runHelperSimple(
  host: Host,
  helper: string,
  args: string[],
  code: 'CANT_MOUNT' | 'CANT_UMOUNT' | 'SYSTEM',
): void {
  const r = host.runHelper(helper, [...args, '--status-fd', String(STATUS_FD)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.exitCode !== 0) throw new BerthError(code, r.error?.message ?? `berth-nsexec exited with ${r.exitCode}`);
}

/**
 * The seccomp policy as a file descriptor: written once per policy text under /run/berth, so a
 * synchronous spawn can pass it as fd 4 (spawnSync can feed no pipe but stdin).
 */
export function policyFd(runDir: string, text: string): number {
  const file = join(runDir, 'seccomp', `${fnv1a(text)}.policy`);
  if (!existsSync(file)) writeFileAtomic(file, text, 0o600, false);
  return openSync(file, 'r');
}

const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

/** os.tmpdir()'s answer without loading node:os: TMPDIR, TMP, TEMP or /tmp, one trailing "/" off. */
export function tmpDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['TMPDIR'] || env['TMP'] || env['TEMP'] || '/tmp';
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * An anonymous file (O_TMPFILE; else created and unlinked): one helper run's status records, a
 * worker's output (src/oci/server.ts).
 */
export function anonymousFile(): number {
  try {
    return openSync(tmpDir(), O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    const name = `${tmpDir()}/berth-status-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const fd = openSync(name, 'wx+', 0o600);
    unlinkSync(name);
    return fd;
  }
}

/**
 * TEXT as a helper's stdin: an anonymous file under DIR (berth's /run, memory on a host), read
 * from its start. For secrets: no argv, environment or log sees them, and nothing names it.
 */
export function inputFd(dir: string, text: string): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  try {
    writeSync(fd, text);
    // a second open of it starts at offset 0, where the helper reads
    return openSync(`/proc/self/fd/${fd}`, 'r');
  } finally {
    closeSync(fd);
  }
}

/** Everything written to fd from its start (the status file after the helper's exit). */
export function readAll(fd: number): string {
  return readAllBytes(fd).toString('utf8');
}

/** Everything written to fd from FROM on (its own offset untouched). */
export function readAllBytes(fd: number, from = 0): Buffer {
  const chunks: Buffer[] = [];
  for (let pos = from; ; ) {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    pos += n;
  }
  return Buffer.concat(chunks);
}
