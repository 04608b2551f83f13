// Both cgroup drivers on a fake tree: the pure-v2 one cannot run on the hybrid test host.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { v1Counters } from '../../../src/core/beancounters.ts';
import { limitsV1, limitsV2 } from '../../../src/core/limits.ts';
import {
  applyWrites,
  cgroupPids,
  containerCgroupMounts,
  createCgroups,
  detectLayout,
  EXEC_LEAF,
  INNER,
  prepareCgroups,
  procsFiles,
  readCounterFiles,
  removeCgroups,
} from '../../../src/host/cgroups.ts';
import { linuxHost } from '../../../src/host/host.ts';

const HYBRID = `25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
30 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
31 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
32 25 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset`;
const V2 = '25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

function fakeTree(layoutText: string) {
  const base = mkdtempSync(join(tmpdir(), 'berth-fakecg-'));
  const layout = detectLayout(layoutText);
  for (const h of layout.hierarchies) {
    h.mountPoint = join(base, h.mountPoint);
    mkdirSync(h.mountPoint, { recursive: true });
  }
  return { base, layout, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('hybrid v1 layout: split cpu/cpuacct, name=systemd and cgroup2 are all found', () => {
  const l = detectLayout(HYBRID);
  assert.equal(l.kind, 'v1');
  assert.deepEqual(
    l.hierarchies.map((h) => h.mountOptions),
    ['cpu', 'cpuacct', 'memory', 'pids', 'name=systemd', '', 'cpuset'],
  );
  const inside = containerCgroupMounts(l);
  assert.deepEqual(
    inside.filter((m) => m.writable).map((m) => m.name),
    ['systemd', 'unified'],
  );
  assert.equal(inside.find((m) => m.name === 'memory')?.writable, false);
});

test('a hierarchy mounted twice counts once, at its place under /sys/fs/cgroup', () => {
  // CRIU's cgroup yard (the same superblocks, mounted under a dump directory while it runs) and
  // a bind of a sub-cgroup elsewhere, before and after the host's own mounts
  const yard = [
    '90 1 0:26 / /var/lib/berth/dump/7/.criu.cgyard.X/pids rw - cgroup cgroup rw,pids',
    '91 1 0:25 /berth/101 /srv/memcg rw - cgroup cgroup rw,memory',
  ].join('\n');
  for (const text of [`${HYBRID}\n${yard}`, `${yard}\n${HYBRID}`]) {
    const l = detectLayout(text);
    assert.equal(l.hierarchies.length, 7, text);
    assert.equal(l.hierarchies.find((h) => h.controllers.includes('pids'))?.mountPoint, '/sys/fs/cgroup/pids');
    assert.equal(l.hierarchies.find((h) => h.controllers.includes('memory'))?.mountPoint, '/sys/fs/cgroup/memory');
  }
  const v2 = detectLayout(`${V2}\n30 1 0:22 / /tmp/yard rw - cgroup2 cgroup2 rw`);
  assert.equal(v2.kind, 'v2');
  assert.deepEqual(
    v2.hierarchies.map((h) => h.mountPoint),
    ['/sys/fs/cgroup'],
  );
  // elsewhere only (no /sys/fs/cgroup mount of it): a mount of its root is taken over a sub-cgroup's
  const only = detectLayout(
    '40 1 0:40 /a /mnt/a rw - cgroup cgroup rw,pids\n41 1 0:40 / /mnt/b rw - cgroup cgroup rw,pids',
  );
  assert.deepEqual(
    only.hierarchies.map((h) => h.mountPoint),
    ['/mnt/b'],
  );
});

test('pure v2 layout is detected and mounted whole inside', () => {
  const l = detectLayout(V2);
  assert.equal(l.kind, 'v2');
  assert.deepEqual(containerCgroupMounts(l), [{ name: '', fstype: 'cgroup2', options: '', writable: true }]);
});

test('v1 driver on a fake tree: creates per-hierarchy dirs, copies cpuset, writes limits', () => {
  const t = fakeTree(HYBRID);
  try {
    const cpuset = t.layout.hierarchies.find((h) => h.controllers.includes('cpuset'))?.mountPoint ?? '';
    writeFileSync(join(cpuset, 'cpuset.cpus'), '0-1');
    writeFileSync(join(cpuset, 'cpuset.mems'), '0');
    const dirs = createCgroups(t.layout, 'berth', '101');
    assert.equal(dirs.length, 7);
    assert.equal(readFileSync(join(cpuset, 'berth/101/cpuset.cpus'), 'utf8'), '0-1');
    applyWrites(dirs, limitsV1({ ram: 64 << 20, swap: 0, cpus: null, cpulimit: 50, cpuunits: null, numproc: 64 }));
    const mem = join(t.base, 'sys/fs/cgroup/memory/berth/101');
    assert.equal(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8'), String(64 << 20));
    assert.equal(readFileSync(join(t.base, 'sys/fs/cgroup/cpu/berth/101/cpu.cfs_quota_us'), 'utf8'), '50000');
    assert.equal(readFileSync(join(t.base, 'sys/fs/cgroup/pids/berth/101/pids.max'), 'utf8'), '64');
  } finally {
    t.done();
  }
});

test('v1 driver: every level of a nested parent gets its cpuset before the level below is made', () => {
  const t = fakeTree(HYBRID);
  try {
    const cpuset = t.layout.hierarchies.find((h) => h.controllers.includes('cpuset'))?.mountPoint ?? '';
    writeFileSync(join(cpuset, 'cpuset.cpus'), '0-1');
    writeFileSync(join(cpuset, 'cpuset.mems'), '0');
    createCgroups(t.layout, 'farm/berth', '101');
    for (const level of ['farm', 'farm/berth', 'farm/berth/101']) {
      assert.equal(readFileSync(join(cpuset, level, 'cpuset.cpus'), 'utf8'), '0-1', level);
    }
  } finally {
    t.done();
  }
});

test('v2 driver on a fake tree: enables controllers top-down and writes unified files', (tc) => {
  if (!existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    tc.diagnostic('this host is not pure cgroup v2: the v2 driver is covered on this fake tree only');
  }
  const t = fakeTree(V2);
  try {
    const root = t.layout.hierarchies[0]?.mountPoint ?? '';
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc');
    const dirs = createCgroups(t.layout, 'berth', '101');
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+cpuset +cpu +io +memory +pids');
    applyWrites(dirs, limitsV2({ ram: 256 << 20, swap: 0, cpus: 1, cpulimit: null, cpuunits: 2000, numproc: null }));
    const ct = join(root, 'berth/101');
    assert.equal(readFileSync(join(ct, 'memory.max'), 'utf8'), String(256 << 20));
    assert.equal(readFileSync(join(ct, 'memory.swap.max'), 'utf8'), '0');
    assert.equal(readFileSync(join(ct, 'cpu.max'), 'utf8'), '100000 100000');
    assert.equal(readFileSync(join(ct, 'cpu.weight'), 'utf8'), '200');
    assert.equal(readFileSync(join(ct, 'pids.max'), 'utf8'), 'max');
  } finally {
    t.done();
  }
});

test('removeCgroups removes nested sub-cgroups deepest first (fake dirs are empty)', () => {
  const t = fakeTree(HYBRID);
  try {
    const dirs = createCgroups(t.layout, 'berth', '7');
    const sys = dirs.find((d) => d.hierarchy.mountOptions === 'name=systemd')?.path ?? '';
    mkdirSync(join(sys, 'init.scope/sub'), { recursive: true });
    // fake trees hold regular files, which a real cgroupfs would not: remove them first
    for (const d of dirs) for (const f of ['cpuset.cpus', 'cpuset.mems']) rmSync(join(d.path, f), { force: true });
    assert.deepEqual(
      removeCgroups(linuxHost, dirs).filter((p) => !p.includes('memory') && !p.includes('cpu') && !p.includes('pids')),
      [],
    );
  } finally {
    t.done();
  }
});

const V1_LIMITS = limitsV1({ ram: 64 << 20, swap: 0, cpus: 1, cpulimit: 50, cpuunits: null, numproc: 64 }, '1');
const uid = process.getuid?.() ?? 0;

test('v1 start: limits and device policy on <CTID>, the container in <CTID>/ns with cpuset and CPU copies', () => {
  const t = fakeTree(`${HYBRID}\n33 25 0:30 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices`);
  try {
    const cg = (h: string, ...rest: string[]) => join(t.base, 'sys/fs/cgroup', h, 'berth', ...rest);
    writeFileSync(join(t.base, 'sys/fs/cgroup/cpuset/cpuset.cpus'), '0-1');
    writeFileSync(join(t.base, 'sys/fs/cgroup/cpuset/cpuset.mems'), '0');
    // a stale inner tree from a crash goes first ("devices.deny a" is refused under children)
    mkdirSync(cg('devices', '101', INNER, 'stale'), { recursive: true });
    const dirs = prepareCgroups(linuxHost, t.layout, 'berth', '101', {
      devices: ['c 1:3 rwm', 'c 5:0 rwm'],
      writes: V1_LIMITS,
      owner: uid,
    });
    assert.deepEqual(
      dirs.map((d) => d.path),
      t.layout.hierarchies.map((h) => join(h.mountPoint, 'berth/101')),
      'the limits level is what callers get',
    );
    assert.equal(existsSync(cg('devices', '101', INNER, 'stale')), false);
    assert.equal(readFileSync(cg('devices', '101', 'devices.deny'), 'utf8'), 'a');
    assert.equal(readFileSync(cg('devices', '101', 'devices.allow'), 'utf8'), 'c 5:0 rwm', 'the last rule written');
    assert.equal(existsSync(cg('devices', '101', INNER, 'devices.allow')), false, 'the inner one inherits it');
    assert.equal(readFileSync(cg('memory', '101', 'memory.limit_in_bytes'), 'utf8'), String(64 << 20));
    assert.equal(existsSync(cg('memory', '101', INNER, 'memory.limit_in_bytes')), false, 'no copy: lxcfs looks up');
    assert.equal(readFileSync(cg('pids', '101', 'pids.max'), 'utf8'), '64');
    assert.equal(readFileSync(cg('cpuset', '101', 'cpuset.cpus'), 'utf8'), '1');
    // v1 cpuset: the inner cgroup needs cpus and mems before init joins, from <CTID>
    assert.equal(readFileSync(cg('cpuset', '101', INNER, 'cpuset.cpus'), 'utf8'), '1');
    assert.equal(readFileSync(cg('cpuset', '101', INNER, 'cpuset.mems'), 'utf8'), '0');
    assert.deepEqual(
      procsFiles(dirs),
      t.layout.hierarchies.map((h) => join(h.mountPoint, 'berth/101', INNER, 'cgroup.procs')),
    );
    // live: the quota is copied where lxcfs reads it (a fake file stands for the kernel's)
    writeFileSync(cg('cpu', '101', INNER, 'cpu.cfs_quota_us'), '50000');
    applyWrites(dirs, limitsV1({ ram: null, swap: null, cpus: null, cpulimit: 20, cpuunits: null, numproc: null }));
    assert.equal(readFileSync(cg('cpu', '101', 'cpu.cfs_quota_us'), 'utf8'), '20000');
    assert.equal(readFileSync(cg('cpu', '101', INNER, 'cpu.cfs_quota_us'), 'utf8'), '20000');
  } finally {
    t.done();
  }
});

test('a container started before the inner cgroup: its processes join <CTID>, and are found there', () => {
  const t = fakeTree(HYBRID);
  try {
    const dirs = createCgroups(t.layout, 'berth', '9');
    assert.deepEqual(
      procsFiles(dirs),
      dirs.map((d) => join(d.path, 'cgroup.procs')),
    );
    const pids = dirs.find((d) => d.hierarchy.controllers.includes('pids'))?.path ?? '';
    writeFileSync(join(pids, 'cgroup.procs'), '41\n');
    mkdirSync(join(pids, INNER, 'sub'), { recursive: true });
    writeFileSync(join(pids, INNER, 'sub', 'cgroup.procs'), '42\n43\n');
    assert.deepEqual(cgroupPids(dirs).sort(), [41, 42, 43], 'the whole subtree, either layout');
  } finally {
    t.done();
  }
});

test('counters: v1 refused forks and OOM kills counted where the task was are summed over the subtree', () => {
  const t = fakeTree(HYBRID);
  try {
    const dirs = createCgroups(t.layout, 'berth', '5');
    const at = (ctrl: string) => dirs.find((d) => d.hierarchy.controllers.includes(ctrl))?.path ?? '';
    mkdirSync(join(at('pids'), INNER, 'init.scope'), { recursive: true });
    writeFileSync(join(at('pids'), 'pids.events'), 'max 0\n');
    writeFileSync(join(at('pids'), INNER, 'pids.events'), 'max 2\n');
    writeFileSync(join(at('pids'), INNER, 'init.scope', 'pids.events'), 'max 1\n');
    writeFileSync(join(at('pids'), 'pids.max'), '50\n');
    writeFileSync(join(at('pids'), INNER, 'pids.max'), 'max\n');
    mkdirSync(join(at('memory'), INNER));
    writeFileSync(join(at('memory'), 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
    writeFileSync(join(at('memory'), INNER, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
    const names = ['pids/pids.events', 'pids/pids.max', 'memory/memory.oom_control'];
    const f = readCounterFiles(t.layout, dirs, names);
    assert.equal(f['pids/pids.max'], '50', 'a limit is read on <CTID> only');
    assert.deepEqual(f['pids/pids.events']?.match(/max \d/g)?.sort(), ['max 0', 'max 1', 'max 2']);
    const numproc = v1Counters(f).find((c) => c.resource === 'numproc');
    const oom = v1Counters(f).find((c) => c.resource === 'oomkills');
    assert.deepEqual([numproc?.limit, numproc?.failcnt, oom?.held], [50, 3, 3]);
  } finally {
    t.done();
  }
});

test('v2 start: controllers enabled down to <CTID>, the inner cgroup gets them; fork counts by kernel', () => {
  const t = fakeTree(V2);
  try {
    const root = t.layout.hierarchies[0]?.mountPoint ?? '';
    const ct = join(root, 'berth/101');
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids');
    mkdirSync(ct, { recursive: true });
    writeFileSync(join(ct, 'cgroup.controllers'), 'cpu memory pids');
    writeFileSync(join(ct, 'pids.events'), 'max 4\n');
    const dirs = prepareCgroups(linuxHost, t.layout, 'berth', '101', {
      devices: ['c 1:3 rwm'],
      writes: limitsV2({ ram: 256 << 20, swap: 0, cpus: null, cpulimit: 50, cpuunits: null, numproc: 64 }),
      owner: uid,
    });
    // no-internal-processes: <CTID> holds none, so its controllers go to the inner cgroup
    assert.equal(readFileSync(join(ct, 'cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    assert.equal(readFileSync(join(ct, 'memory.max'), 'utf8'), String(256 << 20));
    assert.equal(existsSync(join(ct, 'devices.deny')), false, 'v2: no devices files (a BPF program would go here)');
    assert.deepEqual(procsFiles(dirs), [join(ct, INNER, 'cgroup.procs')]);
    // the container's systemd enables controllers for its own children: exec joins a leaf
    writeFileSync(join(ct, INNER, 'cgroup.subtree_control'), 'memory pids\n');
    assert.deepEqual(procsFiles(dirs), [join(ct, INNER, EXEC_LEAF, 'cgroup.procs')]);
    assert.deepEqual(procsFiles(dirs), [join(ct, INNER, EXEC_LEAF, 'cgroup.procs')], 'again: the leaf exists');
    rmSync(join(ct, INNER, EXEC_LEAF), { recursive: true });
    writeFileSync(join(ct, INNER, 'pids.events'), 'max 0\n');
    // before Linux 6.12 (no pids.events.local) a refused fork counts below: summed
    assert.equal(readCounterFiles(t.layout, dirs, ['pids.events'])['pids.events'], 'max 4\nmax 0');
    writeFileSync(join(ct, 'pids.events.local'), 'max 0\n');
    assert.equal(readCounterFiles(t.layout, dirs, ['pids.events'])['pids.events'], 'max 4', 'since 6.12: hierarchical');
  } finally {
    t.done();
  }
});
