// What every route shares: the host root, a fresh ctx per request (a ctx caches mountinfo for
// one command's moment), the event bus and the operations.
import type { Operation } from '../api/types.ts';
import { BerthError } from '../core/errors.ts';
import { COUNTER_FIELDS } from '../core/list-fields.ts';
import { type Ctx, makeCtx } from '../engine/context.ts';
import { linuxHost } from '../host/host.ts';
import type { Paths } from '../host/paths.ts';
import { WatchedReads } from '../host/watched.ts';
import { listContainers } from '../ops/list.ts';
import { Access } from './auth.ts';
import { TreeUsage } from './disk-use.ts';
import { type ContainerFacts, EventBus } from './events.ts';
import { failedRunReply, type Reply, verbErrorReply } from './http-errors.ts';
import { Operations } from './operations.ts';
import type { ApiRequest } from './router.ts';
import { runVerb } from './runner.ts';

/** the longest ?wait= a request may ask for, in seconds */
const MAX_WAIT_S = 3600;

export class Daemon {
  readonly events: EventBus;
  readonly access: Access;
  readonly operations: Operations;
  readonly started = new Date();
  readonly paths: Paths;
  readonly log: (msg: string) => void;
  /** what the reads keep of files that only writes change (host/watched.ts) */
  readonly memo = new WatchedReads();
  /** disk use of dir and overlay containers, walked in the background */
  readonly treeUsage = new TreeUsage(linuxHost);

  constructor(paths: Paths, log: (msg: string) => void) {
    this.paths = paths;
    this.log = log;
    this.events = new EventBus(() => this.facts());
    this.access = new Access(paths);
    this.operations = new Operations(paths.prefix, this.events);
  }

  get root(): string {
    return this.paths.prefix;
  }

  /**
   * A read's ctx (with the memo of watched files); with a request, the ctx of work done in the
   * daemon for it (its locks name it). Each has its own Paths: berth.conf is read afresh.
   */
  ctx(work?: { request: string; log: (line: string) => void }): Ctx {
    if (!work) {
      const ctx = makeCtx({ ...this.paths }, this.log);
      ctx.memo = this.memo;
      return ctx;
    }
    const ctx = makeCtx({ ...this.paths }, work.log);
    ctx.request = work.request;
    ctx.concurrent = true;
    return ctx;
  }

  /**
   * Runs `berth ARGV` as an operation: 202 and the operation at once, or, with ?wait=SECONDS,
   * its end (200 with the operation, or the verb's error with its status).
   */
  operation(r: ApiRequest, argv: string[], cts: string[], json = false): Promise<Reply> {
    return this.answer(r, this.operations.start(argv, cts, { json }));
  }

  /** An operation's answer: 202 at once, or with ?wait=SECONDS its end (or its state then). */
  async answer(r: ApiRequest, op: Operation): Promise<Reply> {
    const wait = r.query.get('wait');
    if (wait === null) return { status: 202, body: op, headers: { location: `/1.0/operations/${op.id}` } };
    const secs = wait === '' || wait === 'true' ? MAX_WAIT_S : Number(wait);
    if (!Number.isFinite(secs) || secs < 0) throw new BerthError('BAD_VALUE', 'wait must be a number of seconds');
    const done = await this.operations.wait(op.id, Math.min(secs, MAX_WAIT_S) * 1000);
    if (done.status === 'failure' && done.err) return verbErrorReply(done.err);
    return { status: done.status === 'running' ? 202 : 200, body: done };
  }

  /** A read that a verb answers with --json, run as a child like the changes. */
  async readVerb(argv: string[]): Promise<Reply> {
    const r = await runVerb(argv, { root: this.root, request: argv.slice(0, 2).join('-') });
    if (r.code !== 0) return failedRunReply(r.code, r.error, r.stderr);
    return { status: 200, body: JSON.parse(r.stdout.toString('utf8')) as unknown };
  }

  /** what the event bus compares each second: status and the counters that mean trouble */
  private async facts(): Promise<ContainerFacts[]> {
    const fields = ['ctid', 'status', 'oomkills', 'physpages.f', 'swappages.f', 'numproc.f'] as const;
    const rows = await listContainers(this.ctx(), {
      all: true,
      disk: false,
      counters: true,
      fields: [...fields],
      saved: false,
    });
    return rows.map((row) => ({
      ctid: row.ctid,
      status: row.status,
      counters: Object.fromEntries(
        fields.filter((f) => COUNTER_FIELDS.includes(f)).map((f) => [f, Number(row[f] ?? 0) || 0]),
      ),
    }));
  }
}
