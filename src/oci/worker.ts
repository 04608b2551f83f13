// A worker of berth-oci's server (src/oci/server.ts; docs/oci.md, "The call server"): a berth-oci
// process started ahead of its calls, with every verb's modules loaded, that runs them one at a
// time. Each call is the executable's own code, with the caller's environment and cwd set
// before it; berth-oci's code keeps no state between calls in its modules (nothing is cached),
// and the server retires a worker after some hundred calls.
//
// Its fds: 0 messages from the server (a u32 LE length, then the bytes: first the request, then
// the client's answers), 1 and 2 the calls' stdout and stderr (anonymous files the server reads
// and frames for the client once a call ended), 3 lines to the server: "ready" once loaded;
// per call "helper JSON" and "stdin", asking the client (src/oci/caller.ts), then "declined
// unfit|verb WHY" (nothing was done: the client runs the call itself) or "exit N".
import { closeSync, readSync, statSync, writeSync } from 'node:fs';
import { type CallerFacts, callerDiffers, encodeRequest, type OciRequest, parseRequest } from '../core/oci-wire.ts';
import { helperResult } from '../host/helper.ts';
import { ownFacts } from '../host/oci-caller.ts';
import { pause } from '../host/proc.ts';
import { traceFromEnv } from '../host/trace.ts';
import type { CallerSide } from './caller.ts';
import { Declined, ociMain } from './main.ts';
import { VERBS } from './verbs.ts';

const CONTROL = 3;

export async function work(helper: string): Promise<number> {
  // a call then runs none of its verb's start-up (the bytecode of every verb is loaded now)
  await Promise.all(Object.values(VERBS).map((v) => v.load()));
  const own = ownFacts();
  // the request's parse, once ahead: its first run (the decoder's set-up) took most of a call's ms
  parseRequest(
    encodeRequest({ exe: '0:0', facts: own, ttys: [false, false, false], cwd: '/', argv: [], env: {} }).subarray(8),
  );
  const ownHelper = process.env['BERTH_HELPER'] ?? '';
  writeSync(CONTROL, 'ready\n');
  // calls one after another, until the server ends our stdin (it retires a worker after its
  // MAX_CALLS: src/oci/server.ts)
  for (;;) {
    const payload = readMessage();
    if (payload === null) return 0;
    let req: OciRequest;
    try {
      req = parseRequest(payload);
    } catch (err) {
      decline('unfit', `its request: ${(err as Error).message}`);
      continue;
    }
    const code = await serveOne(req, helper, own, ownHelper);
    // no directory of a caller's kept busy (a bundle's filesystem to unmount) between calls
    process.chdir('/');
    if (code !== null) writeSync(CONTROL, `exit ${code}\n`);
  }
}

/** One call: its exit code, or null when it was declined (the line is written). */
async function serveOne(req: OciRequest, helper: string, own: CallerFacts, ownHelper: string): Promise<number | null> {
  const why = unfit(req, own, ownHelper);
  if (why !== null) return decline('unfit', why);
  // the caller's environment is the call's (BERTH_ROOT, BERTH_TRACE, the hooks' own, ...)
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  traceFromEnv();
  try {
    return await ociMain(req.argv, helper, clientSide(req));
  } catch (err) {
    if (err instanceof Declined) return decline('verb', err.message);
    throw err;
  }
}

function clientSide(req: OciRequest): CallerSide {
  const ask = (line: string): Buffer => {
    writeSync(CONTROL, `${line}\n`);
    const answer = readMessage();
    if (answer === null) throw new Error('the server went away during the call');
    return answer;
  };
  return {
    runHelper(helper, args, seccompFd) {
      // the client opens the policy through our fd: the same file, root's alone ('': none)
      const policy = seccompFd === null ? '' : `/proc/${process.pid}/fd/${seccompFd}`;
      let answer: Buffer;
      try {
        answer = ask(`helper ${JSON.stringify({ policy, argv: [helper, ...args] })}`);
      } finally {
        if (seccompFd !== null) closeSync(seccompFd);
      }
      if (answer.length < 4) throw new Error("the client's helper run has no status");
      const status = answer.readInt32LE(0);
      const signal = status < 0 ? `signal ${-status}` : null;
      return helperResult(status < 0 ? null : status, signal, answer.subarray(4).toString('utf8'));
    },
    readStdin: () => ask('stdin').toString('utf8'),
    isTerminal: (fd) => req.ttys[fd] === true,
  };
}

/** One message of the server's on fd 0, or null at its end. */
function readMessage(): Buffer | null {
  const head = readExactly(4);
  if (head === null) return null;
  const body = readExactly(head.readUInt32LE(0));
  if (body === null) throw new Error("the server's message ends early");
  return body;
}

function readExactly(n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  for (let got = 0; got < n; ) {
    let r: number;
    try {
      r = readSync(0, buf, got, n - got, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      // a non-blocking stdin (never seen): wait a moment rather than spin
      pause(1);
      continue;
    }
    if (r === 0) return null;
    got += r;
  }
  return buf;
}

/** Why this worker may not run REQ as its caller would have (null: it may), and its cwd set. */
function unfit(req: OciRequest, own: CallerFacts, ownHelper: string): string | null {
  const differs = callerDiffers(own, req.facts);
  if (differs) return differs;
  // the helper the call would run is this worker's (entry.ts: BERTH_HELPER or the package's)
  if ((req.env['BERTH_HELPER'] ?? '') !== ownHelper) return "the caller's BERTH_HELPER differs from the server's";
  try {
    if (!statSync(req.cwd).isDirectory()) return 'its working directory is not a directory';
    process.chdir(req.cwd);
  } catch {
    return 'its working directory cannot be entered';
  }
  return null;
}

/** "declined unfit WHY" (the caller differs: the server logs it) or "declined verb WHY" (by design). */
function decline(kind: 'unfit' | 'verb', why: string): null {
  writeSync(CONTROL, `declined ${kind} ${why.replace(/\n/g, ' ').slice(0, 200)}\n`);
  return null;
}
