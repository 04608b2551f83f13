// Runs one berth verb for a request, as a child process of berth itself. The engine under the
// verbs is synchronous (helper runs, copies, lock waits): in a child it never stalls the
// daemon's event loop, each request is one process (its locks name it), and a cancel is a
// SIGKILL, which every verb already survives (the stress test's contract).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { ErrorBody } from '../api/types.ts';
import { anonymousFile, capture, readAll } from '../host/helper.ts';

/** how the daemon calls itself: the shipped executable, or node and the bundle */
export function selfCommand(): string[] {
  const exe = process.execPath;
  return /\/node[0-9.]*$/.test(exe) || exe.endsWith('/bun') ? [exe, process.argv[1] ?? ''] : [exe];
}

export interface VerbRun {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
  /** why it failed, as the verb reported it on its error fd; null when it did not say */
  error: ErrorBody['error'] | null;
  /** stdout or stderr was longer than the cap: the rest was dropped */
  truncated: boolean;
  /** killed on request (DELETE of its operation) */
  killed: boolean;
}

export interface RunOptions {
  root: string;
  /** what the lock records and messages name (the operation id) */
  request: string;
  stdin?: Buffer | string;
  /** bytes kept of stdout and of stderr each */
  cap?: number;
  onSpawn?: (child: ChildProcess) => void;
  /** bulk work (copies, archives, unpacking) yields the CPU to the daemon's answers */
  background?: boolean;
  /** each line of stderr as it comes (progress, warnings) */
  onLine?: (line: string) => void;
}

const DEFAULT_CAP = 8 << 20;
/** the nice value of bulk operations: well behind the daemon, ahead of nice 19 batch jobs */
const BACKGROUND_NICE = 10;

/**
 * `berth ARGV` as a child: stdin as given, stdout and stderr piped, fd 3 the error file (read
 * with readError), and with extraPipe a pipe at fd 4 (exec's and console's --winsize-fd).
 */
export function spawnVerb(
  argv: string[],
  opts: { root: string; request: string; stdin: 'ignore' | 'pipe'; extraPipe?: boolean; group?: boolean },
): { child: ChildProcess; errFd: number } {
  const [exe, ...pre] = selfCommand();
  const errFd = anonymousFile();
  // progress as plain lines on stderr (the operation's `progress`), the error on fd 3
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_ERROR_FD: '3',
    BERTH_REQUEST: opts.request,
    BERTH_PROGRESS: 'lines',
  };
  delete env['BERTH_TRACE'];
  const child = spawn(exe ?? '', [...pre, '--root', opts.root, ...argv], {
    stdio: [opts.stdin, 'pipe', 'pipe', errFd, ...(opts.extraPipe ? (['pipe'] as const) : [])],
    env,
    // a terminal session: a process group of its own, which a hangup reaches whole (helper included)
    detached: opts.group === true,
  });
  return { child, errFd };
}

/** What the verb wrote on its error fd (its last line), and the fd closed. */
export function readError(errFd: number): VerbRun['error'] {
  let error: VerbRun['error'] = null;
  try {
    const text = readAll(errFd).trim().split('\n').pop() ?? '';
    if (text) error = JSON.parse(text) as VerbRun['error'];
  } catch {}
  closeSync(errFd);
  return error;
}

export function runVerb(argv: string[], opts: RunOptions): Promise<VerbRun> {
  const { child, errFd } = spawnVerb(argv, {
    root: opts.root,
    request: opts.request,
    stdin: opts.stdin === undefined ? 'ignore' : 'pipe',
  });
  if (opts.background && child.pid) {
    try {
      setPriority(child.pid, BACKGROUND_NICE);
    } catch {} // it ran for a moment at the daemon's priority, or has already ended
  }
  opts.onSpawn?.(child);
  const cap = opts.cap ?? DEFAULT_CAP;
  const out = capture(child.stdout, cap);
  const err = capture(child.stderr, cap, opts.onLine);
  if (child.stdin) {
    child.stdin.on('error', () => {}); // a command that does not read its stdin closes the pipe
    child.stdin.end(opts.stdin);
  }
  return new Promise((resolve) => {
    child.on('error', () => {}); // reported through close with a null code
    child.on('close', (code, signal) => {
      const error = readError(errFd);
      resolve({
        code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
        stdout: out.data(),
        stderr: err.data(),
        error,
        truncated: out.truncated || err.truncated,
        killed: signal === 'SIGKILL',
      });
    });
  });
}
