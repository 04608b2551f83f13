// The one place where a failure becomes an HTTP status and the error body (incus SmartError):
// handlers throw BerthErrors, verbs run as children report theirs on their error fd.
import type { ErrorBody } from '../api/types.ts';
import { clip } from '../core/config.ts';
import { BerthError, ERRORS, type ErrorCode } from '../core/errors.ts';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** an answer that is not JSON (metrics): sent as it is, with this content type */
  raw?: { type: string; data: Buffer | string };
}

/** Any failure as the error body: a BerthError as it is, anything else an unexpected SYSTEM error. */
export function errorBody(err: unknown): ErrorBody['error'] {
  if (err instanceof BerthError) {
    const e: ErrorBody['error'] = { code: err.exitCode, name: err.code, message: clip(err.message, 2000) };
    if (err.hint) e.hint = clip(err.hint, 2000);
    return e;
  }
  return {
    code: 3,
    name: 'SYSTEM',
    message: `unexpected error: ${clip(String((err as Error)?.message ?? err), 2000)}`,
  };
}

export function errorReply(err: unknown): Reply {
  return { status: err instanceof BerthError ? err.httpStatus : 500, body: { error: errorBody(err) } };
}

/** A verb's own report (name and exit code) as a reply: the registry gives the status. */
export function verbErrorReply(e: ErrorBody['error']): Reply {
  const known = (ERRORS as Record<string, { http: number }>)[e.name];
  return { status: known?.http ?? 500, body: { error: e } };
}

export const isErrorCode = (name: string): name is ErrorCode => name in ERRORS;

/** A verb run that failed: its own report, or (it said nothing: killed, crashed) a 500 with its stderr's end. */
export function failedRunReply(code: number, error: ErrorBody['error'] | null, stderr: Buffer): Reply {
  if (error) return verbErrorReply(error);
  const tail = stderr.toString('utf8').trim().slice(-500);
  return {
    status: 500,
    body: { error: { code: 3, name: 'SYSTEM', message: `the verb exited with ${code}: ${tail}` } },
  };
}
