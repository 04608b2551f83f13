// A debian-12 container boots systemd to "running" with its own machine-id and stops cleanly (the
// slower, full-distro group).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { booted, DEBIAN_SKIP, debianInNetns } from './debian-cache.ts';
import { LXCFS, waitFor } from './harness.ts';

const NS = `berth-it-deb-${process.pid}`;

test('debian-12 boots systemd to running, keeps its routed address through a networkd restart, stops cleanly', {
  skip: DEBIAN_SKIP,
  timeout: 300_000,
}, async (t) => {
  // berth runs in a network namespace that plays the host: the container gets a routed address
  const s = debianInNetns(t, NS);
  s.ok(['create', '500', '--ostemplate', 'debian-12', '--hostname', 'deb-test']);
  s.ok(['set', '500', '--ipadd', '10.61.0.2', '--ipadd', 'fd00:61::2', '--save']);
  s.ok(['set', '500', '--ram', '256M', '--swap', '0', '--cpus', '1', '--save']);
  s.ok(['start', '500']);
  assert.equal(s.ok(['exec', '500', '--', 'cat', '/proc/1/comm']).trim(), 'systemd');
  const state = await booted(s, '500');
  const failed = s.berth(['exec', '500', '--', 'systemctl', '--failed', '--no-legend', '--plain']).out.trim();
  assert.equal(state, 'running', `systemd is ${state}; failed units:\n${failed}`);
  assert.equal(s.ok(['exec', '500', '--', 'hostname']).trim(), 'deb-test');
  // unprivileged (the default): root inside is the container's ID_BASE on the host
  const initPid = JSON.parse(s.ok(['status', '500', '--json'])).pid as number;
  assert.notEqual(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${initPid}/status`, 'utf8'))?.[1]), 0);
  // its own figures (lxcfs, and --cpus as a cpuset): free, nproc, uptime
  if (LXCFS) {
    assert.match(s.ok(['exec', '500', '--', 'free', '-m']), /^Mem:\s+256\s/m);
    assert.match(s.ok(['exec', '500', '--', 'free', '-m']), /^Swap:\s+0\s/m);
    const up = Number(s.ok(['exec', '500', '--', 'cat', '/proc/uptime']).split(' ')[0]);
    assert.ok(up < 300, `the container's uptime, not the host's: ${up}`);
    assert.match(s.ok(['exec', '500', '--', 'uptime']), /up (0 min|\d+ min)/);
  } else t.diagnostic('lxcfs is not installed: /proc figures not checked');
  assert.equal(s.ok(['exec', '500', '--', 'nproc']).trim(), '1');
  assert.equal(s.ok(['exec', '500', '--', 'cat', '/etc/hostname']).trim(), 'deb-test');
  // its own machine-id, the one systemd and D-Bus both use (the template carries none)
  const mid = s.ok(['exec', '500', '--', 'cat', '/etc/machine-id']);
  assert.match(mid, /^[0-9a-f]{32}\n$/);
  assert.equal(s.ok(['exec', '500', '--', 'systemd-id128', 'machine-id']), mid);
  assert.equal(s.ok(['exec', '500', '--', 'cat', '/var/lib/dbus/machine-id']), mid);
  // the distro's network manager knows berth's interface: restarting it keeps the address
  s.ok(['exec', '500', '--', 'systemctl', 'restart', 'systemd-networkd']);
  await waitFor('networkd to configure venet0', () =>
    /configured/.test(s.berth(['exec', '500', '--', 'networkctl', 'status', 'venet0']).out),
  );
  const addrs = s.ok(['exec', '500', '--', 'ip', 'addr', 'show', 'venet0']);
  assert.match(addrs, /inet 10\.61\.0\.2\/32/);
  assert.match(addrs, /inet6 fd00:61::2\/128/);
  assert.match(s.ok(['exec', '500', '--', 'ip', 'route']), /default via 169\.254\.0\.1 dev venet0/);
  const started = Date.now();
  const stop = s.berth(['stop', '500']);
  assert.equal(stop.code, 0, stop.err);
  assert.ok(!stop.err.includes('did not stop in time'), `systemd did not power off by itself:\n${stop.err}`);
  t.diagnostic(`clean systemd stop took ${Date.now() - started} ms`);
  assert.match(s.ok(['status', '500']), / down$/m);
  // a clone is another machine: written before its init runs, so no boot to wait for
  s.ok(['clone', '500', '501']);
  s.ok(['start', '501']);
  const cloneMid = s.ok(['exec', '501', '--', 'systemd-id128', 'machine-id']);
  assert.match(cloneMid, /^[0-9a-f]{32}\n$/);
  assert.notEqual(cloneMid, mid);
  assert.equal(s.ok(['exec', '501', '--', 'cat', '/var/lib/dbus/machine-id']), cloneMid);
  s.ok(['stop', '--fast', '501']);
  assert.deepEqual(s.leaks(), []);
});
