// Issue 17's second target: a debian-12 container with systemd migrates online ROUNDS times
// (default 20) between the two hosts of the migration tests, there and back, with a TCP session
// to a service systemd runs; each round counts only if `systemctl is-system-running` answers
// "running" on the destination and the session answers there. Prints each round and a JSON
// summary (successes, the client's gaps, migrate times). Needs root, CRIU and the debian-12
// template (built once into /var/cache/berth-test, as the tests do).
import { DEBIAN_SKIP, useDebian } from '../test/integration/debian-cache.ts';
import { systemdGuest } from '../test/integration/systemd-guest.ts';
import { type Cleanups, clientNet, echoSession, twoHosts } from '../test/integration/two-hosts.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 20);

if (process.getuid?.() !== 0) throw new Error('run as root');
if (DEBIAN_SKIP) throw new Error(DEBIAN_SKIP);
const todo: Array<() => unknown> = [];
const c: Cleanups = { after: (fn) => todo.unshift(fn) };

try {
  const h = await twoHosts(c, { both: true, debian: useDebian });
  const route = clientNet(c);
  const ip = '10.251.9.70';
  await systemdGuest(h, '370', ip);
  route('a', ip);
  const s = echoSession(c, ip);
  if (!(await s.answers())) throw new Error('no echo on A');
  s.gap();
  const gaps: number[] = [];
  const times: number[] = [];
  let ok = 0;
  let at: 'a' | 'b' = 'a';
  for (let i = 0; i < ROUNDS; i++) {
    const to: 'a' | 'b' = at === 'a' ? 'b' : 'a';
    const r = await h.migrate(at, ['370', to, '--online']);
    if (r.code !== 0) {
      console.log(`round ${i}: ${at} -> ${to}: migrate failed (${r.code}): ${r.err.trim()}`);
      break; // where it is now is unclear: the next round would measure nothing
    }
    route(to, ip);
    const answers = await s.answers();
    const gap = s.gap();
    const dest = to === 'a' ? h.a : h.b;
    const state = dest.berth(['exec', '370', '--', 'systemctl', 'is-system-running']).out.trim();
    const good = answers && state === 'running';
    if (good) ok++;
    gaps.push(gap);
    times.push(r.ms);
    console.log(
      `round ${i}: ${at} -> ${to}: ${good ? 'ok' : 'FAILED'}: systemd ${state}, session ${answers ? 'kept' : 'lost'}, longest gap ${gap} ms, migrate ${r.ms} ms`,
    );
    at = to;
    if (!answers) break;
  }
  s.close();
  console.log(
    JSON.stringify({
      name: 'online-migration-systemd',
      rounds: ROUNDS,
      ok,
      gap_p50_ms: median(gaps),
      gap_max_ms: Math.max(...gaps),
      migrate_p50_ms: median(times),
    }),
  );
} finally {
  for (const fn of todo) await fn();
}
