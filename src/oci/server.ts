// berth-oci's call server and its workers (src/oci/serve.ts is the verb that runs it; docs/oci.md,
// "The call server"). The server keeps N idle workers (berth-oci processes with every verb loaded:
// src/oci/worker.ts) and gives each call of the client (helper/oci-client.c) to one, relaying
// its output and exit status and the client's answers to the worker's questions (run the
// helper, read stdin). A worker runs one call at a time; more start while calls overlap, and
// the idle ones beyond N go.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { exitFrame, FRAME, frame, MAX_REQUEST, requestLength } from '../core/oci-wire.ts';
import { prepareSocket, removeSocket, secureSocket } from '../host/daemon-socket.ts';
import { anonymousFile, readAllBytes } from '../host/helper.ts';
import { statsPath } from '../host/paths.ts';

/** a helper run's arguments and bytes at most (helper/oci-client.c MAX_ARGS and its buffer) */
const MAX_HELPER_ARGS = 65536;
const MAX_HELPER_BYTES = 4 << 20;
/** Calls a worker runs before it makes way for a fresh one (what a call might leave behind, no more). */
const MAX_CALLS = 500;
/** lines of the log (declined calls, workers that failed) at most: a caller that never fits does not fill it */
const MAX_LOGGED = 1000;
/** A worker whose output files grew past this is retired after its call (they are files in memory). */
const MAX_OUTPUT = 16 << 20;
/** A relayed chunk's bound: the client's buffer (helper/oci-client.c). */
const CHUNK = 65536;

const dev = (p: string) => {
  const st = statSync(p);
  return `${st.dev}:${st.ino}`;
};

/** A worker's "helper JSON" as the client's 'h' frame: the policy's path, argc, argv (NUL-terminated). */
function helperFrame(json: string): Buffer | null {
  try {
    const o = JSON.parse(json) as { policy?: unknown; argv?: unknown };
    const strings = (a: unknown): a is string[] =>
      Array.isArray(a) && a.every((x) => typeof x === 'string' && !x.includes('\0'));
    if (typeof o.policy !== 'string' || !strings(o.argv) || o.argv.length < 1 || o.argv.length > MAX_HELPER_ARGS)
      return null;
    const b = Buffer.from([o.policy, String(o.argv.length), ...o.argv].map((f) => `${f}\0`).join(''));
    return b.length <= MAX_HELPER_BYTES ? b : null;
  } catch {
    return null;
  }
}

/** A worker process and its call's handlers. */
class Worker {
  readonly child: ChildProcess;
  /** its stdout and stderr: anonymous files read after each call from where the last one ended
   * (a pipe's bytes could still be on their way when "exit N" arrives) */
  readonly out = anonymousFile();
  readonly err = anonymousFile();
  outAt = 0;
  errAt = 0;
  ready = false;
  calls = 0;
  /** the line handler and exit handler of the call it runs */
  onLine: ((line: string) => void) | null = null;
  onExit: ((why: string) => void) | null = null;

  constructor(onReady: (w: Worker) => void, onGone: (w: Worker, why: string) => void) {
    // the same executable, with the server's environment until a call brings its own
    this.child = spawn(process.execPath, ['serve', '--worker'], {
      argv0: 'berth-oci',
      stdio: ['pipe', this.out, this.err, 'pipe'],
    });
    let pending = '';
    this.child.stdio[3]?.on('data', (d: Buffer) => {
      pending += d.toString();
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === 'ready' && !this.ready) {
          this.ready = true;
          onReady(this);
        } else this.onLine?.(line);
      }
    });
    // 'close', not 'exit': the lines it wrote on fd 3 before it ended are read first
    this.child.on('close', (code, signal) => {
      const why = signal ?? `exit ${code}`;
      this.onExit?.(why);
      onGone(this, why);
      closeSync(this.out);
      closeSync(this.err);
    });
    this.child.on('error', () => {});
    this.child.stdin?.on('error', () => {});
  }

  /** A message on its stdin: a u32 LE length, then the bytes. */
  send(b: Uint8Array): void {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.child.stdin?.write(Buffer.concat([len, b]));
  }

  /** What it wrote on fd (1 or 2) since the last call. */
  output(which: 'out' | 'err'): Buffer {
    const from = which === 'out' ? this.outAt : this.errAt;
    const d = readAllBytes(which === 'out' ? this.out : this.err, from);
    if (which === 'out') this.outAt += d.length;
    else this.errAt += d.length;
    return d;
  }

  /** Ends it: an idle worker reads the end of its stdin and exits. */
  retire(): void {
    this.child.stdin?.end();
  }
}

export class Server {
  readonly done: Promise<number>;
  private finish: (code: number) => void = () => {};
  private readonly ownExe = dev('/proc/self/exe');
  private ownSock = '';
  private readonly idleWorkers: Worker[] = [];
  private starting = 0;
  private busy = 0;
  private failures = 0;
  private logged = 0;
  /** what `serve --status` shows: calls served, declined (run by the client), and left to the
   * client because every worker was busy */
  private readonly counts = { served: 0, declined: 0, allBusy: 0 };
  private statsDue: ReturnType<typeof setTimeout> | null = null;
  private stopping = false;
  private idle: ReturnType<typeof setTimeout> | null = null;
  private readonly server = createServer((c) => this.accept(c));
  private readonly watch: ReturnType<typeof setInterval>;

  private readonly sock: string;
  private readonly idleMs: number;
  private readonly want: number;

  constructor(sock: string, idleMs: number, want: number) {
    this.sock = sock;
    this.idleMs = idleMs;
    this.want = want;
    this.done = new Promise<number>((resolve) => {
      this.finish = resolve;
    });
    prepareSocket(sock, null);
    // a removed or replaced socket (a root removed, another server), or a new executable: we go
    this.watch = setInterval(() => {
      let now = '';
      let exe = '';
      try {
        now = dev(sock);
        exe = dev(process.execPath);
      } catch {}
      if (now !== this.ownSock || exe !== this.ownExe) this.stop();
    }, 1000);
    this.watch.unref();
    this.server.on('error', () => this.stop());
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => this.stop());
    this.server.listen(sock, () => {
      secureSocket(sock, null);
      this.ownSock = dev(sock);
      this.refill();
      this.armIdle();
      this.writeStats();
    });
  }

  private count(k: keyof Server['counts']): void {
    this.counts[k]++;
    this.statsSoon();
  }

  /** The stats file, at most 4 times a second (never on a call's path). */
  private statsSoon(): void {
    // a call that ends after stop() writes nothing: its stats file is gone with the socket
    if (this.stopping) return;
    this.statsDue ??= setTimeout(() => {
      this.statsDue = null;
      this.writeStats();
    }, 250);
  }

  private writeStats(): void {
    const stats = {
      pid: process.pid,
      ...this.counts,
      workers: { idle: this.idleWorkers.length, busy: this.busy, starting: this.starting },
    };
    // never a directory made again: a root removed under us stays removed
    const file = statsPath(this.sock);
    try {
      writeFileSync(`${file}.tmp`, `${JSON.stringify(stats, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    } catch {}
  }

  private log(line: string): void {
    if (this.logged++ < MAX_LOGGED) process.stderr.write(`berth-oci serve: ${line}\n`);
  }

  /**
   * Starts workers up to the pool's size, counting the busy ones: a call returns its worker, so
   * calls one after another start none. Overlapping calls take the last idle one; then one more
   * starts (after the call's own writes), for the next.
   */
  private refill(): void {
    const have = () => this.idleWorkers.length + this.starting + Math.min(this.busy, this.want - 1);
    // a worker that dies loading, three times in a row, is a broken build: no more start
    while (
      !this.stopping &&
      this.failures < 3 &&
      (have() < this.want || this.idleWorkers.length + this.starting === 0)
    ) {
      this.starting++;
      new Worker(
        (w) => {
          this.starting--;
          this.failures = 0;
          this.release(w);
        },
        (w, why) => {
          if (!w.ready) {
            this.starting--;
            this.failures++;
            this.log(
              `a worker ended before it was ready (${why}): ${readAllBytes(w.err).toString('utf8').trim().slice(-500)}`,
            );
          }
          const at = this.idleWorkers.indexOf(w);
          if (at >= 0) this.idleWorkers.splice(at, 1);
          this.refill();
        },
      );
    }
  }

  /** W is idle again: kept, or retired when more than the pool's size are. */
  private release(w: Worker): void {
    w.onLine = null;
    w.onExit = null;
    const spent = w.calls >= MAX_CALLS || w.outAt + w.errAt > MAX_OUTPUT;
    if (this.stopping || this.idleWorkers.length >= this.want || spent) {
      w.retire();
      this.refill();
    } else this.idleWorkers.push(w);
    this.statsSoon();
  }

  private armIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = this.busy === 0 && this.idleMs > 0 ? setTimeout(() => this.stop(), this.idleMs) : null;
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.watch);
    if (this.idle) clearTimeout(this.idle);
    this.server.close();
    if (this.statsDue) clearTimeout(this.statsDue);
    // only our socket (and stats): a server that replaced it keeps its own
    try {
      if (dev(this.sock) === this.ownSock) {
        removeSocket(this.sock);
        rmSync(statsPath(this.sock), { force: true });
      }
    } catch {}
    // idle workers read the end of their stdin and exit; busy ones finish their call
    for (const w of this.idleWorkers.splice(0)) w.retire();
    this.finish(0);
  }

  private accept(c: Socket): void {
    c.on('error', () => {});
    let got: Buffer = Buffer.alloc(0);
    // once the call is a worker's: where the client's answers go
    let answer: ((type: number, data: Buffer) => void) | null = null;
    let answered = false;
    c.on('data', (d: Buffer) => {
      if (answered) return;
      got = got.length ? Buffer.concat([got, d]) : d;
      if (!answer) {
        if (got.length < 8) return;
        const n = requestLength(got);
        if (n === null || n > MAX_REQUEST) return void c.destroy();
        if (got.length < 8 + n) return;
        const payload = got.subarray(8, 8 + n);
        got = got.subarray(8 + n);
        answer = this.dispatch(c, payload);
        if (!answer) {
          answered = true;
          return;
        }
      }
      while (got.length >= 5) {
        const n = got.readUInt32LE(1);
        if (n > MAX_REQUEST + 4) return void c.destroy();
        if (got.length < 5 + n) break;
        answer(got[0] as number, got.subarray(5, 5 + n));
        got = got.subarray(5 + n);
      }
    });
  }

  /** Gives the call to a worker; the handler of the client's answers, or null when answered already. */
  private dispatch(c: Socket, payload: Buffer): ((type: number, data: Buffer) => void) | null {
    const send = (b: Uint8Array) => {
      if (!c.destroyed) c.write(b);
    };
    // the client stats the executable it would run: a server of another build (or a rebuilt
    // one) leaves the call to it and goes
    const exeField = payload.toString('latin1').split('\0', 1)[0];
    let exeNow = '';
    try {
      exeNow = dev(process.execPath);
    } catch {}
    if (exeField !== this.ownExe || exeNow !== this.ownExe) {
      c.end(frame(FRAME.fallback));
      if (exeNow !== this.ownExe) this.stop();
      return null;
    }
    const w = this.idleWorkers.shift();
    if (!w) {
      // every worker is busy: the client runs the call itself, as fast as it would without us
      c.end(frame(FRAME.fallback));
      this.count('allBusy');
      this.refill();
      return null;
    }
    this.busy++;
    w.calls++;
    setImmediate(() => this.refill());
    this.armIdle();
    let closed = false;
    // what the worker asked the client: only its answer goes back
    let asked: number | null = null;
    const close = (code: number | null, keep: boolean) => {
      if (closed) return;
      closed = true;
      this.busy--;
      this.armIdle();
      // one write: the frames go at once
      const frames: Uint8Array[] = [];
      if (code === null) {
        // what it wrote before it declined (a trace) is no one's output
        w.output('out');
        w.output('err');
        frames.push(frame(FRAME.fallback));
      } else {
        for (const [which, type] of [
          ['out', FRAME.stdout],
          ['err', FRAME.stderr],
        ] as const) {
          const d = w.output(which);
          for (let at = 0; at < d.length; at += CHUNK) frames.push(frame(type, d.subarray(at, at + CHUNK)));
        }
        frames.push(exitFrame(code));
      }
      if (!c.destroyed) c.end(Buffer.concat(frames));
      if (keep) this.release(w);
    };
    w.onLine = (line) => {
      if (line.startsWith('declined ')) {
        // the log (the server's stderr): callers that did not fit, not the verbs that never run here
        if (line.startsWith('declined unfit ')) this.log(`declined: ${line.slice(15)}`);
        this.count('declined');
        close(null, true);
      } else if (/^exit \d+$/.test(line)) {
        this.count('served');
        close(Number(line.slice(5)), true);
      } else if (line === 'stdin') {
        asked = FRAME.stdinData;
        send(frame(FRAME.stdin));
      } else if (line.startsWith('helper ')) {
        const run = helperFrame(line.slice(7));
        if (run === null) {
          // the worker's call fails as with a helper that could not start, and undoes its work
          const answer = Buffer.from(
            '\x7f\0\0\0{"error":"client","message":"berth-oci: the helper run is too large to pass to the client"}\n',
            'latin1',
          );
          return void w.send(answer);
        }
        asked = FRAME.helperStatus;
        send(frame(FRAME.helper, run));
      }
    };
    w.onExit = (why) => {
      writeSync(w.err, `berth-oci: the server's worker ended (${why})\n`);
      close(1, false);
    };
    // a client killed mid-call takes its call with it, as a killed runc's own process would go
    // (the next call, or delete --force, cleans what it left: docs/oci.md)
    c.on('close', () => {
      if (!closed) w.child.kill('SIGKILL');
    });
    // the client knows a worker has the call before the worker can do anything: a server killed
    // in between leaves the client a call not made (it runs it itself), never one made twice
    if (c.destroyed) close(null, true);
    else c.write(frame(FRAME.dispatched), () => w.send(payload));
    return (type, data) => {
      if (closed || type !== asked) return void c.destroy();
      asked = null;
      w.send(data);
    };
  }
}
