// berthd in a sandbox: started as `berth daemon` (the shipped executable), a client on its
// socket, stopped (and checked to have removed its socket) after the test.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ApiClient } from '../../src/api/client.ts';
import { BERTH, type Sandbox, waitFor } from './harness.ts';

export interface RunningDaemon {
  socket: string;
  api: ApiClient;
  child: ChildProcess;
  /** the HTTPS port with listen (127.0.0.1, a free port), else null */
  port: number | null;
  /** what it printed on stderr so far */
  log: () => string;
  /** SIGTERM, and wait for it to end; returns its exit code */
  stop: () => Promise<number | null>;
}

export async function startDaemon(t: TestContext, s: Sandbox, opts: { listen?: boolean } = {}): Promise<RunningDaemon> {
  const socket = join(s.root, 'run/berth/berthd.sock');
  const listen = opts.listen ? ['--listen', '127.0.0.1:0'] : [];
  // the sandbox's wrap (nsenter into the network namespace playing the host) execs berth in place
  const [cmd = BERTH, ...pre] = [...s.wrap, BERTH];
  const child = spawn(cmd, [...pre, '--root', s.root, 'daemon', ...listen], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const api = new ApiClient(socket);
  const d: RunningDaemon = {
    socket,
    api,
    child,
    port: null,
    log: () => log,
    stop: async () => {
      api.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  t.after(async () => {
    await d.stop();
  });
  await waitFor('berthd to serve its socket', () => log.includes('serving') || child.exitCode !== null);
  assert.ok(existsSync(socket), `the socket exists: ${log}`);
  if (opts.listen) d.port = Number(/serving https:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  return d;
}
