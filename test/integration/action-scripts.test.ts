// Action scripts (vzctl's vps.ACTION and CTID.ACTION in the config directory): each runs at its
// moment, in vzctl's order, with vzctl's variables and nothing else; start and stop run inside
// the container as its root; a failing premount, mount or start script aborts with 79 and leaves
// nothing running or mounted; a script someone other than root could change is refused.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountOptions, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';

const ACTION_SCRIPT = 79;

/** Writes a script into the sandbox's config directory, root's and 0755 unless told. */
function script(s: Sandbox, name: string, body: string, mode = 0o755): string {
  const path = join(s.root, 'etc/berth/ct', name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

/** A host-side script that logs its name, variables, whether VE_ROOT is mounted, and its environment's size. */
function logging(s: Sandbox, name: string, log: string): void {
  script(
    s,
    name,
    `m=$(grep -c " $VE_ROOT " /proc/self/mountinfo)
echo "${name} VEID=$VEID CONF=$VE_CONFFILE ROOT=$VE_ROOT PRIVATE=$VE_PRIVATE mounted=$m cwd=$(pwd) secret=\${SECRET:-none} nenv=$(env | grep -vc '^PWD=\\|^SHLVL=\\|^_=')" >> ${log}
echo "${name} says hello"`,
  );
}

const lines = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
const names = (log: string) => lines(log).map((l) => l.split(' ')[0]);

test('action scripts run at their moments, in vzctl order, with its variables; start and stop inside', {
  skip: ROOT_SKIP,
  timeout: 180_000,
}, async (t) => {
  const s = sandbox(t);
  const log = join(s.root, 'scripts.log');
  s.ok(['create', 'as1']);
  const conf = join(s.root, 'etc/berth/ct/as1.conf');
  const veRoot = join(s.root, 'var/lib/berth/root/as1');
  const vePrivate = join(s.root, 'var/lib/berth/private/as1');
  for (const a of ['premount', 'mount', 'umount', 'postumount']) {
    logging(s, `vps.${a}`, log);
    logging(s, `as1.${a}`, log);
  }
  // inside: what it sees as its host name, ids and pid 1 shows where it ran
  script(
    s,
    'as1.start',
    'echo "$(hostname) $(cat /proc/self/uid_map | tr -s " ") $$" > /root/start-ran\necho start-out',
  );
  script(s, 'as1.stop', 'echo "stopping $(hostname)"\necho stopped > /root/stop-ran');

  const started = s.berth(['start', 'as1'], { env: { SECRET: 'do-not-leak' } });
  assert.equal(started.code, 0, started.err);
  assert.deepEqual(
    names(log),
    ['vps.premount', 'as1.premount', 'vps.mount', 'as1.mount'],
    'global first on the way up',
  );
  const [premount, , , mount] = lines(log);
  assert.equal(
    premount,
    `vps.premount VEID=as1 CONF=${conf} ROOT=${veRoot} PRIVATE=${vePrivate} mounted=0 cwd=/ secret=none nenv=6`,
    'vzctl variables plus the roots, nothing inherited (HOME PATH VEID VE_CONFFILE VE_ROOT VE_PRIVATE)',
  );
  assert.match(mount ?? '', / mounted=1 /, 'mount scripts run with the root mounted');
  assert.match(started.err, /vps.premount says hello/, 'host script output reaches stderr');
  assert.match(started.err, /start-out/, 'start script output reaches stderr');
  assert.doesNotMatch(started.out, /hello|start-out/, 'stdout stays clean');
  const inside = s.ok(['exec', 'as1', '--', 'cat', '/root/start-ran']).trim().split(/\s+/);
  assert.equal(inside[0], 'as1', "the start script ran in the container's UTS namespace");
  assert.equal(inside[1], '0', 'as its root');
  assert.ok(Number(inside[2]) >= 65536, `in its user namespace (uid 0 is host uid ${inside[2]})`);
  assert.ok(Number(inside[4]) > 1 && Number(inside[4]) < 1000, `in its pid namespace (pid ${inside[4]})`);
  assert.ok(!existsSync('/root/start-ran'), 'not on the host');

  rmSync(log);
  const stopped = s.berth(['stop', 'as1']);
  assert.equal(stopped.code, 0, stopped.err);
  assert.match(stopped.err, /stopping as1/, 'the stop script ran inside, before the stop');
  assert.deepEqual(
    names(log),
    ['as1.umount', 'vps.umount', 'as1.postumount', 'vps.postumount'],
    "the container's own first on the way down",
  );
  assert.match(lines(log)[1] ?? '', / mounted=1 /, 'umount scripts run while mounted');
  assert.match(lines(log)[2] ?? '', / mounted=0 /, 'postumount scripts after');

  // berth mount / umount run the same host-side scripts, start and stop none
  rmSync(log);
  s.ok(['mount', 'as1']);
  assert.equal(readFileSync(join(veRoot, 'root/stop-ran'), 'utf8'), 'stopped\n', 'the stop script wrote inside');
  s.ok(['umount', 'as1']);
  assert.deepEqual(names(log), [
    'vps.premount',
    'as1.premount',
    'vps.mount',
    'as1.mount',
    'as1.umount',
    'vps.umount',
    'as1.postumount',
    'vps.postumount',
  ]);

  // a container that powers itself off: the next command's cleanup runs the umount scripts
  s.ok(['start', 'as1']);
  rmSync(log);
  s.berth(['exec', 'as1', '--', 'poweroff']);
  await waitFor(
    'init to exit',
    () => s.ok(['status', 'as1']).includes('down') || !s.ok(['status', 'as1']).includes('running'),
  );
  s.ok(['start', 'as1']);
  assert.deepEqual(
    names(log).slice(0, 4),
    ['as1.umount', 'vps.umount', 'as1.postumount', 'vps.postumount'],
    'cleanup of the dead one first',
  );
  assert.deepEqual(names(log).slice(4), ['vps.premount', 'as1.premount', 'vps.mount', 'as1.mount']);
  s.ok(['stop', '--fast', 'as1']);

  // destroy keeps the container's own scripts as CTID.ACTION.destroyed (vzctl), never run again
  const gone = s.berth(['destroy', 'as1']);
  assert.equal(gone.code, 0, gone.err);
  assert.match(gone.err, /action scripts kept as .*as1\.start\.destroyed/, 'destroy says what it keeps');
  const dir = join(s.root, 'etc/berth/ct');
  assert.ok(!existsSync(join(dir, 'as1.start')) && existsSync(join(dir, 'as1.start.destroyed')));
  assert.ok(existsSync(join(dir, 'vps.mount')), 'global scripts stay');
});

test('a failing premount, mount or start script aborts with 79 and leaves nothing; stop and umount ones warn', {
  skip: ROOT_SKIP,
  timeout: 180_000,
}, (t) => {
  const s = sandbox(t);
  const log = join(s.root, 'scripts.log');
  s.ok(['create', 'as2']);
  const veRoot = join(s.root, 'var/lib/berth/root/as2');
  const nothingLeft = (what: string) => {
    assert.match(s.ok(['status', 'as2']), /down|stopped/, `${what}: not running`);
    assert.equal(mountOptions(veRoot), null, `${what}: root not mounted`);
    assert.ok(!existsSync(s.layoutPath('memory', 'as2')), `${what}: no cgroup`);
    assert.ok(!existsSync(join(s.root, 'run/berth/as2/state.json')), `${what}: no state`);
  };
  logging(s, 'as2.umount', log);

  // each aborts the start with 79; after a failed start (not a failed mount) the umount scripts run (vzctl)
  const ABORTS = [
    { action: 'premount', umounts: [] },
    { action: 'mount', umounts: [] },
    { action: 'start', umounts: ['as2.umount'] },
  ];
  for (const [i, { action, umounts }] of ABORTS.entries()) {
    const path = script(s, `as2.${action}`, `echo ${action} failing; exit ${i + 3}`);
    const r = s.berth(['start', 'as2']);
    assert.equal(r.code, ACTION_SCRIPT, r.err);
    assert.match(r.err, new RegExp(`berth: ${action} script .*as2\\.${action}: exited with ${i + 3}`));
    nothingLeft(action);
    assert.deepEqual(names(log), umounts, `${action}: which umount scripts ran`);
    if (action !== 'start') {
      assert.equal(s.berth(['mount', 'as2']).code, ACTION_SCRIPT, `${action}: berth mount too`);
      assert.equal(mountOptions(veRoot), null);
    }
    rmSync(path);
    rmSync(log, { force: true });
  }

  // going down, a failure is a warning: the stop or unmount completes
  script(s, 'as2.stop', 'exit 6');
  script(s, 'as2.postumount', 'exit 7');
  s.ok(['start', 'as2']);
  const r = s.berth(['stop', 'as2']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: stop script .*as2\.stop: exited with 6; going on/);
  assert.match(r.err, /warning: postumount script .*: exited with 7; going on/);
  nothingLeft('stop');
});

test('scripts that someone other than root could change are refused', { skip: ROOT_SKIP, timeout: 120_000 }, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'as3']);
  const veRoot = join(s.root, 'var/lib/berth/root/as3');
  const path = script(s, 'as3.premount', 'exit 0', 0o775);
  let r = s.berth(['start', 'as3']);
  assert.equal(r.code, ACTION_SCRIPT, r.err);
  assert.match(r.err, /action script .*as3\.premount: .* is group- or world-writable: refused/);
  assert.match(r.err, /hint: chmod go-w/);
  assert.equal(mountOptions(veRoot), null);

  chmodSync(path, 0o755);
  chownSync(path, 1000, 1000);
  r = s.berth(['start', 'as3']);
  assert.equal(r.code, ACTION_SCRIPT);
  assert.match(r.err, /owned by uid 1000, not root: refused/);
  chownSync(path, 0, 0);

  // an in-container script is read by the host: the same rules (no exec bit needed)
  rmSync(path);
  const start = script(s, 'as3.start', 'exit 0', 0o646);
  r = s.berth(['start', 'as3']);
  assert.equal(r.code, ACTION_SCRIPT, r.err);
  assert.match(r.err, /as3\.start: .*world-writable: refused/);
  assert.match(s.ok(['status', 'as3']), /down|stopped/);
  chmodSync(start, 0o644);
  s.ok(['start', 'as3']);
  s.ok(['stop', '--fast', 'as3']);
});
