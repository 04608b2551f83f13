// Messages name the verb the user ran (ops are shared between verbs), and exec of a command the
// container lacks prints berth's line and hint only, with the documented exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

const NS = `berth-it-msg-${process.pid}`;

test('restore --force, a damaged archive and set --netif_add name their own verb', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  s.ok(['create', 'm1']);
  s.ok(['start', 'm1']);
  const file = join(s.root, 'm1.tar');
  s.ok(['backup', 'm1', '-o', file]);

  const force = s.berth(['restore', file, '--force']);
  assert.equal(force.code, 32, force.err);
  assert.equal(force.err, 'berth: restore m1: container is running\nberth: hint: berth stop m1\n');

  const cut = join(s.root, 'cut.tar');
  writeFileSync(cut, 'not an archive');
  const bad = s.berth(['restore', cut, 'm2']);
  assert.equal(bad.code, 152, bad.err);
  assert.match(bad.err, /^berth: restore \S+cut\.tar: /);

  const br = `nobr${process.pid % 10000}`;
  const set = s.berth(['set', 'm1', '--netif_add', `eth0,,,,${br}`, '--save']);
  assert.equal(set.code, 151, set.err);
  assert.match(set.err, new RegExp(`^berth: set m1: bridge ${br} does not exist\nberth: hint: create it: `));
  assert.doesNotMatch(s.ok(['list', '-o', 'ctid']), /m2/);
});

test('exec of a missing or unexecutable command: berth line and hint only, 127 and 126', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'e1']);
  s.ok(['start', 'e1']);
  for (const tty of ['-T', '-t']) {
    const r = s.berth(['exec', tty, 'e1', '--', 'nosuchcmd', 'arg']);
    assert.equal(r.code, 127, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, /^berth: exec e1 nosuchcmd: no such command in the container\nberth: hint: [^\n]+\n$/);
    const x = s.berth(['exec', tty, 'e1', '--', '/etc/passwd']);
    assert.equal(x.code, 126, x.err);
    assert.match(x.err, /^berth: exec e1 \/etc\/passwd: permission denied\nberth: hint: [^\n]+\n$/);
  }
});
