import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resources } from '../../../src/core/ct-config.ts';
import { type CgroupWrite, cpusetCpus, limitsV1, limitsV2 } from '../../../src/core/limits.ts';
import {
  fieldLines,
  formatUptime,
  LIMIT_FIELDS,
  LIST_FIELDS,
  limitCells,
  limitFiles,
  liveResources,
  parseField,
} from '../../../src/core/list-fields.ts';

const M = 1024 * 1024;
const saved: Resources = { ram: 256 * M, swap: 512 * M, cpus: null, cpulimit: null, cpuunits: 1000, numproc: 1024 };
const ONLINE = [0, 1, 2, 3];

/** The files as the kernel shows them after berth wrote `r` (v1 reads -1 back as a huge number). */
function kernelFiles(kind: 'v1' | 'v2', r: Resources): Record<string, string | null> {
  const cpuset = cpusetCpus(r.cpus, ONLINE, 7);
  const writes: CgroupWrite[] = kind === 'v1' ? limitsV1(r, cpuset) : limitsV2(r, cpuset);
  const out: Record<string, string | null> = {};
  for (const w of writes) {
    const huge = kind === 'v1' && w.value === '-1' && w.file.startsWith('memory.');
    out[kind === 'v1' ? `${w.controller}/${w.file}` : w.file] = huge ? '9223372036854771712' : w.value;
  }
  return out;
}

test('a running container that nothing changed shows its saved limits', () => {
  for (const kind of ['v1', 'v2'] as const) {
    for (const r of [
      saved,
      { ...saved, cpus: 2, cpulimit: 150, cpuunits: 250 },
      { ...saved, ram: null, swap: null, numproc: null, cpus: 8 },
    ]) {
      assert.deepEqual(liveResources(kind, kernelFiles(kind, r), r, ONLINE.length), r, kind);
    }
  }
});

test('a live set without --save: list shows the value the kernel has', () => {
  for (const kind of ['v1', 'v2'] as const) {
    for (const live of [
      { ...saved, ram: 128 * M },
      { ...saved, swap: 0 },
      { ...saved, numproc: 300 },
      { ...saved, cpus: 1 },
      { ...saved, cpulimit: 50 },
      { ...saved, cpuunits: 500 },
      { ...saved, cpus: 2, cpulimit: 120, ram: null, swap: null },
    ]) {
      assert.deepEqual(liveResources(kind, kernelFiles(kind, live), saved, ONLINE.length), live, kind);
    }
  }
});

test('cpus and cpulimit: the pair that explains the quota, keeping the saved one where it can', () => {
  // saved --cpus 2; a live --cpulimit 50 leaves cpus as saved
  const two = { ...saved, cpus: 2 };
  const files = kernelFiles('v1', { ...two, cpulimit: 50 });
  assert.deepEqual(liveResources('v1', files, two, 4), { ...two, cpulimit: 50 });
  // files written by hand that no pair explains: the count and the quota as they are
  const odd = { ...kernelFiles('v1', saved), 'cpu/cpu.cfs_quota_us': '330000', 'cpuset/cpuset.cpus': '0' };
  assert.deepEqual(liveResources('v1', odd, saved, 4), { ...saved, cpus: 1, cpulimit: 330 });
});

test('list reads only the files of the limit fields it shows, and each gets its live value', () => {
  assert.deepEqual(limitFiles('v1', ['ctid', 'status', 'ip']), []);
  assert.deepEqual(limitFiles('v1', ['ctid', 'physpages', null]), ['memory/memory.limit_in_bytes']);
  assert.deepEqual(limitFiles('v2', ['cpus', 'cpulimit']), ['cpu.max', 'cpuset.cpus']);
  const live = { ...saved, ram: 64 * M, swap: 0, cpus: 1, cpulimit: 50, cpuunits: 250, numproc: 9 };
  for (const kind of ['v1', 'v2'] as const) {
    const all = kernelFiles(kind, live);
    for (const f of LIMIT_FIELDS) {
      const some = Object.fromEntries(limitFiles(kind, [f]).map((n) => [n, all[n] ?? null]));
      assert.equal(limitCells(liveResources(kind, some, saved, ONLINE.length))[f], limitCells(live)[f], `${kind} ${f}`);
    }
  }
});

test('a missing file leaves the saved value (no swap accounting, no cpuset)', () => {
  const files = kernelFiles('v1', { ...saved, ram: 64 * M, numproc: 10 });
  delete files['memory/memory.memsw.limit_in_bytes'];
  delete files['cpuset/cpuset.cpus'];
  assert.deepEqual(liveResources('v1', files, saved, 4), { ...saved, ram: 64 * M, numproc: 10 });
  assert.deepEqual(liveResources('v2', {}, saved, 4), saved);
});

test('limit cells print as list always did', () => {
  assert.deepEqual(limitCells(saved), {
    physpages: '256M',
    swappages: '512M',
    cpus: 'unlimited',
    cpulimit: '0',
    cpuunits: '1000',
    numproc: '1024',
  });
  assert.ok(LIMIT_FIELDS.every((f) => LIST_FIELDS.includes(f)));
});

test('field names: any case, vzlist aliases, -L lists each with its header', () => {
  assert.equal(parseField('DESCRIPTION'), 'description');
  assert.equal(parseField('veid'), 'ctid');
  assert.equal(parseField('private'), 've_private');
  assert.throws(() => parseField('colour'), { code: 'BAD_VALUE' });
  const lines = fieldLines();
  assert.ok(lines.includes('description     DESCRIPTION'));
  assert.ok(lines.includes('ip              IP_ADDR'));
  assert.ok(lines.includes('veid            CTID'));
  assert.equal(lines.length, LIST_FIELDS.length + 7);
});

test('uptime as vzlist prints it', () => {
  assert.equal(formatUptime(0), '000d00h:00m:00s');
  assert.equal(formatUptime(2 * 86400 + 3 * 3600 + 4 * 60 + 5.9), '002d03h:04m:05s');
});
