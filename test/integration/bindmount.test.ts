// BINDMOUNT (set --bindmount_add/--bindmount_del): host paths inside unprivileged and
// privileged containers, ids as on disk (idmapped for an unprivileged one), read-only locked,
// always nosuid,nodev; berth's own trees refused; no stage left mounted on the host.
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('bindmount: host paths inside, ids as on disk, read-only locked, berth trees refused', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  const host = mkdtempSync(join(tmpdir(), 'berth-it-bind-'));
  t.after(() => rmSync(host, { recursive: true, force: true }));
  const rw = join(host, 'rw');
  const ro = join(host, 'ro');
  mkdirSync(rw, { mode: 0o700 });
  mkdirSync(ro);
  writeFileSync(join(rw, 'root-file'), 'r\n');
  writeFileSync(join(rw, 'user-file'), 'u\n');
  chownSync(join(rw, 'user-file'), 1000, 1000);
  writeFileSync(join(ro, 'f'), 'ro\n');
  for (const [ct, extra] of [
    ['bu', []],
    ['bp', ['--privileged', 'yes']],
  ] as Array<[string, string[]]>) {
    s.ok(['create', ct, ...extra]);
    s.ok(['set', ct, '--bindmount_add', `${rw}:/data`, '--bindmount_add', `${ro}:/mnt/ro,ro`, '--save']);
    s.ok(['start', ct]);
    // the ids on disk, inside: host root's file is the container root's, uid 1000 is 1000
    const ls = s.ok(['exec', ct, '--', 'ls', '-ln', '/data']);
    assert.match(ls, / 0 +0 +2 .* root-file$/m, ls);
    assert.match(ls, / 1000 +1000 +2 .* user-file$/m, ls);
    s.ok(['exec', ct, '--', 'sh', '-c', `echo ${ct} > /data/from-${ct}`]);
    const made = statSync(join(rw, `from-${ct}`));
    assert.equal(`${made.uid}:${made.gid}`, '0:0', "what the container's root makes is on-disk 0");
    assert.equal(readFileSync(join(rw, `from-${ct}`), 'utf8'), `${ct}\n`);
    // read-only, and it stays so: the container's root cannot remount it
    const mounts = s.ok(['exec', ct, '--', 'cat', '/proc/mounts']);
    assert.match(mounts, / \/mnt\/ro \S+ ro,nosuid,nodev/);
    assert.match(mounts, / \/data \S+ rw,nosuid,nodev/);
    // unprivileged, it stays read-only: its root cannot remount it (a privileged container's
    // root is the host's root, which can)
    const remount = ct === 'bu' ? 'mount -o remount,rw /mnt/ro; ' : '';
    s.berth(['exec', ct, '--', 'sh', '-c', `${remount}touch /mnt/ro/x; echo w > /mnt/ro/f`]);
    assert.equal(readFileSync(join(ro, 'f'), 'utf8'), 'ro\n', `${ct}: the read-only bind was written through`);
    assert.throws(() => statSync(join(ro, 'x')), /ENOENT/, `${ct}: a file appeared behind a read-only bind`);
    s.ok(['stop', '--fast', ct]);
  }
  // no stage of the idmapped copies stays mounted on the host
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`${s.root}/run/berth/bu/bind`));
  // berth's own trees, kernel trees inside, paths that are not there
  for (const spec of [
    `${join(s.root, 'var/lib/berth/private')}:/x`,
    `${s.root}:/x`,
    `${join(host, 'missing')}:/x`,
    `${rw}:/proc/x`,
    `${rw}:/dev`,
    'relative:/x',
    `${rw}:/a/../b`,
  ]) {
    const r = s.berth(['set', 'bu', '--bindmount_add', spec, '--save']);
    assert.equal(r.code, 21, `${spec}: ${r.err}`);
  }
  assert.equal(s.berth(['set', 'bu', '--bindmount_add', `${rw}:/data2`]).code, 20, 'needs --save');
  s.ok(['set', 'bu', '--bindmount_del', 'all', '--save']);
  assert.doesNotMatch(readFileSync(join(s.root, 'etc/berth/ct/bu.conf'), 'utf8'), /BINDMOUNT="[^"]/);
});
