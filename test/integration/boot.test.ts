// berth boot / berth shutdown (what berth.service runs): ONBOOT and BOOTORDER honoured, a
// failing container does not stop the others; the unit file passes systemd-analyze verify.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, REPO, ROOT_SKIP, sandbox } from './harness.ts';

test('boot starts ONBOOT containers in BOOTORDER; shutdown stops all in reverse', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  for (const [id, onboot, order] of [
    ['101', 'yes', null],
    ['102', 'yes', '10'],
    ['103', 'no', '99'],
    ['104', 'yes', '50'],
  ] as const) {
    s.ok(['create', id]);
    s.ok(['set', id, '--onboot', onboot, ...(order ? ['--bootorder', order] : []), '--save']);
  }
  const boot = s.berth(['boot', '--json']);
  assert.equal(boot.code, 0, boot.err);
  assert.deepEqual(JSON.parse(boot.out).done, ['104', '102', '101']);
  assert.match(boot.err, /Starting 104\.\.\.\nStarting 102\.\.\.\nStarting 101/);
  assert.match(s.ok(['status', '103']), / down$/m, 'not ONBOOT: left stopped');
  // again: nothing to do, and the running ones are not touched
  assert.deepEqual(JSON.parse(s.ok(['boot', '--json'])).skipped, ['104', '102', '101']);
  s.ok(['start', '103']);
  const down = s.berth(['shutdown', '--timeout', '10', '--json']);
  assert.equal(down.code, 0, down.err);
  assert.match(
    down.err,
    /Stopping 101\.\.\.\n(.|\n)*Stopping 102\.\.\.\n(.|\n)*Stopping 104\.\.\.\n(.|\n)*Stopping 103\.\.\./,
  );
  for (const id of ['101', '102', '103', '104']) assert.match(s.ok(['status', id]), / down$/m);
  // one container that cannot start: the others still do, and the exit code says so
  rmSync(join(s.root, 'var/lib/berth/private/102'), { recursive: true });
  const partial = s.berth(['boot']);
  assert.equal(partial.code, 153, partial.err);
  assert.match(partial.err, /boot: 1 container\(s\) failed: 102 \(start 102: private area .* is missing\)/);
  assert.match(s.ok(['status', '101']), / running$/m);
  assert.match(s.ok(['status', '104']), / running$/m);
  s.ok(['shutdown', '--fast']);
});

test('berth.service and berthd.service pass systemd-analyze verify', {
  skip:
    ROOT_SKIP ||
    (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0 && 'systemd-analyze is not installed'),
}, (t) => {
  for (const name of ['berth', 'berthd']) {
    // verify checks that ExecStart exists: point it at this checkout's berth
    const unit = join(REPO, `etc/${name}.service`);
    const tmp = join('/tmp', `${name}-verify-${process.pid}.service`);
    writeFileSync(tmp, readFileSync(unit, 'utf8').replaceAll('/usr/local/bin/berth', BERTH));
    t.after(() => rmSync(tmp, { force: true }));
    const r = spawnSync('systemd-analyze', ['verify', tmp], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), '', `${name}: no warnings`);
  }
});
