// Long requests as operations (incus's model): the request answers 202 at once with the
// operation, its verb runs as a child (runner.ts), GET polls or waits, DELETE cancels.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Operation } from '../api/types.ts';
import { BerthError } from '../core/errors.ts';
import type { EventBus } from './events.ts';
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
    const id = randomUUID();
    const now = new Date().toISOString();
    const op: Operation = {
      id,
      description: ['berth', ...argv].join(' '),
      status: 'running',
      created_at: now,
      updated_at: now,
      resources: { containers: cts },
      may_cancel: true,
      progress: null,
      result: null,
      err: null,
    };
    const entry: Entry = { op, child: null, done: Promise.resolve(op) };
    entry.done = runVerb(argv, {
      root: this.root,
      request: id,
      background: BULK.has(argv[0] ?? ''),
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
      onSpawn: (c) => {
        entry.child = c;
      },
      onLine: (line) => {
        op.progress = line.slice(0, 300);
        op.updated_at = new Date().toISOString();
      },
    }).then((r) => {
      entry.child = null;
      op.may_cancel = false;
      op.updated_at = new Date().toISOString();
      if (op.status === 'cancelled') {
        // stays cancelled: the verb was killed on request
      } else if (r.code === 0) {
        op.status = 'success';
        op.result = opts.json ? parseJson(r.stdout.toString('utf8')) : null;
      } else {
        op.status = 'failure';
        op.err = r.error ?? {
          code: r.code,
          name: 'SYSTEM',
          message: `berth ${argv[0]} exited with ${r.code}: ${r.stderr.toString('utf8').trim().slice(-500)}`,
        };
      }
      this.events.emit({ type: 'operation', action: op.status, operation: { ...op } });
      this.prune();
      return op;
    });
    this.entries.set(id, entry);
    this.events.emit({ type: 'operation', action: 'created', operation: { ...op } });
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
    if (e.op.status !== 'running' || !e.child) {
      throw new BerthError('NOT_ALLOWED', `operation ${id} has ended (${e.op.status}): nothing to cancel`);
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

function parseJson(text: string): unknown {
  try {
    return text.trim() ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}
