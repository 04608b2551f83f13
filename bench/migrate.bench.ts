// Online migration's pause (issue 17: the client's longest gap at most 2x runc's): berth migrate
// --online of a busybox container with a routed address between the two hosts of the migration
// tests, against runc checkpoint + runc restore (--tcp-established, CRIU 4.2) of the same rootfs
// in place, both with the same TCP echo client writing a line every 20 ms. Needs root and CRIU.
// MEM=N: both containers also hold N MB of random bytes in a process's heap (a dd blocked writing
// its one block into a pipe nobody reads); LAZY=1: berth migrates with --lazy-pages (post-copy),
// LAZY=0 with --no-lazy-pages; unset, berth chooses (post-copy from 32 MB of lazy memory).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH } from '../test/integration/harness.ts';
import {
  type Cleanups,
  clientNet,
  echoSession,
  must,
  NA,
  NC,
  onlineBusybox,
  twoHosts,
} from '../test/integration/two-hosts.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const MEM = Number(process.env['MEM'] ?? 0);
/** LAZY=1: --lazy-pages, LAZY=0: --no-lazy-pages, unset: berth's own choice (by the dump's size) */
const LAZY = process.env['LAZY'];
const LAZY_ARGS = LAZY === '1' ? ['--lazy-pages'] : LAZY === '0' ? ['--no-lazy-pages'] : [];
/** N MB of random anonymous memory held by a blocked dd, for as long as the container runs */
const HOLD = MEM > 0 ? `dd if=/dev/urandom bs=${MEM}M count=1 iflag=fullblock 2>/dev/null | sleep 1000000 &` : '';
const CRIU_DIR = '/usr/local/lib/berth/criu/sbin';
const RUNC_NS = `berth-bench-runc-${process.pid}`;
const RUNC_IP = '10.252.3.1';

if (process.getuid?.() !== 0) throw new Error('run as root');
const todo: Array<() => unknown> = [];
const c: Cleanups = { after: (fn) => todo.unshift(fn) };

/**
 * A command run without blocking the event loop (the echo client's clock keeps reading): its
 * time, and with CAPTURE its stdout (read to its end: only for a command that leaves no process
 * holding it, which a detached runc container would).
 */
function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  capture = false,
  onErr: (text: string) => void = () => {},
): Promise<{ ms: number; out: string }> {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, {
      stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let err = '';
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      onErr(err);
    });
    p.on(capture ? 'close' : 'exit', (code) =>
      code === 0 ? res({ ms: Date.now() - t0, out }) : rej(new Error(`${cmd} ${args.join(' ')}: ${err}`)),
    );
  });
}

async function berthRound(h: Awaited<ReturnType<typeof twoHosts>>, route: ReturnType<typeof clientNet>, i: number) {
  const id = `${400 + i}`;
  const ip = `10.251.9.${40 + i}`;
  onlineBusybox(h, id, ip);
  if (HOLD) {
    h.a.ok(['exec', id, '--', 'sh', '-c', `{ ${HOLD.replace(/&$/, ';')} } </dev/null >/dev/null 2>&1 &`]);
    await new Promise((r) => setTimeout(r, 300 + MEM * 10));
  }
  route('a', ip);
  const s = echoSession(c, ip);
  if (!(await s.answers())) throw new Error('no echo on A');
  s.gap();
  // the client's route moves to B once the processes run there (on a LAN, DEST's announcement
  // does that): post-copy's pages still come after, plain --online's step ends with them running
  let moved = false;
  const running = [`${id} runs on b`, `${id}: migration phase started`];
  const { ms, out } = await run(
    'nsenter',
    [`--net=/run/netns/${NA}`, BERTH, '--root', h.a.root, 'migrate', id, 'b', '--online', ...LAZY_ARGS, '--json'],
    h.env,
    true,
    (err) => {
      if (moved || !running.some((r) => err.includes(r))) return;
      moved = true;
      route('b', ip);
    },
  );
  // where the pause goes: each step's time (chkpnt onwards is inside it)
  const steps = Object.entries((JSON.parse(out) as { stepMs: Record<string, number> }).stepMs)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (!moved) route('b', ip);
  if (!(await s.answers())) {
    // what B has of it, for the report: its processes and sockets, the kernel's last words
    const show = (args: string[]) => h.b.berth(['exec', id, '--', ...args]).out;
    throw new Error(
      `the session did not survive: B's processes:\n${show(['ps'])}\nsockets:\n${show(['netstat', '-tn'])}\ndmesg:\n${spawnSync('dmesg').stdout?.toString().split('\n').slice(-15).join('\n')}`,
    );
  }
  const gap = s.gap();
  s.close();
  h.b.ok(['stop', '--fast', id]);
  h.b.ok(['destroy', id]);
  return { gap, ms, steps };
}

/** runc's bundle: the busybox template's rootfs, an echo server as init, NC's peer namespace. */
function runcBundle(work: string, tarball: string): string {
  const bundle = join(work, 'runc');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  must(NC, ['tar', '--zstd', '-xpf', tarball, '-C', join(bundle, 'rootfs')]);
  spawnSync('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  // stdio on the container's own /dev/null: CRIU cannot dump a host file as its fds
  spec.process.args = ['sh', '-c', `exec </dev/null >/dev/null 2>&1; ${HOLD} nc -ll -p 7000 -e cat`];
  spec.process.terminal = false;
  spec.root.readonly = false;
  for (const n of spec.linux.namespaces) if (n.type === 'network') n.path = `/run/netns/${RUNC_NS}`;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  spawnSync('ip', ['netns', 'add', RUNC_NS]);
  c.after(() => spawnSync('ip', ['netns', 'del', RUNC_NS]));
  must(NC, ['ip', 'link', 'add', 'c3', 'type', 'veth', 'peer', 'name', 'eth0']);
  must(NC, ['ip', 'link', 'set', 'eth0', 'netns', RUNC_NS]);
  must(NC, ['ip', 'addr', 'add', '10.252.3.2/24', 'dev', 'c3']);
  must(NC, ['ip', 'link', 'set', 'c3', 'up']);
  must(RUNC_NS, ['ip', 'addr', 'add', `${RUNC_IP}/24`, 'dev', 'eth0']);
  must(RUNC_NS, ['ip', 'link', 'set', 'eth0', 'up']);
  must(RUNC_NS, ['ip', 'link', 'set', 'lo', 'up']);
  return bundle;
}

async function runcRound(work: string, bundle: string) {
  const state = join(work, 'runc-state');
  const img = join(work, `runc-img-${Date.now()}`);
  const env = { PATH: `${CRIU_DIR}:${process.env['PATH']}` };
  await run('runc', ['--root', state, 'run', '-d', '--bundle', bundle, 'ct']);
  c.after(() => spawnSync('runc', ['--root', state, 'delete', '-f', 'ct']));
  await new Promise((r) => setTimeout(r, 300 + MEM * 10));
  const s = echoSession(c, RUNC_IP);
  if (!(await s.answers())) throw new Error('no echo from runc');
  s.gap();
  const t0 = Date.now();
  await run('runc', ['--root', state, 'checkpoint', '--tcp-established', '--image-path', img, 'ct'], env);
  await run(
    'runc',
    ['--root', state, 'restore', '-d', '--tcp-established', '--image-path', img, '--bundle', bundle, 'ct'],
    env,
  );
  const ms = Date.now() - t0;
  if (!(await s.answers())) throw new Error('the runc session did not survive');
  const gap = s.gap();
  s.close();
  spawnSync('runc', ['--root', state, 'delete', '-f', 'ct']);
  return { gap, ms };
}

try {
  const h = await twoHosts(c);
  const route = clientNet(c);
  const bundle = runcBundle(h.a.root, join(h.a.root, 'var/lib/berth/template/cache/busybox.tar.zst'));
  const berth: number[] = [];
  const runc: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const b = await berthRound(h, route, i);
    const r = await runcRound(h.a.root, bundle);
    console.log(
      `round ${i}: berth gap ${b.gap} ms (migrate ${b.ms} ms: ${b.steps}); runc gap ${r.gap} ms (checkpoint + restore ${r.ms} ms)`,
    );
    berth.push(b.gap);
    runc.push(r.gap);
  }
  const ratio = median(berth) / median(runc);
  console.log(
    JSON.stringify({
      name: 'online-migration-gap',
      n: ROUNDS,
      mem_mb: MEM,
      lazy: LAZY ?? 'auto',
      berth_p50_ms: median(berth),
      runc_p50_ms: median(runc),
      ratio: Number(ratio.toFixed(2)),
    }),
  );
} finally {
  for (const fn of todo) await fn();
}
