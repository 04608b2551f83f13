// Both cgroup drivers on a fake tree: the pure-v2 one cannot run on the hybrid test host.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { limitsV1, limitsV2 } from '../../../src/core/limits.ts';
import {
  applyWrites,
  containerCgroupMounts,
  createCgroups,
  detectLayout,
  removeCgroups,
} from '../../../src/host/cgroups.ts';

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
      removeCgroups(dirs).filter((p) => !p.includes('memory') && !p.includes('cpu') && !p.includes('pids')),
      [],
    );
  } finally {
    t.done();
  }
});
