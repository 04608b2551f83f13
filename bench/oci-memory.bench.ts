// Host memory per idle running container under containerd, berth-oci against runc in one run
// (issue 16's second target: no more than runc's). A containerd started by the bench (its own
// root, state and socket in a temp directory, no CRI), N `ctr run -d --runc-binary X` of
// `sleep 3600` per runtime on the busybox template's files; per container the PSS of its shim,
// its processes and any process the runtime leaves beside them, its cgroup's memory charge, and
// the fall of MemAvailable as a check. Needs root; not a test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lxcfsDir } from '../src/host/lxcfs.ts';
import { makePaths } from '../src/host/paths.ts';
import { stopLxcfsUnder } from './cleanup.ts';
import { sh } from './crun.ts';
import { BERTH } from './paths.ts';
import { median } from './stats.ts';

const N = Number(process.env['N'] ?? 10);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const OCI = join(BERTH, '..', 'berth-oci');
const SETTLE_MS = 2000;

if (process.getuid?.() !== 0) throw new Error('run as root');
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const runc = which('runc');
for (const cmd of ['runc', 'containerd', 'ctr', 'containerd-shim-runc-v2']) {
  if (!which(cmd)) throw new Error(`${cmd} is not installed (apt-get install containerd)`);
}
const RUNTIMES: Record<string, string> = { berth: OCI, runc };
const HELPER = join(BERTH, '..', '..', 'helper', 'berth-nsexec');

const sleep = (ms: number) => spawnSync('sleep', [String(ms / 1000)]);
const readOr = (p: string, fallback = '') => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return fallback;
  }
};
/** Proportional set size of a process in bytes (its share of pages it shares): 0 once gone. */
const pss = (pid: number) => Number(/^Pss:\s+(\d+) kB/m.exec(readOr(`/proc/${pid}/smaps_rollup`))?.[1] ?? 0) * 1024;
const ppid = (pid: number) => Number(/^PPid:\s+(\d+)/m.exec(readOr(`/proc/${pid}/status`))?.[1] ?? 0);
const memAvailable = () => Number(/^MemAvailable:\s+(\d+) kB/m.exec(readOr('/proc/meminfo'))?.[1] ?? 0) * 1024;
const pids = () =>
  new Set(
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number),
  );
/** what ran before the bench: never counted as a runtime's */
const BEFORE = pids();

/** The memory cgroup of PID as a directory: v1's memory hierarchy, or v2's unified one. */
function memoryCgroup(pid: number): string | null {
  for (const line of readOr(`/proc/${pid}/cgroup`).split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (ctrls?.split(',').includes('memory')) return join('/sys/fs/cgroup/memory', path ?? '');
  }
  const v2 = /^0::(.*)$/m.exec(readOr(`/proc/${pid}/cgroup`))?.[1];
  return v2 !== undefined && existsSync(join('/sys/fs/cgroup', v2, 'memory.current'))
    ? join('/sys/fs/cgroup', v2)
    : null;
}
const charge = (dir: string) =>
  Number(readOr(join(dir, 'memory.usage_in_bytes'), '') || readOr(join(dir, 'memory.current'), '0'));

/**
 * Processes the runtime keeps beside the containers and their shims: its own or berth's helper
 * (a keeper) started since the bench began, and berth-oci's lxcfs (RUN/lxcfs, which system
 * containers use) even if it ran before. A shared one counts for each container by its share
 * (its PSS over N), as if the N were all it served.
 */
function runtimeExtras(name: string): number[] {
  const exes = name === 'berth' ? [OCI, BERTH, HELPER] : [RUNTIMES[name]];
  return [...pids()].filter((p) => {
    const argv = readOr(`/proc/${p}/cmdline`).split('\0').filter(Boolean);
    if (name === 'berth' && argv.at(-1) === LXCFS && (argv[0] ?? '').endsWith('lxcfs')) return true;
    return !BEFORE.has(p) && exes.includes(argv[0]);
  });
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-ocimem-'));
chmodSync(work, 0o711);
// berth's own paths for berth-oci (through containerd and its shims, which pass the environment
// on): its lxcfs and id ranges in the work tree, stopped and removed with it
process.env['BERTH_ROOT'] = join(work, 'berth');
const LXCFS = lxcfsDir(makePaths(join(work, 'berth'), HELPER));
const ns = `berth-bench-${process.pid}`;
const sock = join(work, 'sock');
const hadRun = existsSync('/run/containerd');
let daemon: ChildProcess | null = null;
const ctr = (args: string[]) =>
  spawnSync('ctr', ['--address', sock, '-n', ns, ...args], { encoding: 'utf8', timeout: 120_000 });
const ids: string[] = [];
const removeAll = () => {
  for (const id of ids.splice(0)) {
    ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    for (let i = 0; i < 50 && new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(ctr(['task', 'ls']).stdout); i++)
      sleep(100);
    ctr(['task', 'delete', '--force', id]);
    ctr(['container', 'rm', id]);
  }
};
/** bytes per container; total: shim + extra + cgroup (the cgroup's charge covers its processes' pages, and kernel memory) */
type Sample = { pss: number; cgroup: number; shim: number; procs: number; extra: number; total: number };
const samples: Record<string, Sample[]> = { berth: [], runc: [] };
const avail: Record<string, number[]> = { berth: [], runc: [] };
try {
  const root = join(work, 'berth');
  const rootfs = join(work, 'rootfs');
  sh(BERTH, ['--root', root, 'template', 'create', 'busybox']);
  mkdirSync(rootfs);
  sh('tar', ['--zstd', '-xf', join(root, 'var/lib/berth/template/cache/busybox.tar.zst'), '-C', rootfs]);
  writeFileSync(
    join(work, 'config.toml'),
    `version = 2\nroot = "${work}/root"\nstate = "${work}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${sock}"\n`,
  );
  daemon = spawn('containerd', ['--config', join(work, 'config.toml')], { stdio: 'ignore' });
  for (let i = 0; i < 300 && !existsSync(sock); i++) sleep(100);
  if (!existsSync(sock)) throw new Error('containerd did not serve its socket');

  const phase = (name: string, round: number) => {
    const a0 = median([memAvailable(), memAvailable(), memAvailable()]);
    for (let i = 0; i < N; i++) {
      const id = `${name}-${round}-${i}`;
      ids.push(id);
      // the rootfs given as is (no snapshot, no image): the same files for both runtimes
      const r = ctr([
        'run',
        '-d',
        '--null-io',
        '--env',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
        '--runc-binary',
        RUNTIMES[name] ?? '',
        '--rootfs',
        rootfs,
        id,
        'sleep',
        '3600',
      ]);
      if (r.status !== 0) throw new Error(`ctr run ${id} (${name}): ${r.stderr}`);
    }
    sleep(SETTLE_MS);
    const tasks = new Map(
      [...ctr(['task', 'ls']).stdout.matchAll(/^(\S+)\s+(\d+)\s+RUNNING/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const extras = runtimeExtras(name);
    const extra = extras.reduce((s, p) => s + pss(p), 0) / N;
    for (const id of ids) {
      const init = tasks.get(id);
      if (!init) throw new Error(`${id} (${name}) is not running: ${ctr(['task', 'ls']).stdout}`);
      const cg = memoryCgroup(init);
      const procs = cg
        ? readOr(join(cg, 'cgroup.procs'))
            .split('\n')
            .filter(Boolean)
            .map(Number)
            .reduce((s, p) => s + pss(p), 0)
        : pss(init);
      // the shim reaps the container's init (a subreaper): its parent
      const shim = pss(ppid(init));
      const cgroup = cg ? charge(cg) : procs;
      samples[name]?.push({ pss: shim + procs + extra, cgroup, shim, procs, extra, total: shim + extra + cgroup });
    }
    const a1 = median([memAvailable(), memAvailable(), memAvailable()]);
    if (extras.length)
      console.log(`${name}: ${extras.length} process(es) beside the containers and shims: ${extras.join(' ')}`);
    removeAll();
    sleep(SETTLE_MS);
    // with the containers against the mean of before and after them: a steady drift cancels
    const drop = ((a0 + median([memAvailable(), memAvailable(), memAvailable()])) / 2 - a1) / N;
    avail[name]?.push(drop);
    // the host's other work moves MemAvailable too: each phase's own figure shows how much
    console.log(`round ${round} ${name}: MemAvailable fell ${(drop / 1048576).toFixed(2)} MiB per container`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    // alternate which runtime goes first, so a drift of the host's memory weighs on both
    for (const name of round % 2 ? ['runc', 'berth'] : ['berth', 'runc']) phase(name, round);
  }
  const MiB = (b: number) => (b / 1048576).toFixed(2);
  const m = (name: string, k: keyof Sample) => median((samples[name] ?? []).map((s) => s[k]));
  console.log(`containers: ${N} per runtime and round, ${ROUNDS} rounds, sleep 3600 on the busybox files`);
  console.log('MiB per container: shim, procs and extra are PSS; total = shim + extra + cgroup');
  const cols: (keyof Sample)[] = ['shim', 'procs', 'extra', 'cgroup', 'total'];
  console.log(`runtime ${cols.map((c) => c.padStart(7)).join(' ')}  MemAvailable drop`);
  for (const name of ['berth', 'runc']) {
    const drop = MiB(median(avail[name] ?? []));
    console.log(`${name.padEnd(7)} ${cols.map((c) => MiB(m(name, c)).padStart(7)).join(' ')}  ${drop.padStart(7)}`);
  }
  const ratio = (k: keyof Sample) => (m('berth', k) / m('runc', k)).toFixed(2);
  const drops = (median(avail['berth'] ?? []) / median(avail['runc'] ?? [])).toFixed(2);
  console.log(
    `berth-oci / runc: total ${ratio('total')}, pss ${ratio('pss')}, cgroup ${ratio('cgroup')}, MemAvailable drop ${drops}`,
  );
  const met = m('berth', 'total') <= m('runc', 'total');
  console.log(`target (issue 16): host memory per container no more than runc's: ${met ? 'met' : 'NOT met'}`);
} finally {
  removeAll();
  if (daemon && daemon.exitCode === null) {
    const d = daemon;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  }
  spawnSync('umount', ['-R', join(work, 'root')], { stdio: 'ignore' });
  // the namespace's cgroup level, which runc leaves (it removes only its container's)
  for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
    try {
      rmdirSync(join('/sys/fs/cgroup', h, ns));
    } catch {}
  }
  rmSync(join('/run/containerd/runc', ns), { recursive: true, force: true });
  if (!hadRun) rmSync('/run/containerd', { recursive: true, force: true });
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
