// Container lifecycle latency: berth vs crun vs LXC on the same busybox rootfs, in one run, with
// `node -e 0` as the floor every Node CLI pays. Prints medians and ratios; writes JSON to
// bench/results/. The floor is measured right before each berth call and berth-floor is the
// median of those paired differences: Node's own start-up time on the development VMs is
// bimodal (about 80 or 125 ms, at random), which makes a difference of two medians jump by
// ±40 ms between runs while the paired median stays put. Needs root, crun and lxc
// (apt-get install crun lxc). Not part of the tests.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopLxcfsUnder } from './cleanup.ts';
import { median } from './stats.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const BERTH = join(REPO, 'bin/berth');
const ROUNDS = Number(process.env['ROUNDS'] ?? 25);
const CLEAN_ROUNDS = Number(process.env['CLEAN_ROUNDS'] ?? 3);

/** Runs a command and returns its wall time. stderr goes to a file, not a pipe: a detached
 * container's init inherits it and would keep a pipe open forever. */
function sh(cmd: string, args: string[], check = true): number {
  const errFile = join(tmpdir(), `berth-bench-stderr-${process.pid}`);
  const fd = openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', fd], timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  const err = readFileSync(errFile, 'utf8');
  rmSync(errFile, { force: true });
  if (check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${err}`);
  return ms;
}

function need(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const root = join(work, 'berth');
const samples: Record<string, number[]> = {};
const add = (k: string, ms: number) => {
  samples[k] ??= [];
  samples[k].push(ms);
};
const overFloor: Record<string, number[]> = {};
const tools = { crun: need('crun'), lxc: need('lxc-start') };
const mntns = join('/run', `berth-bench-mntns-${process.pid}`);

try {
  // berth: its own template and container under a throwaway --root
  sh(BERTH, ['--root', root, 'template', 'create', 'busybox']);
  sh(BERTH, ['--root', root, 'create', 'b1']);
  const tarball = join(root, 'var/lib/berth/template/cache/busybox.tar.zst');

  // crun: same rootfs. crun refuses hybrid cgroup hosts whose cgroup2 mount holds a controller
  // (hugetlb here), so it runs in a private mount namespace without the cgroup2 mount; the
  // nsenter in front of each crun call costs about 1 ms and is included in crun's figures.
  const crun: string[] = [];
  if (tools.crun) {
    const bundle = join(work, 'crun');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    sh('tar', ['--zstd', '-xpf', tarball, '-C', join(bundle, 'rootfs')]);
    sh('crun', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(spawnSync('cat', [join(bundle, 'config.json')], { encoding: 'utf8' }).stdout);
    spec.process.args = ['/sbin/init'];
    spec.process.terminal = false;
    spec.root.readonly = false;
    spec.hostname = 'c1';
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const hybrid = spawnSync('findmnt', ['-n', '/sys/fs/cgroup/unified']).status === 0;
    if (hybrid) {
      writeFileSync(mntns, '');
      sh('unshare', [`--mount=${mntns}`, '--propagation', 'private', 'umount', '/sys/fs/cgroup/unified']);
      crun.push('nsenter', `--mount=${mntns}`, 'crun');
    } else {
      crun.push('crun');
    }
    crun.push('--root', join(work, 'crun-state'));
    (crun as string[] & { bundle?: string }).bundle = bundle;
  }
  const crunRun = (args: string[]) => sh(crun[0] ?? 'crun', [...crun.slice(1), ...args]);

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

  const bundle = (crun as string[] & { bundle?: string }).bundle ?? '';
  const berth = (op: string, args: string[]) => {
    const floor = sh('node', ['-e', '0']);
    add('floor node -e 0', floor);
    const ms = sh(BERTH, ['--root', root, ...args]);
    add(`berth ${op}`, ms);
    overFloor[op] ??= [];
    overFloor[op].push(ms - floor);
  };
  for (let i = 0; i < ROUNDS; i++) {
    berth('start', ['start', 'b1']);
    berth('exec /bin/true', ['exec', 'b1', '--', '/bin/true']);
    berth('stop --fast', ['stop', '--fast', 'b1']);
    if (tools.crun) {
      add('crun start', crunRun(['run', '-d', '--bundle', bundle, 'c1']));
      add('crun exec /bin/true', crunRun(['exec', 'c1', '/bin/true']));
      add('crun stop --fast', crunRun(['delete', '-f', 'c1']));
    }
    if (tools.lxc) {
      add('lxc start', lxc('lxc-start', ['-d']));
      add('lxc exec /bin/true', lxc('lxc-attach', ['--', '/bin/true']));
      add('lxc stop --fast', lxc('lxc-stop', ['-k']));
    }
  }
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
  if (tools.crun)
    spawnSync('nsenter', [`--mount=${mntns}`, 'crun', '--root', join(work, 'crun-state'), 'delete', '-f', 'c1']);
  if (tools.lxc) spawnSync('lxc-stop', ['-P', join(work, 'lxc'), '-n', 'l1', '-k']);
  spawnSync('umount', [mntns]);
  rmSync(mntns, { force: true });
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}

const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const floor = med['floor node -e 0'] ?? 0;
const rows: string[][] = [['operation', 'berth', 'crun', 'lxc', 'berth-floor (paired)', 'berth/crun', 'berth/lxc']];
for (const op of ['start', 'exec /bin/true', 'stop --fast', 'stop (clean)']) {
  const b = med[`berth ${op}`];
  const c = med[`crun ${op}`];
  const l = med[`lxc ${op}`];
  const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
  rows.push([
    op,
    f(b),
    f(c),
    f(l),
    overFloor[op] ? `+${median(overFloor[op]).toFixed(1)}` : '-',
    b && c ? `${(b / c).toFixed(2)}x` : '-',
    b && l ? `${(b / l).toFixed(2)}x` : '-',
  ]);
}
const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
const dynmods = spawnSync('findmnt', ['-rn', '-t', 'cgroup2', '-o', 'OPTIONS'], { encoding: 'utf8' }).stdout.includes(
  'favordynmods',
);
console.log(
  `median ms over ${ROUNDS} rounds (clean stop: ${CLEAN_ROUNDS}); floor node -e 0 = ${floor.toFixed(1)} ms; cgroup2 favordynmods: ${dynmods ? 'on' : 'off'}`,
);
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
const out = join(REPO, 'bench/results');
mkdirSync(out, { recursive: true });
const file = join(out, `lifecycle-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      rounds: ROUNDS,
      favordynmods: dynmods,
      median_ms: med,
      samples_ms: samples,
      berth_over_floor_ms: overFloor,
      tools,
    },
    null,
    2,
  ),
);
console.log(`raw samples: ${file}`);
