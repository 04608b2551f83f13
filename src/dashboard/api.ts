// The dashboard's only way to berthd: fetch on the same origin (the unix socket's relay or, with
// the daemon's HTTPS, its session cookie), errors as the API's error body, operations polled.
import type { ErrorBody, Operation } from '../api/types.ts';

/** A refused or failed request, with the error body's name, message and hint. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(status: number, e: ErrorBody['error']) {
    super(e.message);
    this.status = status;
    this.code = e.name;
    this.hint = e.hint;
  }
}

function errorOf(status: number, body: unknown): ApiError {
  const e = (body as Partial<ErrorBody> | null)?.error;
  if (e && typeof e.message === 'string') return new ApiError(status, e);
  return new ApiError(status, { code: 3, name: 'HTTP', message: `the daemon answered ${status}` });
}

/** One request; a status of 400 or more throws an ApiError. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError(0, {
      code: 3,
      name: 'UNREACHABLE',
      message: `berthd did not answer: ${(err as Error).message}`,
      hint: 'is berth daemon running?',
    });
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {} // a body that is not JSON is shown as it is
  if (res.status >= 400) throw errorOf(res.status, parsed);
  return { status: res.status, body: parsed as T };
}

export const get = async <T>(path: string): Promise<T> => (await call<T>('GET', path)).body;

/**
 * A long request (202 and an operation): polls it until it ends, calling onProgress with each
 * state; a failed operation throws its error.
 */
export async function operation(
  method: string,
  path: string,
  body: unknown,
  onProgress: (op: Operation) => void,
): Promise<Operation> {
  const r = await call<Operation>(method, path, body);
  let op = r.body;
  onProgress(op);
  while (op.status === 'running') {
    // the wait route answers as soon as it ends, or after a second with its progress
    op = await get<Operation>(`/1.0/operations/${encodeURIComponent(op.id)}/wait?timeout=1`);
    onProgress(op);
  }
  if (op.status === 'failure')
    throw new ApiError(500, op.err ?? { code: 3, name: 'SYSTEM', message: 'the operation failed' });
  if (op.status === 'cancelled')
    throw new ApiError(409, { code: 3, name: 'CANCELLED', message: 'the operation was cancelled' });
  return op;
}
