import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resources } from '../../../src/core/ct-config.ts';
import {
  cpuPercent,
  cpuShares,
  cpusetCpus,
  cpuWeight,
  limitsV1,
  limitsV2,
  parseCpuList,
} from '../../../src/core/limits.ts';

const none: Resources = { ram: null, swap: null, cpus: null, cpulimit: null, cpuunits: null, numproc: null };
const M = 1024 * 1024;

test('VSwap on v1: memory limit plus memsw = ram + swap', () => {
  const w = limitsV1({ ...none, ram: 64 * M, swap: 0, numproc: 64 });
  const get = (f: string) => w.find((x) => x.file === f)?.value;
  assert.equal(get('memory.limit_in_bytes'), String(64 * M));
  assert.equal(get('memory.memsw.limit_in_bytes'), String(64 * M));
  assert.equal(get('pids.max'), '64');
  assert.equal(get('cpu.cfs_quota_us'), '-1');
});

test('VSwap on v2: memory.max and memory.swap.max', () => {
  const w = limitsV2({ ...none, ram: 256 * M, swap: 128 * M });
  assert.deepEqual(
    w.slice(0, 2).map((x) => x.value),
    [String(256 * M), String(128 * M)],
  );
  assert.equal(limitsV2(none).find((x) => x.file === 'memory.max')?.value, 'max');
});

test('CPU: the lower of cpulimit and cpus, shares and weight scale from 1000 units', () => {
  assert.equal(cpuPercent({ ...none, cpus: 2, cpulimit: 50 }), 50);
  assert.equal(cpuPercent({ ...none, cpus: 1 }), 100);
  assert.equal(cpuPercent(none), null);
  assert.equal(limitsV1({ ...none, cpus: 1 }).find((x) => x.file === 'cpu.cfs_quota_us')?.value, '100000');
  assert.equal(limitsV2({ ...none, cpulimit: 150 }).find((x) => x.file === 'cpu.max')?.value, '150000 100000');
  assert.equal(cpuShares(null), 1024);
  assert.equal(cpuShares(8), 8);
  assert.equal(cpuWeight(null), 100);
  assert.equal(cpuWeight(500000), 10000);
});

test('--cpus N pins to N of the online CPUs, spread by the CTID; none or all: every CPU', () => {
  assert.deepEqual(parseCpuList('0-3,6,8-9\n'), [0, 1, 2, 3, 6, 8, 9]);
  assert.deepEqual(parseCpuList(''), []);
  const online = [0, 1, 2, 3];
  assert.equal(cpusetCpus(null, online, 7), '0,1,2,3');
  assert.equal(cpusetCpus(8, online, 7), '0,1,2,3');
  assert.equal(cpusetCpus(1, online, 7), '3');
  assert.equal(cpusetCpus(1, online, 8), '0');
  assert.equal(cpusetCpus(2, online, 3), '0,3', 'wraps around');
  assert.equal(cpusetCpus(1.5, online, 0), '0,1', 'a fraction of a CPU still needs a whole one');
  const w = limitsV1({ ...none, cpus: 1 }, '1');
  assert.deepEqual(
    w.find((x) => x.file === 'cpuset.cpus'),
    { controller: 'cpuset', file: 'cpuset.cpus', value: '1', optional: true, inner: true },
  );
  assert.ok(!limitsV2(none).some((x) => x.file === 'cpuset.cpus'), 'no host facts, no cpuset write');
});

test('only the CPU quota and cpuset are copied to the inner cgroup (lxcfs reads them there)', () => {
  const inner = (w: ReturnType<typeof limitsV1>) => w.filter((x) => x.inner).map((x) => x.file);
  assert.deepEqual(inner(limitsV1({ ...none, cpus: 1 }, '1')), [
    'cpu.cfs_period_us',
    'cpu.cfs_quota_us',
    'cpuset.cpus',
  ]);
  assert.deepEqual(inner(limitsV2({ ...none, cpus: 1 }, '1')), ['cpu.max', 'cpuset.cpus']);
});
