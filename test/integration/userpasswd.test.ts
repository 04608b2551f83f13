// set --userpasswd USER:PASSWORD: hashed inside the container by its own tools, the user made
// when missing, the password in no config, output or argv; refusals change nothing, and a
// failure takes back the other changes of the same set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

/** crypt(3) on the host (perl is essential on Debian): does HASH hold PASSWORD? */
function matches(password: string, hash: string): boolean {
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "yes" : "no"', password, hash], {
    encoding: 'utf8',
  });
  return r.stdout === 'yes';
}

test('set --userpasswd: users made, passwords hashed inside, nothing leaks, failures undo the set', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'pw']);
  s.ok(['start', 'pw']);
  const secret = 's3cr:et pass';
  const r = s.berth(['set', 'pw', '--userpasswd', `alice:${secret}`, '--userpasswd', 'root:r00t-pw']);
  assert.equal(r.code, 0, r.err);
  assert.ok(!(r.out + r.err).includes(secret), 'the password is not printed');
  const shadow = (user: string) =>
    s
      .ok(['exec', 'pw', '--', 'cat', '/etc/shadow'])
      .split('\n')
      .find((l) => l.startsWith(`${user}:`))
      ?.split(':')[1] ?? '';
  assert.match(shadow('alice'), /^\$6\$/, 'a sha512 hash, made inside');
  assert.ok(matches(secret, shadow('alice')), 'the hash holds the password (split at the first colon only)');
  assert.ok(matches('r00t-pw', shadow('root')), "root's too");
  assert.match(s.ok(['exec', 'pw', '--', 'grep', '^alice:', '/etc/passwd']), /^alice:x:\d+:\d+::\/home\/alice:/);
  assert.match(s.ok(['exec', 'pw', '--', 'ls', '-ld', '/home/alice']), / alice +alice /);
  for (const f of [join(s.root, 'etc/berth/ct/pw.conf'), join(s.root, 'var/log/berth/pw.console.log')]) {
    assert.ok(!readFileSync(f, 'utf8').includes(secret), `not in ${f}`);
  }

  // refused before anything: a bad user name, an empty password, a stopped container
  const bad = s.berth(['set', 'pw', '--userpasswd', 'Bad User:x', '--cpus', '1']);
  assert.equal(bad.code, 21, bad.err);
  assert.equal(s.berth(['set', 'pw', '--userpasswd', 'bob:']).code, 21);
  assert.match(s.ok(['exec', 'pw', '--', 'cat', '/etc/passwd']), /^(?!.*bob)/s);

  // the container's tools fail: the limit set with it is put back, exit 74
  const ram = () => s.ok(['exec', 'pw', '--', 'cat', '/proc/meminfo']).match(/MemTotal:\s+(\d+)/)?.[1];
  const before = ram();
  // (busybox sh runs its applets without links: break the file they write instead)
  s.ok(['exec', 'pw', '--', 'sh', '-c', 'rm /etc/shadow && mkdir /etc/shadow']);
  const failed = s.berth(['set', 'pw', '--ram', '96M', '--userpasswd', 'carol:pw']);
  assert.equal(failed.code, 74, failed.err);
  assert.match(failed.err, /^berth: set pw --userpasswd carol: /m);
  assert.equal(ram(), before, 'the RAM limit set with it was taken back');

  s.ok(['stop', '--fast', 'pw']);
  const stopped = s.berth(['set', 'pw', '--userpasswd', 'root:x']);
  assert.equal(stopped.code, 31, stopped.err);
  assert.match(stopped.err, /needs the container running\nberth: hint: berth start pw/);
});
