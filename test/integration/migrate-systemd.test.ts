// A debian-12 container with systemd as init migrates online between the two hosts of the
// migration tests, there and back (issue 17's second target: bench/migrate-systemd.bench.ts
// runs the same 20 times): systemd answers "running" on each destination, a TCP session to a
// service systemd runs survives every move, and systemd still manages its units after.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { DEBIAN_SKIP, useDebian } from './debian-cache.ts';
import { NO_CRIU, ROOT_SKIP } from './harness.ts';
import { systemdGuest, systemdWhole } from './systemd-guest.ts';
import { BUSYBOX, clientNet, echoSession, twoHosts, where } from './two-hosts.ts';

const skip =
  ROOT_SKIP ||
  NO_CRIU ||
  DEBIAN_SKIP ||
  (!BUSYBOX && 'needs busybox on the host (the echo service and the client)') ||
  (!existsSync('/proc/self/ns/time') && 'needs time namespaces');

test('a systemd container migrates online there and back: running, its TCP session kept', {
  skip,
  timeout: 900_000,
}, async (t) => {
  const h = await twoHosts(t, { both: true, debian: useDebian });
  const route = clientNet(t);
  const ip = '10.251.9.60';
  await systemdGuest(h, '360', ip);
  route('a', ip);
  const s = echoSession(t, ip);
  assert.ok(await s.answers(), 'the session answers on A');
  s.gap();
  for (const [from, to] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    const r = await h.migrate(from, ['360', to, '--online', '--json']);
    assert.equal(r.code, 0, r.err);
    route(to, ip);
    assert.ok(await s.answers(), `the session answers on ${to}`);
    const res = JSON.parse(r.out) as { stepMs: Record<string, number> };
    t.diagnostic(
      `${from} -> ${to}: client's longest gap ${s.gap()} ms, migrate ${r.ms} ms, ${JSON.stringify(res.stepMs)}`,
    );
    const dest = to === 'a' ? h.a : h.b;
    assert.deepEqual(where(dest, '360'), { exists: true, running: true, migrating: null });
    assert.equal(where(from === 'a' ? h.a : h.b, '360').exists, false);
    systemdWhole(dest, '360');
  }
  // systemd still manages units: a restart makes a new process in a new cgroup
  assert.equal(h.a.berth(['exec', '360', '--', 'systemctl', 'restart', 'systemd-logind']).code, 0);
  assert.equal(h.a.berth(['exec', '360', '--', 'systemctl', 'is-active', 'systemd-logind']).out.trim(), 'active');
  s.close();
  // a clean shutdown through systemd, as after a start
  h.a.ok(['stop', '360']);
});
