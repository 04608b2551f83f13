// Container configs as berth reads them: a broken one is listed and reported as broken without
// taking the others down, refused before anything starts, and still destroyed; every value is
// validated when read; sizes saved by set mean what was asked for.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Run, sandbox } from './harness.ts';

/** Every line berth printed is short and carries no control character (a terminal escape). */
function tame(r: Run, what: string): void {
  for (const line of `${r.out}\n${r.err}`.split('\n')) {
    assert.ok(line.length < 1000, `${what}: a line of ${line.length} characters`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    assert.doesNotMatch(line, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `${what}: a control character`);
  }
}

test('a broken config: listed and reported as broken, refused at start, still destroyed', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  const conf = (id: string) => join(s.root, 'etc/berth/ct', `${id}.conf`);
  const priv = (id: string) => join(s.root, 'var/lib/berth/private', id);
  for (const id of ['101', '102', '103', '104', '105']) s.ok(['create', id]);
  s.ok(['start', '101']);
  s.ok(['start', '105']);
  s.ok(['mount', '103']); // a root mount that destroy must find without the config
  const good105 = readFileSync(conf('105'), 'utf8');
  writeFileSync(conf('102'), `${readFileSync(conf('102'), 'utf8')}HOSTNAME="${'x'.repeat(100_000)}"\n`);
  writeFileSync(conf('103'), `${readFileSync(conf('103'), 'utf8')}garbage \u001b[2J\u001b]0;pwned\u0007 line\n`);
  const layerLine = readFileSync(conf('104'), 'utf8')
    .split('\n')
    .findIndex((l) => l.startsWith('LAYER='));
  writeFileSync(conf('104'), readFileSync(conf('104'), 'utf8').replace(/^LAYER=.*$/m, 'LAYER="../../../../etc"'));
  writeFileSync(conf('105'), good105.replace(/^NUMPROC=.*$/m, 'NUMPROC="lots"'));

  // list: the others as usual, the broken ones as broken with the reason (file, line, key)
  const all = s.berth(['list', '-a', '-H', '-o', 'ctid,status']);
  assert.equal(all.code, 0, all.err);
  tame(all, 'list -a');
  assert.deepEqual(
    all.out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)),
    [
      ['101', 'running'],
      ['102', 'broken'],
      ['103', 'broken'],
      ['104', 'broken'],
      ['105', 'broken'],
    ],
  );
  const running = s.berth(['list', '-H', '-o', 'ctid,status']);
  assert.equal(running.code, 0, running.err);
  assert.deepEqual(
    running.out
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0]),
    ['101', '105'],
  );
  const json = s.berth(['list', '-a', '--json']);
  assert.equal(json.code, 0, json.err);
  tame(json, 'list --json');
  const rows = JSON.parse(json.out) as Array<Record<string, unknown>>;
  const row = (id: string) => rows.find((r) => r['ctid'] === id) ?? {};
  assert.equal(row('101')['problem'], null);
  assert.equal(row('101')['hostname'], 'ct101');
  assert.match(
    String(row('102')['problem']),
    /102\.conf:\d+: HOSTNAME: invalid hostname "x+"\.\.\. \(100000 characters\)$/,
  );
  assert.equal(row('102')['hostname'], null);
  assert.equal(row('102')['ve_private'], priv('102'));
  assert.match(String(row('103')['problem']), /103\.conf:\d+: cannot parse "garbage \\u001b\[2J/);
  assert.match(String(row('104')['problem']), new RegExp(`104\\.conf:${layerLine + 1}: LAYER: invalid layer`));
  assert.match(String(row('105')['problem']), /105\.conf:\d+: NUMPROC: invalid value for numproc: "lots"/);
  assert.ok(Number(row('105')['pid']) > 0, 'a running container with a broken config is still seen running');

  // status: exit 0, the words, and what is wrong where
  const st = s.berth(['status', '102']);
  assert.equal(st.code, 0, st.err);
  tame(st, 'status');
  assert.equal(st.out.trim(), 'CTID 102 exist unmounted down broken');
  assert.match(st.err, /102\.conf:\d+: HOSTNAME: invalid hostname/);
  assert.equal(s.ok(['status', '105']).trim(), 'CTID 105 exist mounted running broken');
  const stJson = JSON.parse(s.ok(['status', '103', '--json']));
  assert.deepEqual([stJson.exist, stJson.mounted, stJson.status], [true, true, 'down']);
  assert.match(stJson.problem, /cannot parse/);

  // the HOSTNAME of 100,000 characters never reaches the helper: start refuses it (exit 85)
  const start = s.berth(['start', '102']);
  assert.equal(start.code, 85, start.err);
  tame(start, 'start');
  assert.match(start.err, /^berth: .*102\.conf:\d+: HOSTNAME: invalid hostname "x+"\.\.\. \(100000 characters\)$/m);
  assert.equal(s.ok(['status', '102']).trim(), 'CTID 102 exist unmounted down broken');
  assert.deepEqual(
    s.leaks().filter((l) => l.includes('/102')),
    [],
  );
  assert.equal(s.berth(['set', '102', '--cpus', '1', '--save']).code, 85);

  // destroy: what berth.conf places for the CTID goes (private area, root mount, config, lock)
  for (const id of ['102', '103', '104']) {
    const r = s.berth(['destroy', id]);
    assert.equal(r.code, 0, `${id}: ${r.err}`);
    tame(r, `destroy ${id}`);
    assert.ok(!existsSync(conf(id)) && !existsSync(priv(id)), `${id}: config and private area gone`);
    assert.ok(!existsSync(join(s.root, 'var/lib/berth/lock', `${id}.lck`)));
  }
  assert.deepEqual(
    s.leaks().filter((l) => /\/10[234]\b/.test(l)),
    [],
    'the root mount of 103 is gone',
  );
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(join(s.root, 'var/lib/berth/root/103')));
  assert.ok(existsSync(join(s.root, 'var/lib/berth/template/layers')), 'the template layers stay');
  assert.ok(readdirSync(join(s.root, 'var/lib/berth/template/layers')).length > 0);
  // a running one is refused as running (exit 32); it stops all the same (its root and network
  // are in its runtime state), and then goes
  assert.equal(s.berth(['destroy', '105']).code, 32);
  const stop = s.berth(['stop', '--fast', '105']);
  assert.equal(stop.code, 0, stop.err);
  assert.match(stop.err, /warning: .*stopping it with what its start recorded/);
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(join(s.root, 'var/lib/berth/root/105 ')));
  assert.equal(s.berth(['stop', '105']).code, 85, 'stopped and broken: the config error again');
  writeFileSync(conf('105'), good105);
  assert.match(s.ok(['list', '-a', '-H', '-o', 'ctid,status']), /105\s+stopped/);
  s.ok(['destroy', '105']);
  s.ok(['stop', '--fast', '101']);
});

test('--ram and --swap in bytes are saved as what they mean (pages, rounded up), live and saved', {
  skip: ROOT_SKIP,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', '201']);
  s.ok(['start', '201']);
  s.ok(['set', '201', '--ram', '100000000', '--swap', '100000', '--save']);
  const saved = readFileSync(join(s.root, 'etc/berth/ct/201.conf'), 'utf8');
  // 100000000 bytes are 24415 pages (rounded up), not 100000000 pages (409.6 GB)
  assert.match(saved, /^PHYSPAGES="0:97660K"$/m);
  assert.match(saved, /^SWAPPAGES="0:100K"$/m);
  const counters = JSON.parse(s.ok(['stat', '201', '--json'])) as Array<Record<string, unknown>>;
  assert.equal(counters.find((c) => c['resource'] === 'physpages')?.['limit'], 24415);
  assert.equal(JSON.parse(s.ok(['list', '--json', '-o', 'physpages']))[0].physpages, '97660K');
  s.ok(['stop', '--fast', '201']);
});
