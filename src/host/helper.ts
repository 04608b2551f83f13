// The only spawner of berth-nsexec: runs a plan (argv) and turns its status records into results.
import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../core/errors.ts';
import { writeFileAtomic } from './fs-util.ts';
import { fnv1a } from './paths.ts';

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

function collect(stream: Readable | null | undefined): Promise<StatusRecord[]> {
  return new Promise((resolve) => {
    if (!stream) return resolve([]);
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
    });
    stream.on('close', () => resolve(parseRecords(buf)));
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

/**
 * The seccomp policy as a file descriptor: written once per policy text under /run/berth, so a
 * synchronous spawn can pass it as fd 4 (spawnSync has no way to feed a pipe other than stdin).
 */
export function policyFd(runDir: string, text: string): number {
  const file = join(runDir, 'seccomp', `${fnv1a(text)}.policy`);
  if (!existsSync(file)) writeFileAtomic(file, text, 0o600);
  return openSync(file, 'r');
}

/**
 * exec's fast path: a synchronous spawn (Node's first async spawn costs several ms more) with
 * the user's stdio, the status pipe on fd 3 and the seccomp policy on fd 4.
 */
export function runHelperSync(helper: string, args: string[], seccompFd: number): HelperResult {
  const r = spawnSync(helper, args, {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe', seccompFd],
    maxBuffer: 1 << 20,
  });
  closeSync(seccompFd);
  if (r.error) throw helperMissing(helper, r.error);
  const records = parseRecords(String(r.output[3] ?? ''));
  return {
    exitCode: r.status ?? 128 + (r.signal ? 9 : 0),
    pid: records.find((x) => x.pid !== undefined)?.pid ?? null,
    error: records.find((x) => x.error !== undefined) ?? null,
  };
}
