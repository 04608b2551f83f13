// The only spawner of berth-nsexec: runs a plan (argv) and turns its status records into results.
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../core/errors.ts';

interface StatusRecord {
  pid?: number;
  locked?: boolean;
  error?: string;
  errno?: number;
  message?: string;
}

export interface HelperResult {
  exitCode: number;
  pid: number | null;
  error: StatusRecord | null;
}

function collect(stream: Readable | null | undefined): Promise<StatusRecord[]> {
  return new Promise((resolve) => {
    if (!stream) return resolve([]);
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
    });
    stream.on('close', () => {
      resolve(
        buf
          .split('\n')
          .filter(Boolean)
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as StatusRecord];
            } catch {
              return [];
            }
          }),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? 9 : 0)));
  });
}

/**
 * Runs the helper with the status pipe on fd 3 and the seccomp policy on fd 4.
 * stdio: 0-2 as given (inherit for exec, the console log for start).
 */
export async function runHelper(
  helper: string,
  args: string[],
  opts: { stdio: [unknown, unknown, unknown]; seccomp?: string; detached?: boolean },
): Promise<HelperResult> {
  const stdio = [...opts.stdio, 'pipe', opts.seccomp === undefined ? 'ignore' : 'pipe'] as StdioOptions;
  let child: ChildProcess;
  try {
    child = spawn(helper, args, { stdio, detached: opts.detached ?? false });
  } catch (err) {
    throw helperMissing(helper, err);
  }
  const done = exited(child).catch((err: unknown) => {
    throw helperMissing(helper, err);
  });
  const seccompPipe = child.stdio[4] as Writable | null | undefined;
  if (opts.seccomp !== undefined && seccompPipe) {
    seccompPipe.on('error', () => {}); // EPIPE if the helper failed before reading it
    seccompPipe.end(opts.seccomp);
  }
  const [records, exitCode] = await Promise.all([collect(child.stdio[3] as Readable), done]);
  return {
    exitCode,
    pid: records.find((r) => r.pid !== undefined)?.pid ?? null,
    error: records.find((r) => r.error !== undefined) ?? null,
  };
}

function helperMissing(helper: string, err: unknown): BerthError {
  return new BerthError('SYSTEM', `run ${helper}: ${(err as Error).message}`, {
    cause: err,
    hint: 'build the helper with `make -C helper` (the setup script does this)',
  });
}

/** Simple modes (host mounts): run, and fail with the helper's own message. */
export async function runHelperSimple(
  helper: string,
  args: string[],
  code: 'CANT_MOUNT' | 'CANT_UMOUNT',
): Promise<void> {
  const r = await runHelper(helper, [...args, '--status-fd', '3'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.exitCode !== 0) {
    throw new BerthError(code, r.error?.message ?? `berth-nsexec exited with ${r.exitCode}`);
  }
}
