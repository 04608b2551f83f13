// Unprivileged by default: each container in its own user namespace with an id range of its
// own, files on disk as a privileged container's, VE_ROOT an idmapped view; --privileged yes
// opts out (and list warns about it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, ROOT_SKIP, sandbox } from './harness.ts';

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const conf = (root: string, id: string) => readFileSync(join(root, 'etc/berth/ct', `${id}.conf`), 'utf8');
const baseOf = (root: string, id: string) => Number(/^ID_BASE="(\d+)"$/m.exec(conf(root, id))?.[1]);

test('unprivileged by default: own id range, root inside is not root outside, files stay 0-based', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  // two creates at once take different ranges
  const both = ['u1', 'u2'].map(
    (id) =>
      new Promise<number>((done) =>
        spawn(BERTH, ['--root', s.root, 'create', id, '--layout', id === 'u1' ? 'overlay' : 'dir'], {
          stdio: 'ignore',
        }).on('exit', (code) => done(code ?? 1)),
      ),
  );
  assert.deepEqual(await Promise.all(both), [0, 0]);
  const [b1, b2] = [baseOf(s.root, 'u1'), baseOf(s.root, 'u2')];
  assert.ok(b1 >= 1048576 && b2 >= 1048576, `ranges from 1048576: ${b1} ${b2}`);
  assert.ok(Math.abs(b1 - b2) >= 65536, `ranges overlap: ${b1} ${b2}`);
  s.ok(['create', 'p1', '--privileged', 'yes']);
  assert.doesNotMatch(conf(s.root, 'p1'), /ID_BASE/);
  const bad = s.berth(['create', 'p2', '--privileged', 'maybe']);
  assert.equal(bad.code, 21);
  assert.match(bad.err, /invalid value for privileged/);

  for (const id of ['u1', 'u2', 'p1']) s.ok(['start', id]);
  const pid = (id: string) => JSON.parse(s.ok(['status', id, '--json'])).pid as number;
  assert.equal(uidOf(pid('u1')), b1, "u1's init runs as its ID_BASE on the host");
  assert.equal(uidOf(pid('u2')), b2);
  assert.equal(uidOf(pid('p1')), 0, 'a privileged init is root on the host');
  for (const id of ['u1', 'u2']) {
    assert.equal(s.ok(['exec', id, '--', 'id', '-u']).trim(), '0', 'root inside');
    assert.match(
      s.ok(['exec', id, '--', 'cat', '/proc/self/uid_map']),
      new RegExp(`^\\s*0\\s+${baseOf(s.root, id)}\\s+65536`),
    );
    // a file made inside: 0-based on disk, the range on the host's VE_ROOT view
    s.ok(['exec', id, '--', 'sh', '-c', 'echo x > /root/mine && chown 33:33 /root/mine']);
    const onDisk = id === 'u1' ? 'var/lib/berth/private/u1/upper/root/mine' : 'var/lib/berth/private/u2/root/mine';
    assert.equal(statSync(join(s.root, onDisk)).uid, 33, `${id}: on-disk owner`);
    assert.equal(statSync(join(s.root, 'var/lib/berth/root', id, 'root/mine')).uid, baseOf(s.root, id) + 33);
  }
  // what a privileged container's root could do to the host is refused: host sysctls (put
  // back should the refusal ever fail, so the host is left as it was)
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
  t.after(() => {
    if (readFileSync('/proc/sys/kernel/core_pattern', 'utf8') !== pattern)
      writeFileSync('/proc/sys/kernel/core_pattern', pattern);
  });
  const sysctl = s.berth([
    'exec',
    'u1',
    '--',
    'sh',
    '-c',
    'mount -o remount,rw /proc/sys; echo "|/bin/true" > /proc/sys/kernel/core_pattern',
  ]);
  assert.notEqual(sysctl.code, 0, 'core_pattern written from an unprivileged container');
  assert.doesNotMatch(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), /bin\/true/);

  // list tells them apart and warns about the privileged one
  const l = s.berth(['list', '-o', 'ctid,privileged,id_base', '-H']);
  assert.match(l.out, /u1\s+no\s+\d+/);
  assert.match(l.out, /p1\s+yes\s+-/);
  assert.match(l.err, /warning: privileged \(root inside is root on the host\): p1/);
  // a clone gets a range of its own; its files needed no change
  s.ok(['stop', 'u2']);
  s.ok(['clone', 'u2', 'u3']);
  const b3 = baseOf(s.root, 'u3');
  assert.ok(b3 !== b2 && b3 !== b1, `clone's range ${b3}`);
  s.ok(['start', 'u3']);
  assert.equal(s.ok(['exec', 'u3', '--', 'stat', '-c', '%u', '/root/mine']).trim(), '33');
  // a stopped container switches between privileged and not; its files stay as they are
  assert.equal(s.berth(['set', 'u1', '--privileged', 'yes', '--save']).code, 32, 'only when stopped');
  s.ok(['stop', 'u1']);
  assert.equal(s.berth(['set', 'u1', '--privileged', 'yes']).code, 20, 'needs --save');
  s.ok(['set', 'u1', '--privileged', 'yes', '--save']);
  assert.doesNotMatch(conf(s.root, 'u1'), /ID_BASE/);
  s.ok(['start', 'u1']);
  assert.equal(uidOf(pid('u1')), 0);
  assert.equal(s.ok(['exec', 'u1', '--', 'stat', '-c', '%u', '/root/mine']).trim(), '33');
  s.ok(['stop', 'u1']);
  s.ok(['set', 'u1', '--privileged', 'no', '--save']);
  s.ok(['start', 'u1']);
  assert.equal(uidOf(pid('u1')), baseOf(s.root, 'u1'));
  assert.equal(s.ok(['exec', 'u1', '--', 'stat', '-c', '%u', '/root/mine']).trim(), '33');
  // destroying frees the range: the next create takes the lowest free one again
  s.ok(['stop', 'u3']);
  s.ok(['destroy', 'u3']);
  s.ok(['create', 'u4']);
  assert.equal(baseOf(s.root, 'u4'), b3);
});
