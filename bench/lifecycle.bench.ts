// Container lifecycle latency: berth vs Incus vs crun vs LXC on the same busybox rootfs, in one
// run, with the runtimes' empty start-ups (`node -e 0`, `bun -e 0`) as floors. Every round runs
// each tool's verbs once, interleaved, so a slow or fast spell of the VM moves all of them; the
// ratios are medians of per-round ratios. The floors are measured right before each berth call
// and berth-floor is the median of those paired differences (Node's own start-up on the
// development VMs is bimodal, about 80 or 125 ms at random). Prints medians, ratios and the
// issue's targets; writes JSON to bench/results/. Needs root; peers that are not installed are
// left out (apt-get install crun lxc; Incus: see bench/README.md). Not part of the tests.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopLxcfsUnder } from './cleanup.ts';
import { type Crun, setupCrun, sh } from './crun.ts';
import { findIncusd, INCUS_INSTALL, type IncusDaemon, importTemplate, incus, startIncus, stopIncus } from './incus.ts';
import { BERTH, BUN, berthRuntime, REPO } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 15);
const CLEAN_ROUNDS = Number(process.env['CLEAN_ROUNDS'] ?? 3);

function need(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
// Incus's unprivileged containers reach their rootfs through this directory (as /var/lib/incus)
chmodSync(work, 0o711);
const root = join(work, 'berth');
const samples: Record<string, number[]> = {};
const add = (k: string, ms: number) => {
  samples[k] ??= [];
  samples[k].push(ms);
};
const overFloor: Record<string, number[]> = {};
const runtime = berthRuntime();
const incusd = findIncusd();
const tools = { crun: need('crun'), lxc: need('lxc-start'), incus: incusd !== null, bun: existsSync(BUN) };
if (!tools.incus) console.log(`incus left out: not installed (${INCUS_INSTALL})`);
let daemon: IncusDaemon | null = null;
let crunSetup: Crun | null = null;
let forced: string[] = [];

/** The verbs every tool runs per round, in this order, on a running container. */
const OPS = ['start', 'exec /bin/true', 'list', 'status', 'stop --fast'] as const;
type Op = (typeof OPS)[number];

try {
  // berth: its own template and container under a throwaway --root
  sh(BERTH, ['--root', root, 'template', 'create', 'busybox']);
  sh(BERTH, ['--root', root, 'create', 'b1']);
  const tarball = join(root, 'var/lib/berth/template/cache/busybox.tar.zst');

  // crun: same rootfs (bench/crun.ts)
  crunSetup = tools.crun ? setupCrun(work, tarball) : null;
  const bundle = crunSetup?.bundle ?? '';
  const crunRun = (args: string[]) => (crunSetup as Crun | null)?.run(args) ?? 0;

  // LXC: same rootfs, no network, busybox's poweroff signal for a clean stop
  const lxcpath = join(work, 'lxc');
  if (tools.lxc) {
    mkdirSync(join(lxcpath, 'l1/rootfs'), { recursive: true });
    sh('tar', ['--zstd', '-xpf', tarball, '-C', join(lxcpath, 'l1/rootfs')]);
    writeFileSync(
      join(lxcpath, 'l1/config'),
      [
        'lxc.uts.name = l1',
        `lxc.rootfs.path = dir:${join(lxcpath, 'l1/rootfs')}`,
        'lxc.net.0.type = empty',
        'lxc.init.cmd = /sbin/init',
        'lxc.console.path = none',
        'lxc.apparmor.profile = unconfined',
        'lxc.mount.auto = proc:mixed sys:ro cgroup:mixed',
        'lxc.signal.halt = SIGUSR2',
        'lxc.tty.max = 0',
        '',
      ].join('\n'),
    );
  }
  const lxc = (cmd: string, args: string[]) => sh(cmd, ['-P', lxcpath, '-n', 'l1', ...args]);

  // Incus: its own daemon, the same rootfs as an image, an unprivileged container (the default)
  if (incusd) {
    daemon = startIncus(incusd, work);
    importTemplate(tarball, work, 'busybox');
    incus(['create', 'busybox', 'i1']);
  }

  const floor = (rt: 'node' | 'bun') => {
    const ms = rt === 'node' ? sh('node', ['-e', '0']) : sh(BUN, ['-e', '0']);
    add(`floor ${rt} -e 0`, ms);
    return ms;
  };
  const berthArgs: Record<Op, string[]> = {
    start: ['start', 'b1'],
    'exec /bin/true': ['exec', 'b1', '--', '/bin/true'],
    list: ['list', '-a'],
    status: ['status', 'b1'],
    'stop --fast': ['stop', '--fast', 'b1'],
  };
  const crunArgs: Record<Op, string[]> = {
    start: ['run', '-d', '--bundle', bundle, 'c1'],
    'exec /bin/true': ['exec', 'c1', '/bin/true'],
    list: ['list'],
    status: ['state', 'c1'],
    'stop --fast': ['delete', '-f', 'c1'],
  };
  const lxcCalls: Record<Op, () => number> = {
    start: () => lxc('lxc-start', ['-d']),
    'exec /bin/true': () => lxc('lxc-attach', ['--', '/bin/true']),
    list: () => sh('lxc-ls', ['-P', lxcpath, '-f']),
    status: () => lxc('lxc-info', []),
    'stop --fast': () => lxc('lxc-stop', ['-k']),
  };
  const incusArgs: Record<Op, string[]> = {
    start: ['start', 'i1'],
    'exec /bin/true': ['exec', 'i1', '--', '/bin/true'],
    list: ['list'],
    status: ['info', 'i1'],
    'stop --fast': ['stop', '-f', 'i1'],
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const op of OPS) {
      const f = { node: floor('node'), bun: tools.bun ? floor('bun') : 0 };
      const ms = sh(BERTH, ['--root', root, ...berthArgs[op]]);
      add(`berth ${op}`, ms);
      overFloor[op] ??= [];
      overFloor[op].push(ms - f[runtime]);
    }
    if (incusd) for (const op of OPS) add(`incus ${op}`, sh('incus', incusArgs[op]));
    if (tools.crun) for (const op of OPS) add(`crun ${op}`, crunRun(crunArgs[op]));
    if (tools.lxc) for (const op of OPS) add(`lxc ${op}`, lxcCalls[op]());
  }
  // Incus is left out here: its stop sends SIGPWR, which busybox init ignores
  for (let i = 0; i < CLEAN_ROUNDS; i++) {
    sh(BERTH, ['--root', root, 'start', 'b1']);
    add('berth stop (clean)', sh(BERTH, ['--root', root, 'stop', 'b1']));
    if (tools.lxc) {
      lxc('lxc-start', ['-d']);
      add('lxc stop (clean)', lxc('lxc-stop', []));
    }
  }
} finally {
  spawnSync(BERTH, ['--root', root, 'stop', '--fast', 'b1']);
  spawnSync(BERTH, ['--root', root, 'destroy', 'b1']);
  crunSetup?.cleanup(['c1']);
  if (tools.lxc) spawnSync('lxc-stop', ['-P', join(work, 'lxc'), '-n', 'l1', '-k']);
  forced = await stopIncus(daemon);
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
if (forced.length) console.log(`incus teardown had to clean by force: ${forced.join('; ')}`);

const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
/** median of the per-round ratios berth/peer (both ran in the same round) */
const paired = (op: string, peer: string): number | undefined => {
  const b = samples[`berth ${op}`];
  const p = samples[`${peer} ${op}`];
  if (!b || !p || b.length !== p.length) return undefined;
  return median(b.map((x, i) => x / (p[i] ?? Number.NaN)));
};
type Peers = { incus: number | undefined; lxc: number | undefined; crun: number | undefined };
const ratios: Record<string, Peers> = {};
const f1 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
const fx = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)}x`);
const rows: string[][] = [
  ['operation', 'berth', 'incus', 'lxc', 'crun', `berth-${runtime} (paired)`, 'berth/incus', 'berth/lxc', 'berth/crun'],
];
for (const op of [...OPS, 'stop (clean)']) {
  ratios[op] = { incus: paired(op, 'incus'), lxc: paired(op, 'lxc'), crun: paired(op, 'crun') };
  rows.push([
    op,
    f1(med[`berth ${op}`]),
    f1(med[`incus ${op}`]),
    f1(med[`lxc ${op}`]),
    f1(med[`crun ${op}`]),
    overFloor[op] ? `+${median(overFloor[op]).toFixed(1)}` : '-',
    fx(ratios[op].incus),
    fx(ratios[op].lxc),
    fx(ratios[op].crun),
  ]);
}
const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
const dynmods = spawnSync('findmnt', ['-rn', '-t', 'cgroup2', '-o', 'OPTIONS'], { encoding: 'utf8' }).stdout.includes(
  'favordynmods',
);
console.log(
  `median ms over ${ROUNDS} interleaved rounds (clean stop: ${CLEAN_ROUNDS}); ratios are medians of per-round ratios; ` +
    `floors: node -e 0 = ${f1(med['floor node -e 0'])} ms, bun -e 0 = ${f1(med['floor bun -e 0'])} ms; ` +
    `bin/berth runs on ${runtime}; cgroup2 favordynmods: ${dynmods ? 'on' : 'off'}`,
);
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));

// issue 13's targets: [what, measured, limit]
const over = (op: string) => (overFloor[op] ? median(overFloor[op]) : undefined);
const targets: [string, number | undefined, number][] = [
  ['exec / incus exec', ratios['exec /bin/true']?.incus, 0.75],
  ['exec / lxc-attach', ratios['exec /bin/true']?.lxc, 2],
  ['list -a / incus list', ratios['list']?.incus, 0.75],
  ['status / incus info', ratios['status']?.incus, 0.75],
  ['start / incus start', ratios['start']?.incus, 0.5],
  ['stop --fast / incus stop -f', ratios['stop --fast']?.incus, 0.5],
  [`exec over ${runtime} -e 0, ms`, over('exec /bin/true'), 25],
  [`status over ${runtime} -e 0, ms`, over('status'), 25],
  [`start over ${runtime} -e 0, ms`, over('start'), 40],
];
console.log('targets (issue 13):');
for (const [what, v, limit] of targets)
  console.log(
    `  ${what}: ${v === undefined ? '-' : v.toFixed(2)} (at most ${limit}: ${v === undefined ? 'not measured' : v <= limit ? 'met' : 'NOT met'})`,
  );

const out = join(REPO, 'bench/results');
mkdirSync(out, { recursive: true });
const file = join(out, `lifecycle-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      rounds: ROUNDS,
      runtime,
      favordynmods: dynmods,
      median_ms: med,
      paired_ratios: ratios,
      berth_over_floor_ms: overFloor,
      samples_ms: samples,
      tools,
    },
    null,
    2,
  ),
);
console.log(`raw samples: ${file}`);
