// berth-oci serve [--detach] [--idle SECONDS] [--workers N] | --status | --stop: runs
// berth-oci's call server (src/oci/server.ts; docs/oci.md, "The call server") in the
// foreground or the background, stops it, or prints its counters. A shim runs its runtime a
// few times per container, and a Bun program's start-up alone is longer than runc's whole
// `delete`: the server's warm workers take the calls of the client (helper/oci-client.c, the
// berth-oci on the PATH).
//
// It answers on RUN/oci-server/sock (0600, in a 0700 directory: root's only), for the
// BERTH_ROOT it was started with (by a unit, setup's berth-oci.service, or an admin; never by a
// call: under a shim or conmon, which are subreapers, the server would become their child and
// they would wait for it). It exits on SIGTERM, after SECONDS without a call (--idle; 0, the
// default: never), when its socket is removed or replaced, or when its executable is (a client
// of another build is declined).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { linuxHost } from '../host/host.ts';
import { ociServerSocket, statsPath } from '../host/paths.ts';
import { declineIf } from './caller.ts';
import { type OciGlobal, parseFlags } from './main.ts';
import { Server } from './server.ts';

const MAX_WORKERS = 16;

export async function run(g: OciGlobal, args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags('serve', args, ['idle', 'workers'], ['worker', 'status', 'stop', 'detach']);
  if (positionals.length) throw new BerthError('BAD_SYNTAX', 'serve: takes no arguments');
  const sock = ociServerSocket(g.berth);
  if (flags.has('status')) return status(sock);
  // a server's own commands never run in one of its workers
  declineIf(g, true, 'serve runs as a process of its own');
  if (flags.has('worker')) return (await import('./worker.ts')).work(g.helper);
  if (process.getuid?.() !== 0) throw new BerthError('NO_ACCESS', 'serve: the call server runs as root');
  if (flags.has('stop')) return stopServer(sock);
  const number = (k: string, dflt: number, min: number, max: number): number => {
    const v = flags.get(k)?.at(-1);
    const n = v === undefined ? dflt : /^\d{1,7}$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max)) throw new BerthError('BAD_VALUE', `serve: --${k}: a number from ${min} to ${max}`);
    return n;
  };
  const idle = number('idle', 0, 0, 86400);
  const want = number('workers', 2, 1, MAX_WORKERS);
  if (await answers(sock)) return 0; // another server has it: the client finds that one
  if (flags.has('detach')) return detach(sock, g.berth.prefix, idle, want);
  // not the directory it was started from (a bundle's, say); a call's worker takes its caller's
  process.chdir('/');
  return new Server(sock, idle * 1000, want).done;
}

/**
 * `serve --detach`: the server in the background, its stderr the log beside its socket; returns
 * once it answers. Its parent is then init (or the caller's subreaper: start it from a shell or
 * a unit, not from under a shim, which would wait for it).
 */
async function detach(sock: string, root: string, idle: number, want: number): Promise<number> {
  mkdirSync(dirname(sock), { recursive: true, mode: 0o700 });
  const log = openSync(join(dirname(sock), 'log'), 'a', 0o600);
  try {
    // the root this call was given, by BERTH_ROOT or --berth-root
    spawn(process.execPath, ['--berth-root', root, 'serve', '--idle', String(idle), '--workers', String(want)], {
      argv0: 'berth-oci',
      detached: true,
      stdio: ['ignore', 'ignore', log],
    }).unref();
  } finally {
    closeSync(log);
  }
  for (let i = 0; i < 200; i++) {
    if (await answers(sock)) return 0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new BerthError('SYSTEM', `serve --detach: no server answers on ${sock} after 10 s`, {
    hint: `its log: ${join(dirname(sock), 'log')}`,
  });
}

/** `serve --stop`: SIGTERM to the server of this root (its stats name it); returns once it is gone. */
async function stopServer(sock: string): Promise<number> {
  if (!(await answers(sock))) return 0;
  let pid = 0;
  try {
    pid = Number((JSON.parse(readFileSync(statsPath(sock), 'utf8')) as { pid?: unknown }).pid);
  } catch {}
  // only a berth-oci server: a stale stats file never names another process to kill
  const cmd = Number.isSafeInteger(pid) && pid > 1 ? (linuxHost.readProc(`${pid}/cmdline`) ?? '') : '';
  const argv = cmd.split('\0');
  if (argv[0] !== 'berth-oci' || !argv.includes('serve') || argv.includes('--worker'))
    throw new BerthError('SYSTEM', `serve --stop: no server pid in ${statsPath(sock)}`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && (await answers(sock)); i++) await new Promise((r) => setTimeout(r, 50));
  return 0;
}

/** `serve --status`: the running server's counters (its stats file), or exit 1 when none answers. */
async function status(sock: string): Promise<number> {
  if (!(await answers(sock))) throw new BerthError('NOT_RUNNING', `no call server answers on ${sock}`);
  writeSync(1, readFileSync(statsPath(sock), 'utf8'));
  return 0;
}

/** Whether a server answers on SOCK (one that was killed left its file behind). */
function answers(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(sock);
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}
