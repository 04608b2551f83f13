// A container's limits and device policy hold against its own root (issue 12, item 5): root in
// an unprivileged and in a privileged container remounts its cgroup files read-write, mounts
// fresh v1 hierarchies, writes devices.allow "a" and raises its memory, swap, process, CPU and
// cpuset limits. The host side then shows <parent>/<CTID> unchanged, and the limits' effect: a
// fork loop stops at NUMPROC, an allocation past RAM is OOM-killed, the host's disks do not open,
// a CPU burner gets its quota, and a container that freezes its own cgroup still stops.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const read = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The cgroups below dir (the container's inner one and whatever it made there). */
function below(dir: string): string[] {
  let subs: string[] = [];
  try {
    subs = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {}
  return subs.flatMap((s) => [s, ...below(s)]);
}

/** "KEY N" summed over dir and every cgroup below it (v1 counts these where the task was). */
function eventsBelow(dir: string, file: string, key: string): number {
  let n = 0;
  for (const d of [dir, ...below(dir)])
    n += Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(read(join(d, file)))?.[1] ?? 0);
  return n;
}

/** The limits berth wrote on the container's limits level, as the host sees them. */
function hostLimits(s: Sandbox, ct: string): Record<string, string> {
  const at = (ctrl: string, file: string) => read(join(s.layoutPath(ctrl, ct), file));
  return {
    'memory.limit_in_bytes': at('memory', 'memory.limit_in_bytes'),
    'memory.memsw.limit_in_bytes': at('memory', 'memory.memsw.limit_in_bytes'),
    'pids.max': at('pids', 'pids.max'),
    'cpu.cfs_quota_us': at('cpu', 'cpu.cfs_quota_us'),
    'cpuset.cpus': at('cpuset', 'cpuset.cpus'),
    'devices.list': at('devices', 'devices.list'),
  };
}

function initPid(s: Sandbox, ct: string): number {
  const rows = JSON.parse(s.ok(['list', '--json', '-o', 'ctid,pid'])) as Array<Record<string, unknown>>;
  return Number(rows.find((r) => r['ctid'] === ct)?.['pid']);
}

/** Every host pid in the pid namespace of the container's init (found without its cgroups). */
function nsPids(init: number): number[] {
  const ns = readlinkSync(`/proc/${init}/ns/pid`);
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/pid`) === ns;
      } catch {
        return false;
      }
    });
}

// what root inside tries on each view of a hierarchy it can get at: the /sys/fs/cgroup mounts
// remounted read-write, and fresh v1 mounts under /tmp/cg; "took NAME" when the kernel took a write
const ATTEMPTS: Array<[name: string, ctrl: string, file: string, value: string]> = [
  ['devices.allow a (any device)', 'devices', 'devices.allow', 'a'],
  ['raise memory.memsw.limit_in_bytes', 'memory', 'memory.memsw.limit_in_bytes', '-1'],
  ['raise memory.limit_in_bytes', 'memory', 'memory.limit_in_bytes', '-1'],
  ['raise pids.max', 'pids', 'pids.max', 'max'],
  ['raise cpu.cfs_quota_us', 'cpu', 'cpu.cfs_quota_us', '-1'],
  ['widen cpuset.cpus', 'cpuset', 'cpuset.cpus', 'ALL'],
];

function attackScript(allCpus: string): string {
  const lines = [
    'for m in /sys/fs/cgroup /sys/fs/cgroup/*; do mount -o remount,rw "$m"; done',
    'for c in memory pids devices cpu cpuset freezer; do mkdir -p /tmp/cg/$c; mount -t cgroup -o $c cgroup /tmp/cg/$c; done',
  ];
  for (const [name, ctrl, file, value] of ATTEMPTS) {
    const v = value === 'ALL' ? allCpus : value;
    lines.push(
      `for d in /sys/fs/cgroup/${ctrl} /tmp/cg/${ctrl}; do echo "${v}" > "$d/${file}" && echo "took ${name}"; done`,
    );
  }
  return `exec 2>/dev/null; ${lines.join('\n')}\ntrue`;
}

const skip =
  ROOT_SKIP || (existsSync('/sys/fs/cgroup/devices/devices.list') ? false : 'needs cgroup v1 devices (hybrid host)');

test("a container's root cannot lift its own limits or device policy: unprivileged and privileged", { skip }, (t) => {
  const s = sandbox(t);
  const rootDev = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[4] === '/')?.[2];
  assert.ok(rootDev, "the host root's major:minor");
  const [major, minor] = rootDev.split(':');
  const allCpus = read('/sys/devices/system/cpu/online');
  // a loop device on the host: something host root can open, so a refusal is the devices cgroup's
  const work = mkdtempSync(join(tmpdir(), 'berth-limits-'));
  const backing = join(work, 'disk');
  const content = Buffer.alloc(1 << 20, 0x2e);
  writeFileSync(backing, content);
  const loop = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).stdout.trim();
  // the privileged root's `mount -o remount,rw` of its cgroup2 view reconfigures the host's
  // superblock (root is root): it drops the favordynmods tuning, which the host gets back here
  const cg2 = spawnSync('findmnt', ['-rn', '-t', 'cgroup2', '-o', 'TARGET,OPTIONS'], { encoding: 'utf8' })
    .stdout.split('\n')[0]
    ?.split(' ');
  t.after(() => {
    if (loop) spawnSync('losetup', ['-d', loop]);
    rmSync(work, { recursive: true, force: true });
    if (cg2?.[0] && /\bfavordynmods\b/.test(cg2[1] ?? '')) spawnSync('mount', ['-o', 'remount,favordynmods', cg2[0]]);
  });
  assert.match(loop, /^\/dev\/loop\d+$/, 'losetup made a loop device');
  const loopMinor = loop.slice('/dev/loop'.length);

  const table = new Map<string, Record<string, string>>();
  const failures: string[] = [];
  const row = (attempt: string, mode: string, ok: boolean, detail: string) => {
    table.set(attempt, { ...table.get(attempt), [mode]: ok ? `blocked (${detail})` : `ESCAPED (${detail})` });
    if (!ok) failures.push(`${mode}: ${attempt}: ${detail}`);
  };

  for (const [ct, privileged] of [
    ['lim-u', 'no'],
    ['lim-p', 'yes'],
  ] as const) {
    const mode = privileged === 'yes' ? 'privileged' : 'unprivileged';
    s.ok(['create', ct, '--privileged', privileged]);
    s.ok(['set', ct, '--ram', '64M', '--swap', '0', '--numproc', '50', '--cpulimit', '50', '--save']);
    s.ok(['start', ct]);
    // narrowed live: v1 wants a cgroup's quota and cpuset within its parent's, and the inner
    // cgroup holds copies (for lxcfs) of the wider ones
    s.ok(['set', ct, '--cpulimit', '20', '--cpus', '1']);
    const before = hostLimits(s, ct);
    assert.equal(before['pids.max'], '50');
    assert.equal(before['memory.limit_in_bytes'], String(64 << 20));
    assert.equal(before['cpu.cfs_quota_us'], '20000');
    assert.equal(read(join(s.layoutPath('cpu', ct), 'ns/cpu.cfs_quota_us')), '20000');
    assert.match(before['cpuset.cpus'] ?? '', /^\d+$/, 'one CPU');
    assert.equal(s.ok(['exec', ct, '--', 'nproc']).trim(), '1');

    // 1. every limit file it can reach, written
    const took = s.ok(['exec', ct, '--', 'sh', '-c', attackScript(allCpus)]);
    const after = hostLimits(s, ct);
    for (const [name, , file] of ATTEMPTS) {
      const key = file === 'devices.allow' ? 'devices.list' : file;
      const held = after[key] === before[key];
      row(
        name,
        mode,
        held,
        held ? (took.includes(`took ${name}`) ? 'written on its own cgroup only' : 'refused') : (after[key] ?? ''),
      );
    }

    // 2. effect: a fork loop stops at NUMPROC, every process stays inside <CTID> and its cpuset
    const pidsDir = s.layoutPath('pids', ct);
    s.berth([
      'exec',
      ct,
      '--',
      'sh',
      '-c',
      'i=0; while [ $i -lt 80 ]; do sleep 120 </dev/null >/dev/null 2>&1 & i=$((i+1)); done 2>/dev/null; true',
    ]);
    const peakFile = join(pidsDir, existsSync(join(pidsDir, 'pids.peak')) ? 'pids.peak' : 'pids.current');
    const peak = Number(read(peakFile));
    const refused = eventsBelow(pidsDir, 'pids.events', 'max');
    row('fork past NUMPROC 50', mode, peak <= 50 && refused > 0, `peak ${peak}, ${refused} forks refused`);
    const init = initPid(s, ct);
    const cpus = read(join(s.layoutPath('cpuset', ct), 'cpuset.cpus'));
    const home = `/${s.cgroupParent}/${ct}`;
    const procs = nsPids(init);
    const outside: string[] = [];
    for (const p of procs) {
      for (const line of read(`/proc/${p}/cgroup`).split('\n')) {
        const [, ctrl = '', path = ''] = line.split(':');
        if (ctrl && !ctrl.startsWith('name=') && path !== home && !path.startsWith(`${home}/`)) {
          outside.push(`${p} ${ctrl}:${path}`);
        }
      }
      const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(read(`/proc/${p}/status`))?.[1] ?? '';
      if (allowed && allowed !== cpus) outside.push(`${p} runs on CPUs ${allowed}, not ${cpus}`);
    }
    row(
      'a process outside <CTID> or its cpuset',
      mode,
      outside.length === 0,
      outside.join('; ') || `${procs.length} processes checked`,
    );
    // the sleeps go, so that the next exec can fork (only pids of the container's own cgroups)
    for (const d of [pidsDir, ...below(pidsDir)]) {
      for (const p of read(join(d, 'cgroup.procs')).split('\n').filter(Boolean).map(Number)) {
        if (read(`/proc/${p}/comm`) === 'sleep') process.kill(p, 'SIGKILL');
      }
    }
    for (let i = 0; i < 100 && Number(read(join(pidsDir, 'pids.current'))) > 10; i++) spawnSync('sleep', ['0.05']);

    // 3. effect: memory past RAM (64M, no swap) is OOM-killed; the limits level never held more
    const oom = s.berth(['exec', ct, '--', 'sh', '-c', 'head -c 200m /dev/zero | tail; echo "tail=$?"']);
    const memDir = s.layoutPath('memory', ct);
    const maxUsage = Number(read(join(memDir, 'memory.max_usage_in_bytes')));
    const memswMax = Number(read(join(memDir, 'memory.memsw.max_usage_in_bytes')) || '0');
    const kills = eventsBelow(memDir, 'memory.oom_control', 'oom_kill');
    row(
      'allocate past RAM 64M',
      mode,
      maxUsage <= 64 << 20 && memswMax <= 64 << 20 && kills > 0 && /tail=137/.test(oom.out),
      `max usage ${Math.round(maxUsage / 2 ** 20)} MiB, ${kills} OOM kills${/tail=/.test(oom.out) ? '' : `: ${oom.err}`}`,
    );

    // 4. effect: the host's root disk and a host loop device: mknod, open, mount, write
    const devOut = s.berth([
      'exec',
      ct,
      '--',
      'sh',
      '-c',
      [
        'exec 2>/dev/null',
        `mknod /tmp/disk b ${major} ${minor} && echo mknod-disk`,
        'dd if=/tmp/disk of=/dev/null bs=512 count=1 && echo read-disk',
        'mkdir -p /tmp/hostroot; mount -o ro /tmp/disk /tmp/hostroot && echo mounted-disk',
        `mknod /tmp/loop b 7 ${loopMinor} && echo mknod-loop`,
        'echo escaped | dd of=/tmp/loop conv=notrunc,fsync && echo wrote-loop',
        'true',
      ].join('\n'),
    ]).out;
    const mounted = read(`/proc/${init}/mountinfo`)
      .split('\n')
      .some((l) => l.split(' ')[4] === '/tmp/hostroot');
    // this host refuses even its own root the raw root disk (HOST-NOTES): the devices list decides
    const devicesHeld = after['devices.list'] === before['devices.list'];
    const diskHow = mounted
      ? 'mounted it'
      : devOut.includes('read-disk')
        ? 'read it'
        : !devicesHeld
          ? `devices cgroup now ${after['devices.list']}`
          : devOut.includes('mknod-disk')
            ? 'refused at open'
            : 'refused at mknod';
    row(`mknod + open + mount the host's root disk (${rootDev})`, mode, diskHow.startsWith('refused'), diskHow);
    const loopHeld = readFileSync(backing).equals(content);
    const loopHow = !loopHeld ? 'wrote to it' : devOut.includes('mknod-loop') ? 'refused at open' : 'refused at mknod';
    row('mknod + write a host loop device', mode, loopHeld, loopHow);

    // 5. effect: a CPU burner gets its quota (20% of one CPU)
    const usage = () => Number(read(join(s.layoutPath('cpuacct', ct), 'cpuacct.usage'))) / 1e9;
    const [u0, t0] = [usage(), Date.now()];
    s.berth(['exec', ct, '--', 'timeout', '2', 'sh', '-c', 'while :; do :; done']);
    const [used, wall] = [usage() - u0, (Date.now() - t0) / 1000];
    row(
      'burn CPU past CPULIMIT 20',
      mode,
      used <= wall * 0.2 + 0.3,
      `${used.toFixed(2)} s of CPU in ${wall.toFixed(2)} s`,
    );

    // 6. it freezes its own cgroup (after this exec returned), hoping to outlast a stop
    s.ok([
      'exec',
      ct,
      '--',
      'sh',
      '-c',
      '(sleep 1; for f in /sys/fs/cgroup/freezer/freezer.state /tmp/cg/freezer/freezer.state; do echo FROZEN > $f; done) </dev/null >/dev/null 2>&1 &',
    ]);
    spawnSync('sleep', ['1.5']);
    const selfFrozen = read(join(s.layoutPath('freezer', ct), 'ns/freezer.state'));
    const stop = s.berth(['stop', '--timeout', '1', ct]);
    const gone = !existsSync(s.layoutPath('freezer', ct)) && !existsSync(pidsDir);
    row(
      'freeze itself to outlast stop',
      mode,
      stop.code === 0 && gone,
      `its cgroup ${selfFrozen || 'gone'}; stop exit ${stop.code}`,
    );
  }

  const modes = ['unprivileged', 'privileged'];
  const rows = [['attempt', ...modes], ...[...table].map(([a, r]) => [a, ...modes.map((m) => r[m] ?? '-')])];
  const widths = [0, 1].map((k) => Math.max(...rows.map((r) => (r[k] ?? '').length)));
  for (const r of rows) t.diagnostic(r.map((c, k) => (k < 2 ? c.padEnd(widths[k] ?? 0) : c)).join('  '));
  assert.deepEqual(failures, [], "the limits of <parent>/<CTID> hold against the container's root");
});
