// Density: the host memory each idle running busybox container costs, berth against Incus (the
// drop of MemAvailable with N containers running, caches dropped before each reading), and the
// time of N berth creates and N starts in a loop. One run, one throwaway directory; not part of
// the tests. Needs root; Incus is left out when not installed (see bench/README.md).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopLxcfsUnder } from './cleanup.ts';
import { findIncusd, INCUS_INSTALL, type IncusDaemon, importTemplate, incus, startIncus, stopIncus } from './incus.ts';
import { BERTH, REPO } from './paths.ts';

const N = Number(process.env['N'] ?? 100);
const INCUS_N = Number(process.env['INCUS_N'] ?? 30);
const SETTLE = Number(process.env['SETTLE'] ?? 10);
// issue 13: 100 creates and 100 starts in a loop took 15.7 s and 18.1 s on Node; target 0.3x
const BASELINE_S = { create: 15.7, start: 18.1 };

function sh(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  // stdout and stderr to /dev/null: a started container's init would hold a pipe open
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const sleep = (s: number) => spawnSync('sleep', [String(s)]);
const memAvailableKiB = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
const pssKiB = (pid: number) =>
  Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
/** A process's memory cgroup, relative to the hierarchy's root (v1 memory, else cgroup2). */
function memcgOf(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  return (v1 ?? lines.find((l) => l.startsWith('0::')) ?? '').split(':')[2] ?? '';
}
/** The memory charged to a cgroup, KiB (0 when it does not exist). */
function memcgKiB(rel: string): number {
  for (const f of [
    join('/sys/fs/cgroup/memory', rel, 'memory.usage_in_bytes'),
    join('/sys/fs/cgroup', rel, 'memory.current'),
  ])
    if (existsSync(f)) return Number(readFileSync(f, 'utf8')) / 1024;
  return 0;
}
/** The pids in a cgroup of the memory hierarchy (v1, else cgroup2). */
function procsOf(rel: string): number[] {
  for (const f of [join('/sys/fs/cgroup/memory', rel, 'cgroup.procs'), join('/sys/fs/cgroup', rel, 'cgroup.procs')])
    if (existsSync(f)) return readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number);
  return [];
}
function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
  sleep(1);
}

interface Side {
  n: number;
  create_s: number;
  start_s: number;
  mem_kib: { before: number; running: number; after: number };
  /** (before - running) / n */
  mb_per_ct: number;
  /** (mean of before and after - running) / n: a steady drift of the host's memory cancels */
  mb_per_ct_bracketed: number;
  /** charged to the containers' memory cgroups plus the PSS of their host-side processes:
   * blind to the rest of the host, and to kernel memory charged to no cgroup */
  charged_mb_per_ct: number;
}

/** Creates and starts n containers in two timed loops, reads memory around them, removes them. */
function measure(
  n: number,
  create: (i: number) => number,
  start: (i: number) => number,
  charged: (i: number) => number,
  down: () => void,
): Side {
  dropCaches();
  const before = memAvailableKiB();
  let createMs = 0;
  let startMs = 0;
  for (let i = 0; i < n; i++) createMs += create(i);
  for (let i = 0; i < n; i++) startMs += start(i);
  sleep(SETTLE);
  dropCaches();
  const running = memAvailableKiB();
  let chargedKiB = 0;
  for (let i = 0; i < n; i++) chargedKiB += charged(i);
  down();
  dropCaches();
  const after = memAvailableKiB();
  return {
    n,
    create_s: createMs / 1000,
    start_s: startMs / 1000,
    mem_kib: { before, running, after },
    mb_per_ct: (before - running) / n / 1024,
    mb_per_ct_bracketed: ((before + after) / 2 - running) / n / 1024,
    charged_mb_per_ct: chargedKiB / n / 1024,
  };
}

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-density-'));
// Incus's unprivileged containers reach their rootfs through this directory (as /var/lib/incus)
chmodSync(work, 0o711);
const root = join(work, 'berth');
const berth = (...args: string[]) => sh(BERTH, ['--root', root, ...args]);
const incusd = findIncusd();
if (!incusd) console.log(`incus left out: not installed (${INCUS_INSTALL})`);
let daemon: IncusDaemon | null = null;
let forced: string[] = [];
const made: string[] = [];
const results: Record<string, Side> = {};

try {
  berth('template', 'create', 'busybox');
  // incusd runs through both sides, so only what each container adds to it counts
  if (incusd && INCUS_N > 0) {
    daemon = startIncus(incusd, work);
    importTemplate(join(root, 'var/lib/berth/template/cache/busybox.tar.zst'), work, 'busybox');
  }
  const down = () => {
    for (const ct of made.splice(0)) {
      spawnSync(BERTH, ['--root', root, 'stop', '--fast', ct]);
      spawnSync(BERTH, ['--root', root, 'destroy', ct]);
    }
    stopLxcfsUnder(root); // berth starts lxcfs with its first container
  };
  results['berth'] = measure(
    N,
    (i) => {
      made.push(`d${i}`);
      return berth('create', `d${i}`);
    },
    (i) => berth('start', `d${i}`),
    (i) => {
      // the container's cgroup (init's is its ns/ child) and its keeper, which runs outside it
      const state = JSON.parse(readFileSync(join(root, 'run/berth', `d${i}`, 'state.json'), 'utf8'));
      const keeper = state.keeper ? pssKiB(state.keeper.pid) : 0;
      return memcgKiB(memcgOf(state.pid).replace(/\/ns$/, '')) + keeper;
    },
    down,
  );
  if (daemon) {
    results['incus'] = measure(
      INCUS_N,
      (i) => sh('incus', ['create', 'busybox', `i${i}`]),
      (i) => sh('incus', ['start', `i${i}`]),
      // its payload cgroup, and its lxc monitor (a fork of incusd, charged where it was forked)
      (i) => memcgKiB(`lxc.payload.i${i}`) + procsOf(`lxc.monitor.i${i}`).reduce((a, p) => a + pssKiB(p), 0),
      () => incus(['delete', '-f', ...Array.from({ length: INCUS_N }, (_, i) => `i${i}`)]),
    );
  }
} finally {
  for (const ct of made) {
    spawnSync(BERTH, ['--root', root, 'stop', '--fast', ct]);
    spawnSync(BERTH, ['--root', root, 'destroy', ct]);
  }
  forced = await stopIncus(daemon);
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
if (forced.length) console.log(`incus teardown had to clean by force: ${forced.join('; ')}`);

console.log(`memory per idle running busybox container (MemAvailable drop, caches dropped, ${SETTLE} s settle):`);
for (const [name, r] of Object.entries(results)) {
  const m = r.mem_kib;
  console.log(
    `  ${name}: N=${r.n}: ${r.mb_per_ct.toFixed(2)} MiB/container (bracketed by the reading after removal: ` +
      `${r.mb_per_ct_bracketed.toFixed(2)}; charged to its cgroups and host-side processes: ${r.charged_mb_per_ct.toFixed(2)}); MemAvailable before/running/after ${m.before}/${m.running}/${m.after} KiB`,
  );
  console.log(
    `  ${name}: ${r.n} creates ${r.create_s.toFixed(1)} s (${((r.create_s / r.n) * 1000).toFixed(0)} ms each), ` +
      `${r.n} starts ${r.start_s.toFixed(1)} s (${((r.start_s / r.n) * 1000).toFixed(0)} ms each)`,
  );
}
const b = results['berth'];
if (b && b.n === 100) {
  const rc = b.create_s / BASELINE_S.create;
  const rs = b.start_s / BASELINE_S.start;
  console.log(
    `  berth loop vs issue 13's baseline (${BASELINE_S.create} s creates, ${BASELINE_S.start} s starts): ` +
      `${rc.toFixed(2)}x and ${rs.toFixed(2)}x (target at most 0.3x: ${rc <= 0.3 && rs <= 0.3 ? 'met' : 'NOT met'})`,
  );
}
const out = join(REPO, 'bench/results');
mkdirSync(out, { recursive: true });
const file = join(out, `density-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ settle_s: SETTLE, results }, null, 2));
console.log(`raw figures: ${file}`);
