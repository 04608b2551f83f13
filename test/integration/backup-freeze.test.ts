// Copies of a running container (backup, snapshot, clone) freeze it only while a second pass
// catches up with what changed during the first (vzdump's suspend mode): a short freeze however
// much the container holds, and still one instant's state, with a writer busy inside.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

/** The frozen time a backup, snapshot or clone reported. */
const frozenMs = (text: string) => Number(/frozen (\d+) ms/.exec(text)?.[1] ?? Number.NaN);

/** One file of the container's files in a backup archive. */
function fromArchive(file: string, name: string): string {
  const r = spawnSync('sh', ['-c', 'tar -xOf "$1" fs.tar.zst | zstd -dc | tar -xO "./$2"', 'sh', file, name], {
    encoding: 'utf8',
  });
  return r.stdout.trim();
}

test('a running dir container with 400 MB and a writer inside: frozen briefly, copied as one instant', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'fz', '--layout', 'dir']);
  s.ok(['start', 'fz']);
  // incompressible: the archive alone takes seconds, which a freeze for the whole copy showed
  s.ok([
    'exec',
    'fz',
    '--',
    'sh',
    '-c',
    'dd if=/dev/urandom of=/data bs=1M count=400 2>/dev/null; mkdir /many; i=0; while [ $i -lt 500 ]; do echo $i > /many/f$i; i=$((i+1)); done',
  ]);
  // a writer that keeps two files one step apart: a copy of two instants would show a gap (each
  // file is replaced by a rename, so no reader meets it empty)
  const loop = 'i=1; while :; do echo $i > /a.t; mv /a.t /a; echo $i > /b.t; mv /b.t /b; i=$((i+1)); done';
  s.ok(['exec', 'fz', '--', 'sh', '-c', `setsid sh -c '${loop}' </dev/null >/dev/null 2>&1 &`]);
  spawnSync('sleep', ['0.5']);
  const file = join(s.root, 'fz.tar');
  const r = s.berth(['backup', 'fz', '-o', file]);
  assert.equal(r.code, 0, r.err);
  const ms = frozenMs(r.err + r.out);
  t.diagnostic(`backup of 400 MB with a writer inside: frozen ${ms} ms`);
  assert.ok(ms < 1500, `frozen ${ms} ms (the whole archive takes seconds)`);
  assert.equal(statSync(file).mode & 0o777, 0o600, "the archive is root's only");
  const a = fromArchive(file, 'a');
  const b = fromArchive(file, 'b');
  // one instant: b is written after a, so it equals a or is one behind
  assert.ok(b === a || Number(b) === Number(a) - 1, `a=${a} b=${b}: not one instant`);
  assert.ok(Number(a) > 0, `the writer ran before the backup (a=${a})`);
  assert.equal(fromArchive(file, 'many/f499'), '499', 'the files of the first pass are there');
  // thawed: the writer goes on
  const before = Number(s.ok(['exec', 'fz', '--', 'cat', '/a']));
  spawnSync('sleep', ['0.2']);
  assert.ok(Number(s.ok(['exec', 'fz', '--', 'cat', '/a'])) > before, 'the writer runs again');
  // snapshots and clones take the same path
  const snap = s.berth(['snapshot', 'fz', '--name', 'one']);
  assert.equal(snap.code, 0, snap.err);
  t.diagnostic(`snapshot: frozen ${frozenMs(snap.err)} ms`);
  assert.ok(frozenMs(snap.err) < 1500, snap.err);
  const clone = s.berth(['clone', 'fz', 'fz2']);
  assert.equal(clone.code, 0, clone.err);
  assert.ok(frozenMs(clone.err) < 1500, clone.err);
});

test('a tree nested past the catch-up pass is copied whole while frozen, not refused', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'deep', '--layout', 'dir']);
  s.ok(['start', 'deep']);
  // 300 levels (the helper walks 256): a container may make its own tree as deep as it likes
  s.ok([
    'exec',
    'deep',
    '--',
    'sh',
    '-c',
    'cd /root; i=0; while [ $i -lt 300 ]; do mkdir d; cd d; i=$((i+1)); done; echo bottom > f',
  ]);
  const r = s.berth(['snapshot', 'deep', '--name', 'deep']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: deep: .*nested deeper than 256.*; copying it whole while frozen/);
  const fs = join(s.root, 'var/lib/berth/snapshots/deep/deep/fs/root');
  assert.equal(
    readFileSync(join(fs, ...Array(300).fill('d'), 'f'), 'utf8'),
    'bottom\n',
    'the deepest file is in the copy',
  );
  t.diagnostic(`frozen for the whole copy: ${frozenMs(r.err)} ms`);
});
