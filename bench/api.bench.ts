// berthd against its peers, in one run (issue 15's targets): over one kept-alive connection on
// the unix socket, exec of /bin/true against `crun exec`, start of a stopped busybox container
// against `crun run -d` of the same rootfs, interleaved rounds, medians of paired figures; then
// GET /1.0/containers with N containers (median, p99), and berthd's resident memory with N
// running, beside incusd's with the same N when Incus is installed. Needs root; not a test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../src/api/client.ts';
import { stopLxcfsUnder } from './cleanup.ts';
import { type Crun, setupCrun, sh } from './crun.ts';
import { findIncusd, type IncusDaemon, importTemplate, incus, startIncus, stopIncus } from './incus.ts';
import { BERTH } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 15);
const N = Number(process.env['N'] ?? 100);
const INCUS_N = Number(process.env['INCUS_N'] ?? N);

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
chmodSync(work, 0o711);
const root = join(work, 'berth');
const berth = (args: string[]) => sh(BERTH, ['--root', root, ...args]);
const samples: Record<string, number[]> = {};
const add = (k: string, ms: number) => {
  samples[k] ??= [];
  samples[k].push(ms);
};
const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

let daemon: ChildProcess | null = null;
let crun: Crun | null = null;
let incusd: IncusDaemon | null = null;
const cts: string[] = [];
let result: Record<string, unknown> = {};
try {
  berth(['template', 'create', 'busybox']);
  berth(['create', 'b1']);
  berth(['create', 'e1']);
  berth(['start', 'e1']);
  cts.push('b1', 'e1');
  daemon = spawn(BERTH, ['--root', root, 'daemon'], { stdio: 'ignore' });
  const api = new ApiClient(join(root, 'run/berth/berthd.sock'));
  for (let i = 0; i < 100 && (await api.call('GET', '/1.0').catch(() => ({ status: 0 }))).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const timed = async (method: string, path: string, body?: unknown) => {
    const t0 = performance.now();
    const r = await api.call(method, path, body);
    const ms = performance.now() - t0;
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return ms;
  };
  crun = setupCrun(work, join(root, 'var/lib/berth/template/cache/busybox.tar.zst'));
  const c = crun;
  c.run(['run', '-d', '--bundle', c.bundle, 'ce']);
  await timed('POST', '/1.0/containers/e1/exec', { command: ['/bin/true'] }); // warm the connection
  for (let i = 0; i < ROUNDS; i++) {
    add('api exec /bin/true', await timed('POST', '/1.0/containers/e1/exec', { command: ['/bin/true'] }));
    add('crun exec /bin/true', c.run(['exec', 'ce', '/bin/true']));
    add('cli exec /bin/true', berth(['exec', 'e1', '--', '/bin/true']));
    add('api start', await timed('PUT', '/1.0/containers/b1/state?wait=60', { action: 'start' }));
    add('crun run -d', c.run(['run', '-d', '--bundle', c.bundle, 'c1']));
    await timed('PUT', '/1.0/containers/b1/state?wait=60', { action: 'stop', force: true });
    add('cli start', berth(['start', 'b1']));
    berth(['stop', '--fast', 'b1']);
    c.run(['delete', '-f', 'c1']);
  }

  // N containers, running: the list's latency and berthd's memory
  for (let i = 0; i < N; i++) {
    const id = `n${i}`;
    berth(['create', id]);
    berth(['start', id]);
    cts.push(id);
  }
  // unmeasured first: berthd fills its memo of watched files (host/watched.ts), and the JIT warms
  for (let i = 0; i < 10; i++) await timed('GET', '/1.0/containers');
  const lists: number[] = [];
  for (let i = 0; i < 50; i++) lists.push(await timed('GET', '/1.0/containers'));
  add('GET /1.0/containers', median(lists));
  const berthdRss = rssKb(daemon.pid ?? 0);
  api.close();

  let incusRss: number | null = null;
  const incusBin = findIncusd();
  if (incusBin) {
    incusd = startIncus(incusBin, work);
    importTemplate(join(root, 'var/lib/berth/template/cache/busybox.tar.zst'), work, 'busybox');
    for (let i = 0; i < INCUS_N; i++) {
      incus(['create', 'busybox', `i${i}`]);
      incus(['start', `i${i}`]);
    }
    incusRss = rssKb(incusd.proc.pid ?? 0);
  }
  const m = (k: string) => median(samples[k] ?? []);
  const paired = (a: string, b: string) => median((samples[a] ?? []).map((x, i) => x - (samples[b]?.[i] ?? 0)));
  const ratio = (a: string, b: string) => median((samples[a] ?? []).map((x, i) => x / (samples[b]?.[i] ?? 1)));
  result = {
    rounds: ROUNDS,
    n: N,
    'api exec ms': m('api exec /bin/true'),
    'crun exec ms': m('crun exec /bin/true'),
    'cli exec ms': m('cli exec /bin/true'),
    'api exec - crun exec (paired) ms': paired('api exec /bin/true', 'crun exec /bin/true'),
    'api start ms': m('api start'),
    'crun run -d ms': m('crun run -d'),
    'cli start ms': m('cli start'),
    'api start / crun run -d (paired)': ratio('api start', 'crun run -d'),
    [`GET /1.0/containers with ${N} running: median ms`]: median(lists),
    [`GET /1.0/containers with ${N} running: p99 ms`]: pct(lists, 0.99),
    [`berthd RSS with ${N} running, MB`]: berthdRss / 1024,
    [`incusd RSS with ${INCUS_N} running, MB`]: incusRss === null ? 'incus not installed' : incusRss / 1024,
  };
} catch (err) {
  console.log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  if (incusd) {
    for (let i = 0; i < INCUS_N; i++) spawnSync('incus', ['delete', '-f', `i${i}`], { stdio: 'ignore' });
    await stopIncus(incusd);
  }
  daemon?.kill('SIGTERM');
  for (const id of cts) {
    spawnSync(BERTH, ['--root', root, 'stop', '--fast', id], { stdio: 'ignore' });
    spawnSync(BERTH, ['--root', root, 'destroy', id], { stdio: 'ignore' });
  }
  crun?.cleanup(['c1', 'ce']);
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
for (const [k, v] of Object.entries(result)) console.log(`${k}: ${typeof v === 'number' ? v.toFixed(1) : v}`);
const t = (what: string, ok: boolean) => console.log(`  ${what}: ${ok ? 'met' : 'NOT met'}`);
console.log('targets (issue 15):');
t('exec at most crun exec + 5 ms', Number(result['api exec - crun exec (paired) ms']) <= 5);
t('start at most 1.5x crun run -d', Number(result['api start / crun run -d (paired)']) <= 1.5);
t(`GET /1.0/containers with ${N} under 20 ms`, Number(result[`GET /1.0/containers with ${N} running: median ms`]) < 20);
const inc = result[`incusd RSS with ${INCUS_N} running, MB`];
t('berthd RSS below incusd', typeof inc === 'number' && Number(result[`berthd RSS with ${N} running, MB`]) < inc);
