// Websockets with a terminal: interactive exec (GET /1.0/containers/{ctid}/exec) and the
// console (GET /1.0/containers/{ctid}/console, or ?session=N: a carried-over enter session).
// Binary frames are the terminal's bytes both ways; text frames are JSON:
// {"type":"resize","rows":R,"cols":C} from the client, and at the end
// {"type":"exit","exit_code":N} or {"type":"error","error":{...}} from the daemon.
import { parseEnvPair } from '../../core/container-plan.ts';
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import type { Daemon } from '../daemon.ts';
import type { ApiRequest, Route } from '../router.ts';
import { readError, spawnVerb } from '../runner.ts';
import { acceptWebSocket } from '../websocket.ts';

/** rows and columns as --winsize-fd takes them: two host-order uint16 */
function winsize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  const ok = (n: number) => Number.isInteger(n) && n > 0 && n < 10_000;
  if (!ok(rows) || !ok(cols))
    throw new BerthError('BAD_VALUE', 'resize: rows and cols must be whole numbers from 1 to 9999');
  b.writeUInt16LE(rows, 0); // x86_64 and arm64 are little-endian
  b.writeUInt16LE(cols, 2);
  return b;
}

/** Runs `berth ARGV` behind the websocket of r: the child's terminal is the client's. */
function terminal(d: Daemon, r: ApiRequest, argv: string[], request: string): null {
  const up = r.upgrade;
  if (!up)
    throw new BerthError('BAD_SYNTAX', `${r.req.url?.split('?')[0]}: a websocket is needed here`, {
      hint: 'non-interactive exec is POST',
    });
  const size = winsize(Number(r.query.get('rows') ?? 24), Number(r.query.get('cols') ?? 80));
  const ws = acceptWebSocket(r.req, up.socket, up.head);
  const { child, errFd } = spawnVerb(argv, { root: d.root, request, stdin: 'pipe', extraPipe: true, group: true });
  const sizes = child.stdio[4] as NodeJS.WritableStream | null;
  sizes?.on('error', () => {});
  sizes?.write(size);
  child.stdin?.on('error', () => {});
  child.stdout?.on('data', (b: Buffer) => ws.send(b));
  let messages = '';
  child.stderr?.on('data', (b: Buffer) => {
    messages = (messages + b.toString('utf8')).slice(-4000);
  });
  ws.on({
    message: (data, binary) => {
      if (binary) {
        child.stdin?.write(data);
        return;
      }
      try {
        const m = JSON.parse(data.toString('utf8')) as { type?: string; rows?: number; cols?: number };
        if (m.type === 'resize') sizes?.write(winsize(Number(m.rows), Number(m.cols)));
      } catch {
        ws.send(
          JSON.stringify({
            type: 'error',
            error: { code: 20, name: 'BAD_SYNTAX', message: 'a text frame is a JSON control message' },
          }),
        );
      }
    },
    // the client went: the terminal's session ends as a hung-up ssh session's would
    close: () => {
      if (child.exitCode !== null || !child.pid) return;
      try {
        process.kill(-child.pid, 'SIGHUP'); // berth, its helper, which passes it on to the command
      } catch {}
    },
  });
  child.on('close', (code) => {
    const error = readError(errFd);
    ws.send(
      JSON.stringify(
        error
          ? { type: 'error', error }
          : { type: 'exit', exit_code: code ?? 128, ...(messages.trim() ? { messages: messages.trim() } : {}) },
      ),
    );
    ws.close(1000);
  });
  return null;
}

export function terminalRoutes(d: Daemon): Route[] {
  return [
    {
      method: 'GET',
      path: '/1.0/containers/{ctid}/exec',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const command = r.query.getAll('command');
        if (command.length === 0 || command.some((a) => a.includes('\0'))) {
          throw new BerthError('BAD_VALUE', 'exec: command=ARG, once per argument', {
            hint: '?command=/bin/sh&command=-l',
          });
        }
        const env = r.query.getAll('env').flatMap((e) => ['--env', parseEnvPair('exec', e)]);
        return terminal(d, r, ['exec', '-t', '--winsize-fd', '4', ...env, id, '--', ...command], `exec-${id}`);
      },
    },
    {
      method: 'GET',
      path: '/1.0/containers/{ctid}/console',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        // ?session=N: an enter session a restore carried over (berth enter --attach N), held by
        // the same keeper as the console
        const session = r.query.get('session');
        if (session !== null) {
          if (!/^\d{1,2}$/.test(session))
            throw new BerthError('BAD_VALUE', 'console: session=N, the number of a carried-over enter session');
          return terminal(
            d,
            r,
            ['enter', '--attach', session, '-e', 'none', '--winsize-fd', '4', id],
            `session-${id}-${session}`,
          );
        }
        return terminal(d, r, ['console', '-e', 'none', '--winsize-fd', '4', id], `console-${id}`);
      },
    },
  ];
}
