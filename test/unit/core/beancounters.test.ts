// Beancounters from cgroup v1 and v2 counter files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v1Counters, v2Counters } from '../../../src/core/beancounters.ts';

const by = (list: ReturnType<typeof v1Counters>) => Object.fromEntries(list.map((c) => [c.resource, c]));

test('v1: memory in pages, swap as memsw minus memory, unlimited as null, pids and OOM events', () => {
  const c = by(
    v1Counters({
      'memory/memory.usage_in_bytes': '8192\n',
      'memory/memory.max_usage_in_bytes': '65536\n',
      'memory/memory.limit_in_bytes': '67108864\n',
      'memory/memory.failcnt': '3\n',
      'memory/memory.memsw.usage_in_bytes': '12288\n',
      'memory/memory.memsw.limit_in_bytes': '9223372036854771712\n',
      'memory/memory.memsw.failcnt': '0\n',
      'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      'pids/pids.current': '5\n',
      'pids/pids.max': 'max\n',
      'pids/pids.events': 'max 7\n',
      'cpuacct/cpuacct.usage': '1500000000\n',
    }),
  );
  assert.deepEqual(c['physpages'], { resource: 'physpages', held: 2, maxheld: 16, limit: 16384, failcnt: 3 });
  assert.deepEqual([c['swappages']?.held, c['swappages']?.limit], [1, null]);
  assert.deepEqual([c['numproc']?.held, c['numproc']?.limit, c['numproc']?.failcnt], [5, null, 7]);
  assert.equal(c['oomkills']?.held, 2);
  assert.equal(c['cpu_seconds']?.held, 1.5);
});

test('v2: current, peak, max and events; missing files are null, not zero', () => {
  const c = by(
    v2Counters({
      'memory.current': '4096',
      'memory.peak': '40960',
      'memory.max': 'max',
      'memory.events': 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n',
      'memory.swap.current': null,
      'pids.current': '3',
      'pids.peak': '9',
      'pids.max': '64',
      'pids.events': 'max 2',
      'cpu.stat': 'usage_usec 2500000\nuser_usec 1\n',
    }),
  );
  assert.deepEqual(c['physpages'], { resource: 'physpages', held: 1, maxheld: 10, limit: null, failcnt: 4 });
  assert.deepEqual([c['swappages']?.held, c['swappages']?.failcnt], [null, null]);
  assert.deepEqual([c['numproc']?.maxheld, c['numproc']?.limit, c['numproc']?.failcnt], [9, 64, 2]);
  assert.equal(c['oomkills']?.held, 1);
  assert.equal(c['cpu_seconds']?.held, 2.5);
});

test('events of several cgroups joined are summed (v1 counts refused forks and OOM kills where the task was)', () => {
  const c = by(
    v1Counters({
      'pids/pids.events': 'max 0\nmax 2\nmax 1',
      'memory/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\noom_kill_disable 0\noom_kill 4',
    }),
  );
  assert.equal(c['numproc']?.failcnt, 3);
  assert.equal(c['oomkills']?.held, 4, 'oom_kill_disable is another key');
});
