// Long requests as operations (incus's model): the request answers 202 at once with the
// operation, its verb runs as a child (runner.ts) or, for a start, in the daemon; GET polls or
// waits, DELETE cancels a child's.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ErrorBody, Operation } from '../api/types.ts';
import { BerthError } from '../core/errors.ts';
import type { EventBus } from './events.ts';
import { errorBody } from './http-errors.ts';
import { runVerb } from './runner.ts';

/** verbs that copy, pack or unpack files: run niced (runner.ts) */
const BULK = new Set([
  'create',
  'destroy',
  'backup',
  'restore',
  'clone',
  'snapshot',
  'snapshot-delete',
  'snapshot-switch',
  'template',
  'compact',
]);

/** finished operations kept for GET (the oldest go first) */
const KEEP_DONE = 200;

type Outcome = { ok: true; result: unknown } | { ok: false; err: ErrorBody['error'] };

interface Entry {
  op: Operation;
  child: ChildProcess | null;
  done: Promise<Operation>;
}

export class Operations {
  private entries = new Map<string, Entry>();

  private readonly root: string;
  private readonly events: EventBus;

  constructor(root: string, events: EventBus) {
    this.root = root;
    this.events = events;
  }

  /** Starts `berth ARGV` (with --json where the verb prints a result) for the containers CTS. */
  start(argv: string[], cts: string[], opts: { stdin?: Buffer; json?: boolean } = {}): Operation {
    return this.track(['berth', ...argv].join(' '), cts, true, (entry, op) =>
      runVerb(argv, {
        root: this.root,
        request: op.id,
        background: BULK.has(argv[0] ?? ''),
        ...(opts.stdin ? { stdin: opts.stdin } : {}),
        onSpawn: (c) => {
          entry.child = c;
        },
        onLine: (line) => progress(op, line),
      }).then((r): Outcome => {
        entry.child = null;
        if (r.code === 0) return { ok: true, result: opts.json ? parseJson(r.stdout.toString('utf8')) : null };
        return {
          ok: false,
          err: r.error ?? {
            code: r.code,
            name: 'SYSTEM',
            message: `berth ${argv[0]} exited with ${r.code}: ${r.stderr.toString('utf8').trim().slice(-500)}`,
          },
        };
      }),
    );
  }

  /**
   * Runs WORK in the daemon itself (its messages the progress): for short verbs whose latency
   * is the point (start). It cannot be cancelled: no process of its own to kill.
   */
  startInProcess(
    description: string,
    cts: string[],
    work: (request: string, log: (line: string) => void) => Promise<unknown>,
  ): Operation {
    return this.track(description, cts, false, (_entry, op) =>
      work(op.id, (line) => progress(op, line)).then(
        (result): Outcome => ({ ok: true, result: result ?? null }),
        (err): Outcome => ({ ok: false, err: errorBody(err) }),
      ),
    );
  }

  /** The bookkeeping of every operation: created, RUN, its outcome recorded, events sent. */
  private track(
    description: string,
    cts: string[],
    mayCancel: boolean,
    run: (entry: Entry, op: Operation) => Promise<Outcome>,
  ): Operation {
    const id = randomUUID();
    const now = new Date().toISOString();
    const op: Operation = {
      id,
      description,
      status: 'running',
      created_at: now,
      updated_at: now,
      resources: { containers: cts },
      may_cancel: mayCancel,
      progress: null,
      result: null,
      err: null,
    };
    const entry: Entry = { op, child: null, done: Promise.resolve(op) };
    this.entries.set(id, entry);
    this.events.emit({ type: 'operation', action: 'created', operation: { ...op } });
    entry.done = run(entry, op).then((o) => {
      op.may_cancel = false;
      op.updated_at = new Date().toISOString();
      // a cancelled one stays cancelled: the verb was killed on request
      if (op.status !== 'cancelled') {
        op.status = o.ok ? 'success' : 'failure';
        if (o.ok) op.result = o.result;
        else op.err = o.err;
      }
      this.events.emit({ type: 'operation', action: op.status, operation: { ...op } });
      this.prune();
      return op;
    });
    return op;
  }

  list(): Operation[] {
    return [...this.entries.values()].map((e) => e.op);
  }

  get(id: string): Operation {
    return this.entry(id).op;
  }

  /** The operation once it ends, or as it is after timeoutMs. */
  async wait(id: string, timeoutMs: number): Promise<Operation> {
    const e = this.entry(id);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Operation>((r) => {
      timer = setTimeout(() => r(e.op), timeoutMs);
    });
    try {
      return await Promise.race([e.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGKILL of the verb's process. Safe at any point: berth's commands are built to be killed
   * (the next command on that container repairs or reports what the killed one left).
   */
  cancel(id: string): Operation {
    const e = this.entry(id);
    if (e.op.status !== 'running') {
      throw new BerthError('NOT_ALLOWED', `operation ${id} has ended (${e.op.status}): nothing to cancel`);
    }
    if (!e.child) {
      throw new BerthError('NOT_ALLOWED', `operation ${id} runs in the daemon: it cannot be cancelled`, {
        hint: 'a start ends in milliseconds; wait for it, then stop the container',
      });
    }
    e.op.status = 'cancelled';
    e.child.kill('SIGKILL');
    return e.op;
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new BerthError('NOT_FOUND', `operation ${JSON.stringify(id.slice(0, 80))}: no such operation`);
    return e;
  }

  private prune(): void {
    const done = [...this.entries.values()].filter((e) => e.op.status !== 'running');
    for (const e of done.slice(0, Math.max(0, done.length - KEEP_DONE))) this.entries.delete(e.op.id);
  }
}

function progress(op: Operation, line: string): void {
  op.progress = line.slice(0, 300);
  op.updated_at = new Date().toISOString();
}

function parseJson(text: string): unknown {
  try {
    return text.trim() ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}
