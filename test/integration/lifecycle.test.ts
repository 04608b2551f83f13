// The busybox container end to end through the real CLI: create, start, exec, list, set, stop, destroy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('busybox container: lifecycle, isolation and the vzlist-style listing', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101', '--hostname', 'web1']);
  assert.match(s.ok(['status', '101']), /^CTID 101 exist unmounted down$/m);

  // a host mount made before start must not be visible inside (pivot_root + detach of old root)
  const marker = join(s.root, 'host-only-marker');
  mkdirSync(marker);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'berth-marker', marker]).status, 0);
  try {
    s.ok(['start', '101']);
  } finally {
    spawnSync('umount', [marker]);
    rmdirSync(marker);
  }
  assert.match(s.ok(['status', '101']), /^CTID 101 exist mounted running$/m);

  const ps = s.ok(['exec', '101', '--', 'ps', '-o', 'pid,comm']);
  const rows = ps
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows[0], ['1', 'init'], ps);
  assert.ok(
    rows.every(([pid]) => Number(pid) < 100),
    `only the container's processes:\n${ps}`,
  );
  assert.equal(s.ok(['exec', '101', '--', 'hostname']).trim(), 'web1');
  // (mountinfo's 4th field names the source directory on the host filesystem, as everywhere)
  const mounts = s.ok(['exec', '101', '--', 'cat', '/proc/self/mountinfo']);
  const points = mounts
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '');
  assert.ok(!mounts.includes('berth-marker') && points.every((p) => !p.startsWith(s.root)), mounts);

  // exec streams stdin and returns the command's status
  assert.equal(s.ok(['exec', '101', '--', 'cat'], { input: 'through stdin\n' }), 'through stdin\n');
  assert.equal(s.berth(['exec', '101', '--', 'sh', '-c', 'exit 7']).code, 7);
  const missing = s.berth(['exec', '101', '--', '/no/such']);
  assert.equal(missing.code, 127);
  assert.match(missing.err, /^berth: exec 101 \/no\/such: no such command in the container$/m);

  // list: default columns, -o/-H/-s/--json, -a for stopped ones
  s.ok(['create', '102']);
  assert.match(s.ok(['list']).trim(), /^CTID NPROC STATUS +IP_ADDR HOSTNAME\n 101 +\d+ running -\s+web1$/);
  assert.equal(s.ok(['list', '-H', '-o', 'ctid,status']).trim(), '101 running');
  assert.equal(s.ok(['list', '-a', '-H', '-o', 'ctid', '-s', '-ctid']).trim().split(/\s+/).join(','), '102,101');
  const json = JSON.parse(s.ok(['list', '-a', '--json'])) as Array<Record<string, unknown>>;
  assert.deepEqual(
    json.map((r) => [r['ctid'], r['status'], r['hostname']]),
    [
      ['101', 'running', 'web1'],
      ['102', 'stopped', 'ct102'],
    ],
  );

  // set: live hostname and limits; --save rewrites the config keeping its comments
  s.ok(['set', '101', '--hostname', 'web2', '--numproc', '200', '--save']);
  assert.equal(s.ok(['exec', '101', '--', 'hostname']).trim(), 'web2');
  const conf = readFileSync(join(s.root, 'etc/berth/ct/101.conf'), 'utf8');
  assert.match(conf, /^# Maximum number of processes and threads\nNUMPROC="200"$/m);
  assert.match(conf, /^HOSTNAME="web2"$/m);
  const pidsMax = readFileSync(`/sys/fs/cgroup/pids/${s.cgroupParent}/101/pids.max`, 'utf8').trim();
  assert.equal(pidsMax, '200');

  // suspend / resume
  s.ok(['suspend', '101']);
  assert.match(s.ok(['status', '101']), /suspended/);
  assert.equal(s.berth(['exec', '101', '--', 'true']).code, 31);
  s.ok(['resume', '101']);
  assert.equal(s.berth(['exec', '101', '--', 'true']).code, 0);

  // restart gives a new init; clean stop leaves nothing behind
  s.ok(['restart', '101', '--fast']);
  assert.equal(s.berth(['exec', '101', '--', 'true']).code, 0);
  const stop = s.berth(['stop', '101']);
  assert.equal(stop.code, 0, stop.err);
  assert.ok(!stop.err.includes('did not stop in time'), 'busybox init powered off cleanly');
  assert.match(s.ok(['status', '101']), /^CTID 101 exist unmounted down$/m);
  assert.deepEqual(s.leaks(), []);
  assert.match(readFileSync(join(s.root, 'var/log/berth/101.console.log'), 'utf8'), /web2 is going down/);

  // mount / umount of a stopped container
  s.ok(['mount', '102']);
  assert.ok(existsSync(join(s.root, 'var/lib/berth/root/102/bin/busybox')));
  assert.equal(s.berth(['mount', '102']).code, 41);
  s.ok(['umount', '102']);
  assert.equal(s.berth(['umount', '102']).code, 40);

  // a mark chkpnt left for a carried enter session whose berth enter was killed: destroy takes it
  const carried = join(s.root, 'run/berth/carried');
  mkdirSync(carried, { recursive: true });
  writeFileSync(join(carried, '101.99999'), '1\n');
  writeFileSync(join(carried, '1010.99999'), '1\n');
  s.ok(['destroy', '101']);
  assert.deepEqual(readdirSync(carried), ['1010.99999'], "101's marks only");
  assert.match(s.ok(['status', '101']), /^CTID 101 deleted unmounted down$/m);
  assert.ok(!existsSync(join(s.root, 'var/lib/berth/private/101')));
  assert.ok(!existsSync(join(s.root, 'etc/berth/ct/101.conf')));
});

test('enter: a login shell on a real pty, and a clear refusal without one', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', '201', '--hostname', 'box']);
  s.ok(['start', '201']);
  const noTty = s.berth(['enter', '201']);
  assert.equal(noTty.code, 2);
  assert.match(
    noTty.err,
    /^berth: enter 201: standard input is not a terminal\nberth: hint: for scripts use: berth exec 201 -- COMMAND$/m,
  );
  // util-linux script(1) gives berth a pty; the shell's tty must be the container's own devpts
  const cmd = `bin/berth --root ${s.root} enter 201`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    cwd: new URL('../../../', import.meta.url).pathname,
    input: 'echo "IN=$(hostname) TTY=$(tty)"; exit 3\n',
    encoding: 'utf8',
    timeout: 20_000,
  });
  // the console has a devpts of its own: the shell gets the first pty of /dev/pts
  assert.match(r.stdout, /IN=box TTY=\/dev\/pts\/0\b/, r.stdout + r.stderr);
  assert.equal(r.status, 3);
});
