// berth migrate between two hosts on one machine: two network namespaces made here (joined by
// a veth pair, 10.251.0.0/24, nothing else: the real host's network is never touched), each
// with its own berth root; berthd B serves HTTPS inside netns B, the source CLI runs inside
// netns A and drives it as a remote. A running container with a routed address moves and runs
// on B with its files, a stopped one stays stopped, a CTID B has is refused, and SIGKILLs of
// the migration at each phase end, after `berth migrate` again, with the container on B only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { formatLock } from '../../src/core/lock-record.ts';
import { BERTH, NO_CRIU, ptySession, ROOT_SKIP, type Sandbox, waitFor } from './harness.ts';
import {
  ADDR_B,
  BUSYBOX,
  clientNet,
  echoSession,
  type Hosts,
  must,
  NA,
  NB,
  onlineBusybox,
  twoHosts,
  where,
} from './two-hosts.ts';
import { wsConnect } from './ws-client.ts';

const skip =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

/** A lock record naming this test process, alive (host/lock.ts judges it so). */
function liveLockRecord(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return formatLock({
    pid: process.pid,
    startTime,
    bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidNs: readlinkSync('/proc/self/ns/pid'),
    what: 'the migrate test',
  });
}

const uploads = (h: Hosts) => {
  const dir = join(h.b.root, 'var/lib/berth/backup');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('migrate-')) : [];
};

const journalOf = (h: Hosts, id: string) => join(h.a.root, 'var/lib/berth/migrate', `${id}.json`);

function phaseOf(h: Hosts, id: string): string | null {
  try {
    return (JSON.parse(readFileSync(journalOf(h, id), 'utf8')) as { phase: string }).phase;
  } catch {
    return null;
  }
}

/** Starts a migration and SIGKILLs it once its journal says PHASE (plus delayMs). */
async function killAtPhase(h: Hosts, id: string, phase: string, delayMs = 0, more: string[] = []): Promise<string> {
  const child = h.spawnMigrate([id, 'b', ...more]);
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  // a tight poll: the steps after the stop take tens of milliseconds each
  const end = Date.now() + 60_000;
  while (phaseOf(h, id) !== phase && child.exitCode === null && Date.now() < end)
    await new Promise((r) => setTimeout(r, 1));
  const seen = child.exitCode === null ? phaseOf(h, id) : 'the end';
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
  return `${seen}${delayMs ? ` + ${delayMs} ms` : ''}: ${err}`;
}

function busybox(h: Hosts, id: string, ip: string | null, run: boolean): void {
  h.a.ok(['create', id, '--ostemplate', 'busybox']);
  if (ip) h.a.ok(['set', id, '--ipadd', ip, '--save']);
  if (!run) return;
  h.a.ok(['start', id]);
  h.a.ok(['exec', id, '--', 'sh', '-c', `echo moved-${id} > /root/marker`]);
}

test('berth migrate moves containers between two berthd hosts, crash-safe', { skip, timeout: 900_000 }, async (t) => {
  const h = await twoHosts(t);

  await t.test('a running container with a routed address runs on B only, its files with it', () => {
    busybox(h, '301', '10.251.9.10', true);
    const t0 = Date.now();
    const r = h.a.berth(['migrate', '301', 'b', '--json'], { env: h.env });
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { running: boolean; resumed: boolean; stepMs: Record<string, number> };
    assert.equal(res.running, true);
    assert.equal(res.resumed, false);
    assert.match(
      r.err,
      /Stopping 301 here\.\.\.[\s\S]*Uploading 301 to b[\s\S]*Restoring 301 on b[\s\S]*Starting 301 on b/,
    );
    t.diagnostic(`migration of a running busybox container: ${ms} ms, steps ${JSON.stringify(res.stepMs)}`);
    assert.deepEqual(where(h.b, '301'), { exists: true, running: true, migrating: null });
    assert.equal(where(h.a, '301').exists, false);
    assert.equal(h.b.ok(['exec', '301', '--', 'cat', '/root/marker']).trim(), 'moved-301');
    // the address moved: B routes it and proxies it on its uplink, A does neither
    assert.match(h.b.ok(['exec', '301', '--', 'ip', 'addr', 'show', 'venet0']), /inet 10\.251\.9\.10\/32/);
    assert.match(must(NB, ['ip', 'neigh', 'show', 'proxy']), /10\.251\.9\.10 dev mig0/);
    assert.doesNotMatch(must(NA, ['ip', 'neigh', 'show', 'proxy']), /10\.251\.9\.10/);
    assert.doesNotMatch(must(NA, ['ip', 'route']), /10\.251\.9\.10/);
    must(NA, ['ip', 'route', 'add', '10.251.9.10/32', 'via', ADDR_B]);
    must(NA, ['busybox', 'ping', '-c1', '-W2', '10.251.9.10']);
    assert.equal(existsSync(journalOf(h, '301')), false, 'the journal is gone');
    assert.deepEqual(uploads(h), [], "B's backup store keeps no migration archive");
    assert.deepEqual(
      JSON.parse(h.onA(['-r', 'b', 'list', '--json']).out).map((c: { ctid: string }) => c.ctid),
      ['301'],
    );
  });

  await t.test('a stopped container stays stopped', () => {
    busybox(h, '302', null, false);
    const r = h.onA(['migrate', '302', 'b']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /migrated to b \(stopped\)/);
    assert.deepEqual(where(h.b, '302'), { exists: true, running: false, migrating: null });
    assert.equal(where(h.a, '302').exists, false);
  });

  await t.test('a CTID that B has is refused, nothing changed', () => {
    busybox(h, '303', null, true);
    h.b.ok(['create', '303', '--ostemplate', 'busybox']);
    const r = h.onA(['migrate', '303', 'b']);
    assert.equal(r.code, 44, r.err);
    assert.match(r.err, /b has a container 303 already/);
    assert.match(r.err, /nothing was changed/);
    assert.deepEqual(where(h.a, '303'), { exists: true, running: true, migrating: null });
    assert.equal(existsSync(journalOf(h, '303')), false);
    const unknown = h.onA(['migrate', '303', 'nosuch']);
    assert.equal(unknown.code, 21, unknown.err);
    // a remote that does not answer (b's certificate, a port nobody listens on)
    const file = join(h.env['XDG_CONFIG_HOME'] ?? '', 'berth/remotes.json');
    const remotes = JSON.parse(readFileSync(file, 'utf8')) as { remotes: Record<string, { url: string }> };
    const b = remotes.remotes['b'] as { url: string };
    remotes.remotes['dead'] = { ...b, url: `https://${ADDR_B}:1` };
    writeFileSync(file, JSON.stringify(remotes));
    const dead = h.onA(['migrate', '303', 'dead']);
    assert.equal(dead.code, 3, dead.err);
    assert.match(dead.err, /remote dead: .*ECONNREFUSED/);
    assert.match(dead.err, /is berth daemon --listen running there/);
    assert.deepEqual(where(h.a, '303'), { exists: true, running: true, migrating: null });
    h.a.ok(['stop', '--fast', '303']);
    h.b.ok(['destroy', '303']);
  });

  // each kill point: the next start on A refuses naming the migration, and migrate again
  // finishes with the container running on B only
  // (a negative delay: killed at the phase, then A's destroy of it made as if killed after its
  // rename, the narrowest window of the last step, which the next command's recovery completes)
  const points: Array<[string, string, number]> = [
    ['304', 'begun', 0],
    ['311', 'begun', 1000], // during the stop
    ['305', 'stopped', 0], // during the backup
    ['312', 'stopped', 30], // during the upload or the restore
    ['306', 'uploaded', 0],
    ['307', 'restored', 0],
    ['308', 'started', 0],
    ['314', 'started', -1],
  ];
  for (const [id, phase, delay] of points) {
    const when = delay > 0 ? ` + ${delay} ms` : delay < 0 ? ', its destroy here half done' : '';
    await t.test(`SIGKILL at phase ${phase}${when}, then migrate again`, async () => {
      busybox(h, id, null, true);
      t.diagnostic(`killed at ${await killAtPhase(h, id, phase, Math.max(delay, 0))}`);
      const priv = join(h.a.root, 'var/lib/berth/private', id);
      if (delay < 0 && existsSync(priv)) renameSync(priv, `${priv}.destroying`);
      const here = where(h.a, id);
      const there = h.b.berth(['status', id, '--json']);
      const onB = JSON.parse(there.out) as { exist: boolean; status: string };
      assert.ok(!(here.running && onB.status === 'running'), 'never running on both');
      if (existsSync(journalOf(h, id))) {
        assert.match(here.migrating ?? '', /^b:/);
        assert.equal(statSync(journalOf(h, id)).mode & 0o777, 0o600);
        assert.equal(statSync(dirname(journalOf(h, id))).mode & 0o777, 0o700);
        // (killed in the last step, the container may be gone here already, the journal not)
        if (here.exists)
          assert.match(h.a.ok(['list', '-a', '-o', 'ctid,migrating', id]), new RegExp(`${id}\\s+b:\\w+`));
        const start = h.a.berth(['start', id]);
        assert.equal(start.code, 9, start.err);
        assert.match(start.err, new RegExp(`start ${id}: the container is being migrated to b \\(phase \\w+`));
        assert.match(start.err, new RegExp(`hint: berth migrate ${id} b finishes it; berth migrate --abort ${id}`));
        for (const verb of [
          ['set', id, '--hostname', 'x'],
          ['destroy', id],
          ['backup', id],
          ['snapshot', id],
        ]) {
          assert.equal(h.a.berth(verb).code, 9, verb.join(' '));
        }
        const again = h.onA(['migrate', id, 'b', '--json']);
        assert.equal(again.code, 0, again.err);
        assert.match(again.err, new RegExp(`Resuming the migration of ${id} to b`));
        assert.equal((JSON.parse(again.out) as { resumed: boolean }).resumed, true);
      }
      assert.equal(where(h.a, id).exists, false, 'gone from A');
      assert.deepEqual(where(h.b, id), { exists: true, running: true, migrating: null });
      assert.equal(h.b.ok(['exec', id, '--', 'cat', '/root/marker']).trim(), `moved-${id}`);
      assert.equal(existsSync(journalOf(h, id)), false);
      assert.deepEqual(uploads(h), []);
      h.b.ok(['stop', '--fast', id]);
      h.b.ok(['destroy', id]);
    });
  }

  await t.test('a step that fails keeps the journal and says so; migrate again finishes', () => {
    busybox(h, '313', null, true);
    h.a.ok(['set', '313', '--bindmount_add', '/usr/share:/mnt/share,ro', '--save']);
    // B's restore meets 313's lock held by a live process (this test): it fails with LOCKED
    const lock = join(h.b.root, 'var/lib/berth/lock/313.lck');
    mkdirSync(dirname(lock), { recursive: true });
    symlinkSync(liveLockRecord(), lock);
    const r = h.onA(['migrate', '313', 'b']);
    assert.equal(r.code, 9, r.err);
    assert.match(r.err, /warning: 313 on b will lack BINDMOUNT/);
    assert.match(r.err, /migrate 313 to b: restore failed: .*\(the migration is journalled, phase uploaded\)/);
    assert.match(r.err, /hint: berth migrate 313 b resumes it; berth migrate --abort 313 gives it back/);
    assert.deepEqual(where(h.a, '313'), { exists: true, running: false, migrating: 'b:uploaded' });
    assert.equal(h.b.berth(['status', '313', '--json']).out.includes('"exist":false'), true);
    unlinkSync(lock);
    const again = h.onA(['migrate', '313', 'b']);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(where(h.b, '313'), { exists: true, running: true, migrating: null });
    assert.equal(where(h.a, '313').exists, false);
    assert.deepEqual(uploads(h), []);
  });

  await t.test('--abort before B has it: the container runs on A again', async () => {
    busybox(h, '309', null, true);
    assert.match(await killAtPhase(h, '309', 'stopped'), /^stopped: /);
    assert.equal(where(h.a, '309').running, false);
    const r = h.onA(['migrate', '--abort', '309']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /aborted: 309 is here and running/);
    assert.deepEqual(where(h.a, '309'), { exists: true, running: true, migrating: null });
    assert.equal(h.a.ok(['exec', '309', '--', 'cat', '/root/marker']).trim(), 'moved-309');
    assert.equal(h.b.berth(['status', '309', '--json']).out.includes('"exist":false'), true);
    const onB = JSON.parse(h.onA(['-r', 'b', 'list', '-a', '--json']).out) as Array<{ ctid: string }>;
    assert.equal(onB.map((c) => c.ctid).includes('309'), false, 'B has no 309');
    assert.deepEqual(uploads(h), [], 'the uploaded archive (if any) was removed');
    assert.equal(h.onA(['migrate', '--abort', '309']).code, 21, 'nothing to abort');
  });

  await t.test('--abort once B has it is refused: destroy it there first', async () => {
    busybox(h, '310', null, true);
    t.diagnostic(`killed at ${await killAtPhase(h, '310', 'restored')}`);
    if (!existsSync(journalOf(h, '310'))) return; // the run got to its end before the kill
    const r = h.onA(['migrate', '--abort', '310']);
    assert.equal(r.code, 44, r.err);
    assert.match(r.err, /b has the container already/);
    assert.match(r.err, /berth -r b destroy 310/);
    const fin = h.onA(['migrate', '310', 'b']);
    assert.equal(fin.code, 0, fin.err);
    assert.equal(where(h.b, '310').running, true);
  });
});

const counter = (s: Sandbox, id: string) => Number(s.ok(['exec', id, '--', 'cat', '/root/counter']).trim());

/** The counter kept counting: not restarted (from BEFORE on), and still going. */
function keptCounting(s: Sandbox, id: string, before: number): void {
  const now = counter(s, id);
  assert.ok(now >= before, `the counter went on from ${before} (now ${now}): processes kept`);
  spawnSync('sleep', ['0.4']);
  assert.ok(counter(s, id) > now, 'the counter keeps increasing');
}

/** `migrate --online` again on A resumes ID's journalled migration: it runs on B only, still counting. */
function resumedOnB(h: Hosts, id: string, before: number): void {
  const again = h.onA(['migrate', id, 'b', '--online']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, new RegExp(`Resuming the migration of ${id} to b`));
  assert.equal(where(h.a, id).exists, false, 'gone from A');
  assert.deepEqual(where(h.b, id), { exists: true, running: true, migrating: null });
  keptCounting(h.b, id, before);
}

const dumps = (h: Hosts) => {
  const dir = join(h.b.root, 'var/lib/berth/dump-in');
  return existsSync(dir) ? readdirSync(dir) : [];
};

test('berth migrate --online: processes and a TCP session move to B; kills, abort, id range', {
  skip:
    skip ||
    NO_CRIU ||
    (!BUSYBOX && 'needs busybox on the host') ||
    (!existsSync('/proc/self/ns/time') && 'needs time namespaces'),
  timeout: 900_000,
}, async (t) => {
  const h = await twoHosts(t);
  const route = clientNet(t);

  await t.test('a routed container with a TCP session runs on B, its processes and session kept', async () => {
    onlineBusybox(h, '320', '10.251.9.20');
    route('a', '10.251.9.20');
    const s = echoSession(t, '10.251.9.20');
    assert.ok(await s.answers(), 'the session answers on A');
    s.gap();
    const before = counter(h.a, '320');
    // an admin's enter session on A: its shell goes with the container
    const enter = ptySession([...h.a.wrap, BERTH, '--root', h.a.root, 'enter', '320']);
    t.after(() => enter.child.kill('SIGKILL'));
    enter.type('MOVED=yes; echo "SH=$$"\n');
    const [, shell] = await enter.until(/SH=(\d+)/, 'the shell on A');
    const r = await h.migrate('a', ['320', 'b', '--online', '--json']);
    const ms = r.ms;
    assert.equal(r.code, 0, r.err);
    route('b', '10.251.9.20');
    assert.ok(await s.answers(), 'the session answers on B');
    const gap = s.gap();
    const res = JSON.parse(r.out) as { stepMs: Record<string, number>; lazy: boolean };
    assert.match(
      r.err,
      /Checkpointing 320 here[\s\S]*Uploading 320's checkpoint to b[\s\S]*Restoring 320's processes on b/,
    );
    // a busybox's memory is far below post-copy's threshold: berth sends it with the checkpoint
    assert.match(r.err, /320: \d+ MB of lazy memory: sent with the checkpoint/);
    assert.equal(res.lazy, false);
    t.diagnostic(
      `online migration: client's longest gap ${gap} ms, migrate ${ms} ms, steps ${JSON.stringify(res.stepMs)}`,
    );
    assert.deepEqual(where(h.b, '320'), { exists: true, running: true, migrating: null });
    assert.equal(where(h.a, '320').exists, false);
    keptCounting(h.b, '320', before);
    assert.match(h.b.ok(['exec', '320', '--', 'netstat', '-tn']), /10\.251\.9\.20:7000 .*ESTABLISHED/);
    assert.equal(await enter.ended, 0, enter.out());
    assert.match(enter.out(), /berth enter 320 --attach 1/);
    // on B, through its berthd's websocket (as the dashboard does; berth enter --attach 1 there)
    const attach = wsConnect(join(h.b.root, 'run/berth/berthd.sock'), '/1.0/containers/320/console?session=1');
    assert.equal((await attach.status).code, 101);
    attach.send('echo "ON=$$ $MOVED"; exit\n');
    await waitFor('the same shell on B', () => new RegExp(`ON=${shell} yes`).test(attach.output()));
    await attach.closed;
    assert.deepEqual(attach.controls().at(-1), { type: 'exit', exit_code: 0 });
    assert.doesNotMatch(must(NA, ['ip', 'route']), /10\.251\.9\.20/, "A's host route went");
    assert.match(must(NB, ['ip', 'route']), /10\.251\.9\.20/, "B's host route is there");
    assert.deepEqual(dumps(h), [], "B's dump store keeps nothing");
    assert.equal(existsSync(journalOf(h, '320')), false);
    s.close();
  });

  await t.test('an id range B cannot give is refused at step 0, nothing changed', () => {
    h.a.ok(['create', '321', '--ostemplate', 'busybox']);
    h.a.ok(['start', '321']);
    // B's 320 holds the range A hands out first: 321 gets it on A (320 is gone here)
    const conf = (s: Sandbox, id: string) => readFileSync(join(s.root, `etc/berth/ct/${id}.conf`), 'utf8');
    const base = /ID_BASE="?(\d+)/.exec(conf(h.a, '321'))?.[1];
    assert.equal(base, /ID_BASE="?(\d+)/.exec(conf(h.b, '320'))?.[1]);
    const r = h.onA(['migrate', '321', 'b', '--online']);
    assert.equal(r.code, 21, r.err);
    assert.match(r.err, new RegExp(`b cannot keep ID_BASE ${base}: .*another container's range`));
    assert.match(r.err, /nothing was changed/);
    assert.deepEqual(where(h.a, '321'), { exists: true, running: true, migrating: null });
    assert.equal(existsSync(journalOf(h, '321')), false);
    h.a.ok(['stop', '--fast', '321']);
    h.a.ok(['destroy', '321']);
    h.b.ok(['stop', '--fast', '320']);
    h.b.ok(['destroy', '320']);
  });

  for (const [id, phase] of [
    ['322', 'stopped'],
    ['323', 'uploaded'],
  ] as const) {
    await t.test(
      `SIGKILL after the ${phase === 'stopped' ? 'dump' : 'upload'}: start refuses, migrate again finishes`,
      async () => {
        onlineBusybox(h, id, `10.251.9.${id.slice(1)}`);
        const before = counter(h.a, id);
        t.diagnostic(`killed at ${await killAtPhase(h, id, phase, 0, ['--online'])}`);
        assert.ok(existsSync(journalOf(h, id)), 'killed before its end');
        assert.equal(where(h.a, id).running, false);
        const start = h.a.berth(['start', id]);
        assert.equal(start.code, 9, start.err);
        assert.match(start.err, new RegExp(`start ${id}: the container is being migrated to b \\(phase ${phase}`));
        resumedOnB(h, id, before);
        assert.deepEqual(dumps(h), []);
        h.b.ok(['stop', '--fast', id]);
        h.b.ok(['destroy', id]);
      },
    );
  }

  await t.test('--abort after the dump restores it on A, its processes kept', async () => {
    onlineBusybox(h, '324', '10.251.9.24');
    const before = counter(h.a, '324');
    t.diagnostic(`killed at ${await killAtPhase(h, '324', 'stopped', 0, ['--online'])}`);
    assert.equal(where(h.a, '324').running, false);
    const r = h.onA(['migrate', '--abort', '324']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /Restoring 324 here from its checkpoint/);
    assert.deepEqual(where(h.a, '324'), { exists: true, running: true, migrating: null });
    keptCounting(h.a, '324', before);
    assert.equal(h.b.berth(['status', '324', '--json']).out.includes('"exist":false'), true);
    assert.deepEqual(dumps(h), []);
    assert.equal(existsSync(join(h.a.root, 'var/lib/berth/migrate/324.dump')), false);
    h.a.ok(['stop', '--fast', '324']);
    h.a.ok(['destroy', '324']);
  });

  await t.test(
    '--lazy-pages: B runs it before its memory arrives, which follows whole (post-copy)',
    {
      skip: !existsSync('/dev/userfaultfd') && 'needs /dev/userfaultfd (Linux 6.1+)',
    },
    async () => {
      onlineBusybox(h, '325', '10.251.9.25');
      route('a', '10.251.9.25');
      await holdHeap(h.a, '325');
      const s = echoSession(t, '10.251.9.25');
      assert.ok(await s.answers(), 'the session answers on A');
      s.gap();
      const before = counter(h.a, '325');
      for (const bad of [['--lazy-pages'], ['--online', '--lazy-pages', '--no-lazy-pages']]) {
        const no = h.onA(['migrate', '325', 'b', ...bad]);
        assert.equal(no.code, 20, no.err);
        assert.equal(existsSync(journalOf(h, '325')), false, 'nothing changed');
      }
      const r = await h.migrate('a', ['325', 'b', '--online', '--lazy-pages', '--json']);
      assert.equal(r.code, 0, r.err);
      route('b', '10.251.9.25');
      assert.ok(await s.answers(), 'the session answers on B');
      const gap = s.gap();
      const m = /checkpoint without its (\d+) MB of lazy memory/.exec(r.err);
      assert.ok(m && Number(m[1]) >= 4, `the heap stayed behind for the page server: ${r.err}`);
      assert.match(r.err, /325 runs on b; sending the rest of its memory/);
      assert.equal((JSON.parse(r.out) as { lazy: boolean }).lazy, true);
      t.diagnostic(`post-copy migration: client's longest gap ${gap} ms, ${JSON.stringify(JSON.parse(r.out).stepMs)}`);
      assert.deepEqual(where(h.b, '325'), { exists: true, running: true, migrating: null });
      assert.equal(where(h.a, '325').exists, false);
      keptCounting(h.b, '325', before);
      await heapKept(h.b, '325');
      assert.deepEqual(dumps(h), [], "B's dump store keeps nothing");
      assert.equal(spawnSync('pgrep', ['-f', 'criu (lazy-pages|page-server)']).status, 1, 'both page processes ended');
      s.close();
      h.b.ok(['stop', '--fast', '325']);
      h.b.ok(['destroy', '325']);
    },
  );

  /**
   * A post-copy migration of ID whose page server on A is killed as B restores (the link
   * breaks): B stops the container rather than run it with holes in its memory; migrate again
   * restores it there whole.
   */
  const brokenSource = async (id: string, ip: string) => {
    onlineBusybox(h, id, ip);
    await holdHeap(h.a, id);
    const before = counter(h.a, id);
    const server = `criu page-server --lazy-pages -D ${join(h.a.root, `var/lib/berth/migrate/${id}.dump`)}`;
    const running = () => spawnSync('pgrep', ['-f', server]).status === 0;
    const child = h.spawnMigrate([id, 'b', '--online', '--lazy-pages']);
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    await waitUntil(() => running() || child.exitCode !== null, 120_000);
    spawnSync('pkill', ['-KILL', '-f', server]);
    const code = await exited;
    t.diagnostic(`migrate: ${JSON.stringify(err)}`);
    assert.notEqual(code, 0, 'the migration failed');
    // B's daemon lost its source while the restore still ran (its tasks fault at once), or after
    assert.match(err, new RegExp(`${id}'s memory did not all reach b, which stopped it|restore-dump-there failed`));
    assert.equal(running(), false, "A's page server is gone");
    assert.ok(existsSync(journalOf(h, id)), 'journalled');
    assert.deepEqual(where(h.b, id), { exists: true, running: false, migrating: null }, 'B stopped it');
    assert.equal(where(h.a, id).running, false, 'never on both');
    resumedOnB(h, id, before);
    await heapKept(h.b, id);
    assert.deepEqual(dumps(h), []);
    const left = spawnSync('pgrep', ['-af', 'criu (lazy-pages|page-server)'], { encoding: 'utf8' });
    assert.equal(left.status, 1, `no page process left: ${left.stdout}`);
    h.b.ok(['stop', '--fast', id]);
    h.b.ok(['destroy', id]);
  };
  const lazySkip = { skip: !existsSync('/dev/userfaultfd') && 'needs /dev/userfaultfd (Linux 6.1+)' };
  await t.test(
    "--lazy-pages, the source's page server killed: B stops the container, migrate again restores it there whole",
    lazySkip,
    () => brokenSource('326', '10.251.9.26'),
  );
});

/** 4 MB of random text in a shell's heap (lazy memory), its sum in /root/before */
async function holdHeap(s: Sandbox, id: string): Promise<void> {
  s.ok([
    'exec',
    id,
    '--',
    'sh',
    '-c',
    `sh -c 'x=$(head -c 2000000 /dev/urandom | od -An -tx1 | tr -d " \\n"); echo "$x" | md5sum >/root/before; while :; do [ -e /root/check ] && { echo "$x" | md5sum >/root/after; rm /root/check; }; sleep 0.1; done' </dev/null >/dev/null 2>&1 &`,
  ]);
  await waitUntil(() => s.berth(['exec', id, '--', 'test', '-s', '/root/before']).code === 0, 30_000);
}

/** The heap holdHeap filled has the same sum now (asked through /root/check). */
async function heapKept(s: Sandbox, id: string): Promise<void> {
  s.ok(['exec', id, '--', 'touch', '/root/check']);
  await waitUntil(() => s.berth(['exec', id, '--', 'test', '-s', '/root/after']).code === 0, 30_000);
  const sum = (f: string) => s.ok(['exec', id, '--', 'cat', f]).trim();
  assert.equal(sum('/root/after'), sum('/root/before'), 'the heap came back whole');
}

async function waitUntil(ok: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !ok(); ) {
    if (Date.now() > end) throw new Error(`not so within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
