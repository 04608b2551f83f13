// Storage: berth's create against lxc-create on the same rootfs, 100 creates from one
// template, file I/O through a container's filesystem against the host's, and the host memory
// of many running containers from one overlay layer against as many private copies. One run,
// one throwaway berth root; not part of the tests. Needs root, and for the peers:
// apt-get install lxc fio.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_RECIPE } from '../src/host/template.ts';
import { stopLxcfsUnder } from './cleanup.ts';
import { BERTH, REPO } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const MASS = Number(process.env['MASS'] ?? 100);
const MEM = Number(process.env['MEM'] ?? 50);
const IO_SECONDS = Number(process.env['IO_SECONDS'] ?? 5);
const IO_ROUNDS = Number(process.env['IO_ROUNDS'] ?? 3);

if (process.getuid?.() !== 0) throw new Error('run as root');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
// on the filesystem the containers live on (/var/lib), not a tmpfs /tmp
const work = mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'berth-bench-storage-'));
const lxcPath = join(work, 'lxc');
const cache = join(work, 'var/lib/berth/template/cache');

function sh(cmd: string[], input?: string): string {
  const r = spawnSync(cmd[0] ?? '', cmd.slice(1), { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const berth = (...args: string[]) => sh([BERTH, '--root', work, ...args]);
function timed(cmd: string[]): number {
  const t0 = process.hrtime.bigint();
  sh(cmd);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const kib = (dir: string) => Number(sh(['du', '-s', '-k', '-x', dir]).split(/\s/)[0]);
const lines: string[] = [];
const say = (l: string) => {
  lines.push(l);
  console.log(l);
};

/** The lxc-local template's inputs for a berth template: an xz rootfs and a metadata tarball. */
function lxcInputs(tpl: string): { meta: string; fstree: string } {
  const dir = join(work, `lxc-in-${tpl}`);
  mkdirSync(dir, { recursive: true });
  const fstree = join(dir, 'rootfs.tar.xz');
  sh(['sh', '-c', `zstd -dc '${join(cache, `${tpl}.tar.zst`)}' | xz -T0 -3 > '${fstree}'`]);
  writeFileSync(join(dir, 'config'), 'lxc.arch = x86_64\n');
  const meta = join(dir, 'meta.tar.xz');
  sh(['tar', '-cJf', meta, '-C', dir, 'config']);
  return { meta, fstree };
}

function createBench(tpl: string): void {
  const overlay: number[] = [];
  const dir: number[] = [];
  const lxc: number[] = [];
  const first = timed([BERTH, '--root', work, 'create', `first-${tpl}`, '--ostemplate', tpl]);
  berth('destroy', `first-${tpl}`);
  const inputs = has('lxc-create') ? lxcInputs(tpl) : null;
  for (let i = 0; i < ROUNDS; i++) {
    overlay.push(timed([BERTH, '--root', work, 'create', `o${i}`, '--ostemplate', tpl]));
    dir.push(timed([BERTH, '--root', work, 'create', `d${i}`, '--ostemplate', tpl, '--layout', 'dir']));
    if (inputs) {
      const args = [
        '-P',
        lxcPath,
        '-n',
        `l${i}`,
        '-B',
        'dir',
        '-t',
        'local',
        '--',
        '-m',
        inputs.meta,
        '-f',
        inputs.fstree,
      ];
      lxc.push(timed(['lxc-create', ...args]));
      sh(['lxc-destroy', '-P', lxcPath, '-n', `l${i}`]);
    }
    berth('destroy', `o${i}`);
    berth('destroy', `d${i}`);
  }
  const l = median(lxc);
  const ratio = (v: number) => (lxc.length ? `  = ${(v / l).toFixed(3)} of lxc-create` : '');
  say(`create from ${tpl} (median ms of ${ROUNDS}, wall time of the CLI, Node start-up included)`);
  say(`  berth create, overlay, first (unpacks the layer)  ${first.toFixed(0)}${ratio(first)}`);
  say(`  berth create, overlay                             ${median(overlay).toFixed(0)}${ratio(median(overlay))}`);
  say(`  berth create, dir (unpacks zstd)                  ${median(dir).toFixed(0)}${ratio(median(dir))}`);
  if (lxc.length) say(`  lxc-create -B dir -t local (unpacks xz)           ${l.toFixed(0)}`);
}

function massBench(): void {
  const t0 = Date.now();
  for (let i = 0; i < MASS; i++) berth('create', `m${i}`);
  const s = (Date.now() - t0) / 1000;
  const priv = kib(join(work, 'var/lib/berth/private'));
  const layersDir = join(work, 'var/lib/berth/template/layers');
  const layers = readdirSync(layersDir)
    .filter((l) => l.startsWith('busybox-'))
    .reduce((sum, l) => sum + kib(join(layersDir, l)), 0);
  berth('create', 'one-dir', '--layout', 'dir');
  const copy = kib(join(work, 'var/lib/berth/private/one-dir'));
  berth('destroy', 'one-dir');
  say(`${MASS} overlay creates of busybox: ${s.toFixed(1)} s (${((s * 1000) / MASS).toFixed(0)} ms each)`);
  say(
    `  disk: ${priv} KiB of private areas + ${layers} KiB of the shared busybox layer; ${MASS} dir copies would take ${copy * MASS} KiB`,
  );
  for (let i = 0; i < MASS; i++) berth('destroy', `m${i}`);
}

const JOBS = [
  ['seq write MB/s', 'write', '1M'],
  ['seq read MB/s', 'read', '1M'],
  ['rand write 4k IOPS', 'randwrite', '4k'],
  ['rand read 4k IOPS', 'randread', '4k'],
] as const;

/** One fio job with direct I/O (the page cache would hide the filesystem path): MB/s or IOPS. */
function fio(dir: string, [name, rw, bs]: (typeof JOBS)[number]): number {
  const j = JSON.parse(
    sh([
      'fio',
      '--output-format=json',
      `--name=${rw}`,
      `--directory=${dir}`,
      '--filename=berth-bench.io',
      '--size=256M',
      `--rw=${rw}`,
      `--bs=${bs}`,
      '--direct=1',
      '--ioengine=psync',
      '--time_based',
      `--runtime=${IO_SECONDS}`,
      '--end_fsync=1',
    ]),
  );
  rmSync(join(dir, 'berth-bench.io'), { force: true });
  const side = rw.includes('write') ? j.jobs[0].write : j.jobs[0].read;
  return name.endsWith('IOPS') ? side.iops : side.bw / 1024;
}

/** busybox dd inside the container, and the same dd on the host: sequential, direct I/O. */
function ddInside(id: string, hostDir: string): { inside: number; host: number } {
  // busybox's time applet: "real\t0m 1.35s" (its dd prints no rate)
  const rate = (text: string) => {
    const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(text);
    return m ? 1024 / (Number(m[1]) * 60 + Number(m[2])) : Number.NaN;
  };
  const dd = 'time dd if=/dev/zero of=FILE bs=1M count=1024 oflag=direct conv=fsync 2>&1; rm -f FILE';
  const inside = rate(berth('exec', id, '--', 'sh', '-c', dd.replaceAll('FILE', '/root/dd.io')));
  const host = rate(sh(['busybox', 'sh', '-c', dd.replaceAll('FILE', join(hostDir, 'dd.io'))]));
  return { inside, host };
}

function ioBench(): void {
  if (!has('fio')) {
    say('file I/O: skipped (apt-get install fio)');
    return;
  }
  const hostDir = join(work, 'host-io');
  mkdirSync(hostDir);
  berth('create', 'io-overlay');
  berth('create', 'io-dir', '--layout', 'dir');
  berth('create', 'io-image', '--layout', 'image', '--diskspace', '2G');
  const layouts = ['overlay', 'dir', 'image'];
  for (const l of layouts) berth('start', `io-${l}`);
  // per job, the host and each layout back to back, so the VM's slow and fast spells fall on
  // a round's figures alike; reported as the median of each round's ratio to the host
  const runs: Record<string, Record<string, number[]>> = {};
  const dd: Record<string, { inside: number; host: number }[]> = {};
  for (let r = 0; r < IO_ROUNDS; r++) {
    for (const job of JOBS) {
      for (const t of ['host', ...layouts]) {
        const dir = t === 'host' ? hostDir : join(work, 'var/lib/berth/root', `io-${t}`, 'root');
        const byTarget = runs[job[0]] ?? {};
        byTarget[t] = [...(byTarget[t] ?? []), fio(dir, job)];
        runs[job[0]] = byTarget;
      }
    }
    for (const l of layouts) dd[l] = [...(dd[l] ?? []), ddInside(`io-${l}`, hostDir)];
  }
  say(
    `file I/O (fio, direct I/O, psync, ${IO_SECONDS} s per job, ${IO_ROUNDS} rounds; median, and median of per-round ratios)`,
  );
  say(`  ${'job'.padEnd(20)} ${'host'.padStart(9)} ${layouts.map((l) => `${l.padStart(9)} ratio`).join(' ')}`);
  for (const [job, byTarget] of Object.entries(runs)) {
    const host = byTarget['host'] ?? [];
    const cell = (l: string) => {
      const v = byTarget[l] ?? [];
      const ratio = median(v.map((x, i) => x / (host[i] ?? x)));
      return `${median(v).toFixed(0).padStart(9)} ${ratio.toFixed(2).padStart(5)}`;
    };
    say(`  ${job.padEnd(20)} ${median(host).toFixed(0).padStart(9)} ${layouts.map(cell).join(' ')}`);
  }
  say('  busybox dd inside the container vs on the host (seq write 1 GiB, direct, fsync, MB/s):');
  for (const l of layouts) {
    const i = median((dd[l] ?? []).map((x) => x.inside));
    const h = median((dd[l] ?? []).map((x) => x.host));
    say(`    ${l.padEnd(8)} inside ${i.toFixed(0)}, host ${h.toFixed(0)}: ${(i / h).toFixed(2)}`);
  }
  for (const l of layouts) {
    berth('stop', '--fast', `io-${l}`);
    berth('destroy', `io-${l}`);
  }
}

const pssOf = (pid: string | number): number => {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/**
 * PSS of every process of a container, plus the page cache charged to its memory cgroup, plus
 * its keeper (the one host process berth keeps per running container: console, sysinfo).
 */
function containerMemory(id: string): { pss: number; cache: number; keeper: number } {
  let pss = 0;
  const pid = JSON.parse(berth('status', id, '--json')).pid as number;
  const cg = cgroupOf(pid);
  for (const p of readFileSync(join(cg.procsDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pss += pssOf(p);
  const state = JSON.parse(readFileSync(join(work, 'run/berth', id, 'state.json'), 'utf8'));
  const keeper = state.keeper ? pssOf(state.keeper.pid) : 0;
  const stat = readFileSync(join(cg.memDir, 'memory.stat'), 'utf8');
  const cache = Number((/^(?:total_cache|file) (\d+)$/m.exec(stat) ?? [])[1] ?? 0) / 1024;
  return { pss: pss + keeper, cache, keeper };
}

/** The container's memory cgroup directory (v1 memory hierarchy, or cgroup2). */
function cgroupOf(pid: number): { memDir: string; procsDir: string } {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrl, path] = line.split(':');
    if (ctrl?.split(',').includes('memory')) {
      const d = join('/sys/fs/cgroup/memory', path ?? '');
      return { memDir: d, procsDir: d };
    }
    if (ctrl === '' && path && existsSync(join('/sys/fs/cgroup', path, 'memory.stat'))) {
      const d = join('/sys/fs/cgroup', path);
      return { memDir: d, procsDir: d };
    }
  }
  throw new Error(`no memory cgroup for pid ${pid}`);
}

function memoryBench(): void {
  const total: Record<string, { pss: number; cache: number; keeper: number }> = {};
  for (const layout of ['overlay', 'dir']) {
    sh(['sh', '-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']); // each side starts cold
    for (let i = 0; i < MEM; i++) {
      berth('create', `${layout}-${i}`, '--layout', layout);
      berth('start', `${layout}-${i}`);
    }
    // every container runs a second busybox process, as a service would
    for (let i = 0; i < MEM; i++) {
      const r = spawnSync(BERTH, [
        '--root',
        work,
        'exec',
        `${layout}-${i}`,
        '--',
        'sh',
        '-c',
        'sleep 3600 >/dev/null 2>&1 & exit 0',
      ]);
      if (r.status !== 0) throw new Error(r.stderr.toString());
    }
    spawnSync('sleep', ['2']);
    const t = { pss: 0, cache: 0, keeper: 0 };
    for (let i = 0; i < MEM; i++) {
      const m = containerMemory(`${layout}-${i}`);
      t.pss += m.pss;
      t.cache += m.cache;
      t.keeper += m.keeper;
    }
    total[layout] = t;
    for (let i = 0; i < MEM; i++) {
      berth('stop', '--fast', `${layout}-${i}`);
      berth('destroy', `${layout}-${i}`);
    }
  }
  const o = total['overlay'] ?? { pss: 0, cache: 0, keeper: 0 };
  const d = total['dir'] ?? { pss: 0, cache: 0, keeper: 0 };
  say(
    `host memory of ${MEM} running busybox containers (PSS of their processes and keepers + page cache charged to their cgroups), KiB`,
  );
  say(`  keepers: ${(o.keeper / MEM).toFixed(0)} KiB of PSS each (overlay), ${(d.keeper / MEM).toFixed(0)} (dir)`);
  say(
    `  overlay (one shared layer)  PSS ${o.pss.toFixed(0)} + cache ${o.cache.toFixed(0)} = ${(o.pss + o.cache).toFixed(0)}`,
  );
  say(
    `  dir (${MEM} copies)            PSS ${d.pss.toFixed(0)} + cache ${d.cache.toFixed(0)} = ${(d.pss + d.cache).toFixed(0)}`,
  );
  say(`  overlay / dir = ${((o.pss + o.cache) / (d.pss + d.cache)).toFixed(2)}`);
}

try {
  berth('template', 'create', 'busybox');
  const debian = join('/var/cache/berth-test', DEBIAN_RECIPE, 'var/lib/berth/template/cache/debian-12.tar.zst');
  if (existsSync(debian)) linkSync(debian, join(cache, 'debian-12.tar.zst'));
  const only = (part: string) => !process.env['ONLY'] || process.env['ONLY'].split(',').includes(part);
  if (only('create'))
    for (const tpl of readdirSync(cache).filter((f) => f.endsWith('.tar.zst'))) createBench(tpl.slice(0, -8));
  if (only('mass')) massBench();
  if (only('io')) ioBench();
  if (only('memory')) memoryBench();
} finally {
  for (const id of readdirSync(join(work, 'etc/berth/ct')).filter((f) => f.endsWith('.conf') && !f.startsWith('ve-'))) {
    spawnSync(BERTH, ['--root', work, 'stop', '--fast', id.slice(0, -5)]);
    spawnSync(BERTH, ['--root', work, 'destroy', id.slice(0, -5)]);
  }
  if (existsSync(lxcPath))
    for (const n of readdirSync(lxcPath)) spawnSync('lxc-destroy', ['-P', lxcPath, '-n', n, '-f']);
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO, 'bench/results', `storage-${Date.now()}.txt`), `${lines.join('\n')}\n`);
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}
