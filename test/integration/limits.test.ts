// Resource limits, live: VSwap OOM stays inside the container, NUMPROC caps a fork bomb.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('--ram 64M --swap 0 set live: a 200 MB allocation is OOM-killed inside, the container lives on', {
  skip: ROOT_SKIP,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', '301']);
  s.ok(['start', '301']);
  s.ok(['set', '301', '--ram', '64M', '--swap', '0']);
  // busybox tail keeps a newline-less "line" in memory: 200 MB of zeros is one line
  const r = s.berth(['exec', '301', '--', 'sh', '-c', 'head -c 200m /dev/zero | tail; echo "tail=$?"']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /tail=137/, 'SIGKILLed by the OOM killer');
  // v1 counts an OOM kill in the victim's cgroup: the container's inner one
  const memcg = s.layoutPath('memory', '301');
  assert.match(readFileSync(`${memcg}/ns/memory.oom_control`, 'utf8'), /oom_kill [1-9]/);
  assert.equal(s.ok(['list', '-H', '-o', 'ctid,status']).trim(), '301 running');
  assert.equal(s.berth(['exec', '301', '--', 'true']).code, 0);
  // the beancounters say so too
  const counters = JSON.parse(s.ok(['stat', '301', '--json'])) as Array<Record<string, number | null | string>>;
  const get = (r: string) => counters.find((c) => c['resource'] === r) ?? {};
  assert.equal(get('physpages')['limit'], 16384, '64M in 4 KiB pages');
  assert.ok(Number(get('oomkills')['held']) >= 1, JSON.stringify(counters));
  assert.ok(Number(get('physpages')['maxheld']) > 15000, 'it held close to the limit');
  const row = JSON.parse(s.ok(['list', '--json', '-o', 'ctid,physpages.l,oomkills']))[0];
  assert.deepEqual([row['physpages.l'], row['oomkills'] >= 1], [16384, true]);
  // not saved without --save
  assert.doesNotMatch(readFileSync(`${s.root}/etc/berth/ct/301.conf`, 'utf8'), /0:64M/);
});

test('--numproc 64 caps a fork bomb; the host and berth stay responsive', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', '302']);
  s.ok(['set', '302', '--numproc', '64', '--save']);
  s.ok(['start', '302']);
  const started = Date.now();
  const r = s.berth(['exec', '302', '--', 'sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 2; ps | wc -l'], {
    timeoutMs: 60_000,
  });
  // v1 counts a refused fork in the forking task's cgroup: the container's inner one
  const pids = s.layoutPath('pids', '302');
  const events = readFileSync(`${pids}/ns/pids.events`, 'utf8');
  assert.match(events, /max [1-9]/, 'forks were refused at the limit');
  assert.ok(Number(readFileSync(`${pids}/pids.max`, 'utf8')) === 64);
  assert.ok(Number(r.out.trim() || '0') <= 64, r.out);
  assert.equal(s.ok(['list', '-H', '-o', 'ctid,status']).trim(), '302 running');
  assert.ok(Date.now() - started < 30_000);
  const [row] = JSON.parse(s.ok(['list', '--json', '-o', 'ctid,numproc.l,numproc.f']));
  assert.equal(row['numproc.l'], 64);
  assert.ok(row['numproc.f'] >= 1, `failcnt counts refused forks: ${JSON.stringify(row)}`);
  s.ok(['stop', '--fast', '302']);
});
