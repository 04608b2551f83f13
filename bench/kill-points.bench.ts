// Issue 17's third target: SIGKILL of berth at 50 points across chkpnt, restore --dumpfile and
// migrate (offline and --online) of a busybox container with a routed address, on the two
// hosts of the migration tests. Only berth is killed (CRIU, its child, runs on, as it would
// when an admin's kill -9 hits the command). After each kill, the next commands must find a
// consistent state and bring the container back: status names no problem, and `restore` (a
// whole checkpoint), `start`, or `migrate` again (it resumes; exit 9, DEST still busy with the
// step the killed client asked for, is retried as an admin would) ends with the container running
// on exactly one host, with the file it wrote before. Prints each point and a JSON summary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, CRIU, type Sandbox } from '../test/integration/harness.ts';
import { type Cleanups, type Hosts, NA, twoHosts, where } from '../test/integration/two-hosts.ts';

if (process.getuid?.() !== 0) throw new Error('run as root');
const todo: Array<() => unknown> = [];
const c: Cleanups = { after: (fn) => todo.unshift(fn) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** berth ARGS on S (A's client config for migrate), SIGKILLed after DELAY ms; its end */
async function killed(h: Hosts, s: Sandbox, ns: string, args: string[], delay: number): Promise<string> {
  const p = spawn('nsenter', [`--net=/run/netns/${ns}`, BERTH, '--root', s.root, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...h.env },
  });
  let err = '';
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  await sleep(delay);
  // nsenter execs berth: its pid is berth's
  const done = p.exitCode !== null;
  if (!done) p.kill('SIGKILL');
  const code = await exited;
  return done ? `finished first (${code})${err ? `: ${err.trim().split('\n')[0]}` : ''}` : 'killed';
}

/** waits until no criu of sandbox S runs (berth's child lives on after berth) */
async function criuGone(s: Sandbox): Promise<void> {
  for (let i = 0; i < 200; i++) {
    // CRIU itself (its argv names the root), not a keeper whose argv quotes CRIU's
    const r = spawnSync('pgrep', ['-f', `^${CRIU} .*${s.root}`]);
    if (r.status !== 0) return;
    await sleep(50);
  }
  throw new Error('criu still runs 10 s after the kill');
}

function status(s: Sandbox, id: string): { exist: boolean; status: string; problem: string | null } {
  return JSON.parse(s.ok(['status', id, '--json'])) as { exist: boolean; status: string; problem: string | null };
}

function ct(h: Hosts, id: string, ip: string): void {
  h.a.ok(['create', id, '--ostemplate', 'busybox']);
  h.a.ok(['set', id, '--ipadd', ip, '--save']);
  h.a.ok(['start', id]);
  h.a.ok(['exec', id, '--', 'sh', '-c', `echo kept-${id} > /root/marker`]);
  h.a.ok(['exec', id, '--', 'sh', '-c', 'sleep 100000 </dev/null >/dev/null 2>&1 &']);
}

/** the container runs on exactly one host, HOST, with its file; then it goes */
function whole(h: Hosts, id: string, host: 'a' | 'b'): string | null {
  const [here, there] = host === 'a' ? [h.a, h.b] : [h.b, h.a];
  const w = where(here, id);
  if (!w.running) return `not running on ${host}`;
  if (where(there, id).exists) return `also on ${host === 'a' ? 'b' : 'a'}`;
  const m = here.berth(['exec', id, '--', 'cat', '/root/marker']).out.trim();
  if (m !== `kept-${id}`) return `its file is "${m}"`;
  return null;
}

function drop(s: Sandbox, id: string): void {
  s.berth(['stop', '--fast', id]);
  s.berth(['destroy', id]);
}

interface Point {
  kind: string;
  delay: number;
  seen: string;
  recovery: string;
  error: string | null;
}
const points: Point[] = [];

async function chkpntPoint(h: Hosts, id: string, delay: number): Promise<Point> {
  ct(h, id, `10.251.8.${Number(id) % 200}`);
  const seen = await killed(h, h.a, NA, ['chkpnt', id], delay);
  await criuGone(h.a);
  const st = status(h.a, id);
  let recovery = `status ${st.status}${st.problem ? ` (${st.problem})` : ''}`;
  if (st.status !== 'running') {
    const dump = join(h.a.root, 'var/lib/berth/dump', id);
    const hasMeta = existsSync(join(dump, 'berth-meta.json'));
    const r = hasMeta ? h.a.berth(['restore', id, '--dumpfile', dump]) : h.a.berth(['start', id]);
    recovery += hasMeta ? `, restore ${r.code}` : `, no whole checkpoint: start ${r.code}`;
  }
  const error = whole(h, id, 'a');
  drop(h.a, id);
  return { kind: 'chkpnt', delay, seen, recovery, error };
}

async function restorePoint(h: Hosts, id: string, delay: number): Promise<Point> {
  ct(h, id, `10.251.8.${Number(id) % 200}`);
  h.a.ok(['chkpnt', id]);
  const dump = join(h.a.root, 'var/lib/berth/dump', id);
  const seen = await killed(h, h.a, NA, ['restore', id, '--dumpfile', dump], delay);
  await criuGone(h.a);
  const st = status(h.a, id);
  let recovery = `status ${st.status}${st.problem ? ` (${st.problem})` : ''}`;
  if (st.status !== 'running') recovery += `, restore again ${h.a.berth(['restore', id, '--dumpfile', dump]).code}`;
  const error = whole(h, id, 'a');
  drop(h.a, id);
  return { kind: 'restore', delay, seen, recovery, error };
}

async function migratePoint(h: Hosts, id: string, delay: number, online: boolean): Promise<Point> {
  ct(h, id, `10.251.8.${Number(id) % 200}`);
  const more = online ? ['--online'] : [];
  const seen = await killed(h, h.a, NA, ['migrate', id, 'b', ...more], delay);
  await criuGone(h.a);
  await criuGone(h.b);
  const a = where(h.a, id);
  const b = where(h.b, id);
  let recovery = `A ${a.exists ? (a.running ? 'running' : 'stopped') : '-'}${a.migrating ? ' (migrating)' : ''}, B ${b.exists ? (b.running ? 'running' : 'stopped') : '-'}`;
  let error: string | null = a.running && b.running ? 'running on both' : null;
  if (!error) {
    if (a.exists || !b.running) {
      // exit 9: DEST's daemon still runs the step the killed client asked for; an admin waits
      let r = h.onA(['migrate', id, 'b', ...more]);
      for (let i = 0; r.code === 9 && i < 20; i++) {
        await sleep(500);
        r = h.onA(['migrate', id, 'b', ...more]);
        recovery += ', busy (9)';
      }
      recovery += `, migrate again ${r.code}${r.code ? `: ${r.err.trim().split('\n')[0]}` : ''}`;
    }
    error = whole(h, id, 'b');
  }
  drop(h.b, id);
  drop(h.a, id);
  return { kind: online ? 'migrate --online' : 'migrate', delay, seen, recovery, error };
}

/** how long one uninterrupted run takes, to spread the kill points over it */
async function span(fn: () => Promise<void>): Promise<number> {
  const t0 = Date.now();
  await fn();
  return Date.now() - t0;
}

try {
  const h = await twoHosts(c);
  let n = 900;
  const next = () => String(n++);
  // the durations of whole runs (measured, then cleaned)
  const id0 = next();
  ct(h, id0, '10.251.8.250');
  const tChk = await span(async () => void h.a.ok(['chkpnt', id0]));
  const tRes = await span(
    async () => void h.a.ok(['restore', id0, '--dumpfile', join(h.a.root, 'var/lib/berth/dump', id0)]),
  );
  const tOn = await span(async () => void h.onA(['migrate', id0, 'b', '--online']));
  drop(h.b, id0);
  const id1 = next();
  ct(h, id1, '10.251.8.251');
  const tOff = await span(async () => void h.onA(['migrate', id1, 'b']));
  drop(h.b, id1);
  console.log(`whole runs: chkpnt ${tChk} ms, restore ${tRes} ms, migrate --online ${tOn} ms, migrate ${tOff} ms`);
  // kill points spread over each run's length (berth's start-up included), short of its end
  const spread = (k: number, total: number) =>
    Array.from({ length: k }, (_, i) => Math.round((i * total * 0.9) / (k - 1)));
  const plan: Array<[string, number]> = [
    ...spread(12, tChk).map((d): [string, number] => ['chkpnt', d]),
    ...spread(12, tRes).map((d): [string, number] => ['restore', d]),
    ...spread(16, tOn).map((d): [string, number] => ['online', d]),
    ...spread(10, tOff).map((d): [string, number] => ['offline', d]),
  ];
  // ONLY=online DELAYS=400,420: just those points (to look into one)
  const only = process.env['ONLY'];
  const delays = process.env['DELAYS']?.split(',').map(Number);
  const chosen = only ? (delays ?? [0]).map((d): [string, number] => [only, d]) : plan;
  for (const [kind, d] of chosen) {
    const id = next();
    const p =
      kind === 'chkpnt'
        ? await chkpntPoint(h, id, d)
        : kind === 'restore'
          ? await restorePoint(h, id, d)
          : await migratePoint(h, id, d, kind === 'online');
    points.push(p);
    console.log(
      `${p.kind} killed at ${p.delay} ms: ${p.seen}; ${p.recovery}: ${p.error ? `FAILED: ${p.error}` : 'ok'}`,
    );
  }
  const bad = points.filter((p) => p.error);
  console.log(
    JSON.stringify({
      name: 'sigkill-points',
      points: points.length,
      killed: points.filter((p) => p.seen === 'killed').length,
      ok: points.length - bad.length,
      failed: bad.map((p) => `${p.kind}@${p.delay}: ${p.error}`),
    }),
  );
} finally {
  for (const fn of todo) await fn();
}
