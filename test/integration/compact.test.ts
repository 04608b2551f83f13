// berth compact: an image container's freed blocks go back to the host (holes in root.img),
// running or stopped, its files and its size (the disk limit) kept; other layouts refused.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('compact: freed blocks of an image go back to the host, running or stopped', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'cp', '--layout', 'image', '--diskspace', '256M']);
  s.ok(['start', 'cp']);
  const img = join(s.root, 'var/lib/berth/private/cp/root.img');
  const onDisk = () => statSync(img).blocks * 512;
  const size = statSync(img).size;
  s.ok([
    'exec',
    'cp',
    '--',
    'sh',
    '-c',
    'dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; echo kept > /keep; sync',
  ]);
  const full = onDisk();
  s.ok(['exec', 'cp', '--', 'sh', '-c', 'rm /big; sync']);
  assert.ok(onDisk() > full - 8 * 1048576, 'removing files inside alone gives nothing back');
  const r = JSON.parse(s.ok(['compact', 'cp', '--json']));
  assert.ok(r.after < full - 48 * 1048576, `running: ${r.before} -> ${r.after} bytes on disk`);
  assert.equal(r.size, size, 'the image keeps its size (the disk limit)');
  assert.equal(s.ok(['exec', 'cp', '--', 'cat', '/keep']).trim(), 'kept');
  // stopped: mounted for the trim, unmounted after
  s.ok(['exec', 'cp', '--', 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=32 2>/dev/null; sync; rm /big; sync']);
  s.ok(['stop', 'cp']);
  const stopped = JSON.parse(s.ok(['compact', 'cp', '--json']));
  assert.ok(stopped.after < stopped.before - 24 * 1048576, `stopped: ${stopped.before} -> ${stopped.after}`);
  assert.match(s.ok(['status', 'cp']), / unmounted down$/m);
  s.ok(['start', 'cp']);
  assert.equal(s.ok(['exec', 'cp', '--', 'cat', '/keep']).trim(), 'kept');
  // a layout without an image
  s.ok(['create', 'cd', '--layout', 'dir']);
  const dir = s.berth(['compact', 'cd']);
  assert.equal(dir.code, 21, dir.err);
  assert.match(dir.err, /^berth: compact cd: layout dir has no image to compact\nberth: hint: /);
});
