// berthd end to end: the API drives real containers through the shipped executable, answers
// every failure with the error body and the registry's status, changes nothing on a refused
// request, streams events (also of changes the CLI makes), runs one daemon per root, keeps
// answering while a long operation runs, and leaves truthful state when it or an operation is
// killed. Every answer is checked against the OpenAPI document it serves.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecResponse, Operation } from '../../src/api/types.ts';
import { responseSchema, schemaErrors } from '../schema-check.ts';
import { type RunningDaemon, startDaemon } from './daemon-harness.ts';
import { BERTH, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';
import { wsConnect } from './ws-client.ts';

/** A request whose answer must match the document's schema for its route and status. */
async function checked(
  d: RunningDaemon,
  doc: Record<string, unknown>,
  method: string,
  path: string,
  route: string,
  body?: unknown,
) {
  const r = await d.api.call(method, path, body);
  const schema = responseSchema(doc, method, route, r.status);
  assert.ok(schema, `${method} ${route} documents status ${r.status}: ${JSON.stringify(r.body)}`);
  assert.deepEqual(schemaErrors(r.body, schema, doc), [], `${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

/** What a refused request must leave alone: configs, private areas and the running set. */
function snapshotOf(s: Sandbox): string {
  const dir = (p: string) => (existsSync(p) ? readdirSync(p).sort().join(',') : '');
  return [
    dir(join(s.root, 'etc/berth/ct')),
    dir(join(s.root, 'var/lib/berth/private')),
    s.ok(['list', '-H', '-o', 'ctid,status,hostname']),
  ].join('|');
}

test('berthd: create, start, list, show, exec, set, stop and destroy through the API', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const d = await startDaemon(t, s);
  const doc = (await d.api.call<Record<string, unknown>>('GET', '/1.0/openapi.json')).body;
  const info = await checked(d, doc, 'GET', '/1.0', '/1.0');
  assert.equal((info.body as { root: string }).root, s.root);

  // create answers 202 and an operation at once; polling it sees it end
  const created = await checked(d, doc, 'POST', '/1.0/containers', '/1.0/containers', {
    ctid: '101',
    ostemplate: 'busybox',
    hostname: 'web1',
  });
  assert.equal(created.status, 202);
  const op = created.body as Operation;
  assert.equal(created.headers['location'], `/1.0/operations/${op.id}`);
  const done = await checked(d, doc, 'GET', `/1.0/operations/${op.id}/wait?timeout=60`, '/1.0/operations/{id}/wait');
  assert.equal((done.body as Operation).status, 'success', JSON.stringify(done.body));
  assert.match(readFileSync(join(s.root, 'etc/berth/ct/101.conf'), 'utf8'), /^HOSTNAME="web1"$/m);

  const started = await checked(d, doc, 'PUT', '/1.0/containers/101/state?wait=60', '/1.0/containers/{ctid}/state', {
    action: 'start',
  });
  assert.equal(started.status, 200);
  assert.match(s.ok(['status', '101']), /running/);

  const list = await checked(d, doc, 'GET', '/1.0/containers', '/1.0/containers');
  const cli = JSON.parse(s.ok(['list', '-a', '--json'])) as Record<string, unknown>[];
  const strip = (rows: Record<string, unknown>[]) => rows.map(({ uptime, nproc, ...rest }) => rest);
  assert.deepEqual(strip(list.body as Record<string, unknown>[]), strip(cli), 'the same fields as list -a --json');
  const one = await checked(d, doc, 'GET', '/1.0/containers/101', '/1.0/containers/{ctid}');
  assert.equal((one.body as { pid: number }).pid, Number(JSON.parse(s.ok(['status', '101', '--json'])).pid));

  const ex = await checked(d, doc, 'POST', '/1.0/containers/101/exec', '/1.0/containers/{ctid}/exec', {
    command: ['sh', '-c', 'echo "$GREETING $(hostname)"; cat; echo oops >&2; exit 7'],
    stdin: 'from stdin',
    env: { GREETING: 'hello' },
  });
  assert.deepEqual(ex.body as ExecResponse, { exit_code: 7, stdout: 'hello web1\nfrom stdin', stderr: 'oops\n' });

  const patched = await checked(d, doc, 'PATCH', '/1.0/containers/101', '/1.0/containers/{ctid}', {
    hostname: 'web2',
    save: true,
  });
  assert.equal((patched.body as { hostname: string }).hostname, 'web2');
  assert.match(readFileSync(join(s.root, 'etc/berth/ct/101.conf'), 'utf8'), /^HOSTNAME="web2"$/m);
  assert.equal(s.ok(['exec', '101', '--', 'hostname']).trim(), 'web2', 'the live hostname changed too');
  // a password: to the container's tools on their stdin, never on a host argv or in a file
  await checked(d, doc, 'PATCH', '/1.0/containers/101', '/1.0/containers/{ctid}', { userpasswd: 'alice:pw-7xq' });
  assert.match(s.ok(['exec', '101', '--', 'grep', '^alice:', '/etc/shadow']), /^alice:\$[^:]+:/m, 'hashed');
  assert.ok(!d.log().includes('pw-7xq'), 'not in the daemon log');
  assert.ok(!readFileSync(join(s.root, 'etc/berth/ct/101.conf'), 'utf8').includes('pw-7xq'), 'not in the config');

  await checked(d, doc, 'PUT', '/1.0/containers/101/state?wait=60', '/1.0/containers/{ctid}/state', {
    action: 'stop',
    force: true,
  });
  assert.match(s.ok(['status', '101']), /down/);
  const gone = await checked(d, doc, 'DELETE', '/1.0/containers/101?wait=60', '/1.0/containers/{ctid}');
  assert.equal((gone.body as Operation).status, 'success');
  assert.ok(!existsSync(join(s.root, 'etc/berth/ct/101.conf')));
  const ops = await checked(d, doc, 'GET', '/1.0/operations', '/1.0/operations');
  assert.equal((ops.body as Operation[]).length, 4);
  assert.equal(await d.stop(), 0, d.log());
  assert.ok(!existsSync(d.socket), 'a stopped daemon removes its socket');
});

test('berthd: bad requests get a 4xx with the error body and change nothing', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101']);
  s.ok(['start', '101']);
  const d = await startDaemon(t, s);
  const doc = (await d.api.call<Record<string, unknown>>('GET', '/1.0/openapi.json')).body;
  const before = snapshotOf(s);
  const cases: [string, string, string, unknown, number, string][] = [
    ['GET', '/1.0/containers/999', '/1.0/containers/{ctid}', undefined, 404, 'NO_CT_CONFIG'],
    ['GET', '/1.0/containers/..%2F..%2Fetc', '/1.0/containers/{ctid}', undefined, 400, 'BAD_VALUE'],
    ['POST', '/1.0/containers', '/1.0/containers', '{"ctid": "102",', 400, 'BAD_SYNTAX'],
    ['POST', '/1.0/containers', '/1.0/containers', '[1,2]', 400, 'BAD_SYNTAX'],
    ['POST', '/1.0/containers', '/1.0/containers', { ctid: '102', bogus: 1 }, 400, 'BAD_SYNTAX'],
    ['POST', '/1.0/containers', '/1.0/containers', { ctid: '102', hostname: { x: 1 } }, 400, 'BAD_VALUE'],
    ['POST', '/1.0/containers', '/1.0/containers', { ctid: '../../x' }, 400, 'BAD_VALUE'],
    ['POST', '/1.0/containers', '/1.0/containers', 'x'.repeat(5 << 20), 413, 'TOO_LARGE'],
    [
      'PATCH',
      '/1.0/containers/101',
      '/1.0/containers/{ctid}',
      { hostname: 'bad host!', save: true },
      400,
      'BAD_HOSTNAME',
    ],
    ['PATCH', '/1.0/containers/101', '/1.0/containers/{ctid}', { userpasswd: 'Bad User:x' }, 400, 'BAD_VALUE'],
    ['PATCH', '/1.0/containers/101', '/1.0/containers/{ctid}', { userpasswd: ['root:'] }, 400, 'BAD_VALUE'],
    ['PATCH', '/1.0/containers/101', '/1.0/containers/{ctid}', { userpasswd: 7 }, 400, 'BAD_VALUE'],
    ['PUT', '/1.0/containers/101/state', '/1.0/containers/{ctid}/state', { action: 'explode' }, 400, 'BAD_VALUE'],
    ['PUT', '/1.0/containers/101/state?wait=60', '/1.0/containers/{ctid}/state', { action: 'start' }, 409, 'RUNNING'],
    ['POST', '/1.0/containers/101/exec', '/1.0/containers/{ctid}/exec', { command: 'ls' }, 400, 'BAD_VALUE'],
    [
      'POST',
      '/1.0/containers/101/exec',
      '/1.0/containers/{ctid}/exec',
      { command: ['ls'], env: { 'A B': 'x' } },
      400,
      'BAD_VALUE',
    ],
    [
      'POST',
      '/1.0/containers/101/exec',
      '/1.0/containers/{ctid}/exec',
      { command: ['no-such-command'] },
      404,
      'COMMAND_NOT_FOUND',
    ],
    ['GET', '/1.0/operations/nope', '/1.0/operations/{id}', undefined, 404, 'NOT_FOUND'],
  ];
  for (const [method, path, route, body, status, name] of cases) {
    const r = await checked(d, doc, method, path, route, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal((r.body as { error: { name: string } }).error.name, name, `${method} ${path}`);
  }
  for (const [method, path, status] of [
    ['DELETE', '/1.0', 405],
    ['GET', '/2.0/containers', 404],
    ['GET', '/1.0/containers/101/../../etc/passwd', 404],
    ['DELETE', '/1.0/containers/..', 404],
  ] as const) {
    const r = await d.api.call(method, path);
    assert.equal(r.status, status, `${method} ${path}`);
    assert.ok((r.body as { error?: unknown }).error, `${method} ${path}: an error body`);
  }
  assert.equal(snapshotOf(s), before, 'nothing changed');
  await d.stop();
  s.ok(['stop', '--fast', '101']);
});

test('berthd: what it lists is what is true now, whoever changed it', { skip: ROOT_SKIP }, async (t) => {
  // berthd keeps what it read of configs, state records and cgroup limits until inotify says
  // they changed (host/watched.ts): every change made outside it must show at the next request
  const s = sandbox(t);
  s.ok(['create', '101']);
  s.ok(['start', '101']);
  const d = await startDaemon(t, s);
  const row = async () => {
    const r = await d.api.call<Record<string, unknown>[]>('GET', '/1.0/containers');
    return r.body.find((x) => x['ctid'] === '101') ?? {};
  };
  await row(); // remembered from here on
  for (const n of ['1', '2', '1']) {
    s.ok(['set', '101', '--numproc', `${n}00`]); // the live limit only
    assert.equal((await row())['numproc'], `${n}00`, 'a live set by the CLI');
  }
  s.ok(['set', '101', '--hostname', 'fresh1', '--save']);
  assert.equal((await row())['hostname'], 'fresh1', 'the config saved by the CLI');
  const v1 = s.layoutPath('pids', '101');
  const pidsMax = existsSync(v1) ? join(v1, 'pids.max') : join('/sys/fs/cgroup', s.cgroupParent, '101', 'pids.max');
  writeFileSync(pidsMax, '777');
  assert.equal((await row())['numproc'], '777', 'a write straight to the cgroup');
  s.ok(['exec', '101', '--', 'sh', '-c', 'sleep 60 & sleep 60 & true']);
  assert.equal((await row())['nproc'], 3, 'processes started inside');
  s.ok(['stop', '--fast', '101']);
  const stopped = await row();
  assert.equal(stopped['status'], 'stopped');
  assert.equal(stopped['nproc'], null);
  s.ok(['start', '101']);
  const again = await row();
  assert.equal(again['status'], 'running');
  assert.notEqual(again['numproc'], '777', 'a new start: the saved limit, not the old cgroup write');
  const strip = (rows: Record<string, unknown>[]) => rows.map(({ uptime, ...rest }) => rest);
  assert.deepEqual(
    strip((await d.api.call<Record<string, unknown>[]>('GET', '/1.0/containers')).body),
    strip(JSON.parse(s.ok(['list', '-a', '--json']))),
    'the same rows as the CLI reads from the files',
  );
  await d.stop();
  s.ok(['stop', '--fast', '101']);
});

test('berthd: one per root; its socket is root and berth-admin only', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  const d = await startDaemon(t, s);
  const second = spawnSync(BERTH, ['--root', s.root, 'daemon'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(second.status, 9, second.stderr);
  assert.match(second.stderr, /^berth: daemon: another berthd serves /m);
  assert.ok(existsSync(d.socket), 'the refused daemon left the socket alone');
  const st = statSync(d.socket);
  const admin = spawnSync('getent', ['group', 'berth-admin'], { encoding: 'utf8' });
  if (admin.status === 0) {
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, Number(admin.stdout.split(':')[2]));
    assert.equal(statSync(join(s.root, 'run/berth')).mode & 0o777, 0o710);
  } else {
    t.diagnostic('no berth-admin group here (setup makes it): the socket is root-only');
    assert.equal(st.mode & 0o777, 0o600);
  }
  // a host user outside the group cannot connect (checked by connecting as nobody)
  const probe = spawnSync(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--unix-socket',
      d.socket,
      'http://berthd/1.0',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(probe.stdout, '000', `nobody reached the API: ${probe.stdout} ${probe.stderr}`);
  // berth's other commands keep the run directory as the daemon made it
  s.ok(['create', '101']);
  s.ok(['destroy', '101']);
  if (admin.status === 0) assert.equal(statSync(join(s.root, 'run/berth')).mode & 0o777, 0o710);
});

test('berthd: events stream lifecycle changes made by the CLI and by operations', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101']);
  const d = await startDaemon(t, s);
  const events: { type: string; action: string; ctid?: string }[] = [];
  const req = request({ socketPath: d.socket, path: '/1.0/events?type=lifecycle,operation' }, (res) => {
    assert.equal(res.headers['content-type'], 'text/event-stream');
    let buf = '';
    res.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const data = buf
          .slice(0, i)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buf = buf.slice(i + 2);
        if (data) events.push(JSON.parse(data.slice(6)));
      }
    });
  });
  req.end();
  t.after(() => req.destroy());
  await new Promise((r) => setTimeout(r, 1500)); // the first poll sets the baseline
  s.ok(['start', '101']);
  await waitFor('container-started', () => events.some((e) => e.action === 'container-started' && e.ctid === '101'));
  await d.api.call('PUT', '/1.0/containers/101/state', { action: 'stop', force: true });
  await waitFor(
    'the operation and the stop',
    () =>
      events.some((e) => e.type === 'operation' && e.action === 'success') &&
      events.some((e) => e.action === 'container-stopped'),
  );
  t.diagnostic(events.map((e) => `${e.type} ${e.action} ${e.ctid ?? ''}`).join('; '));
  assert.ok(
    events.every((e) => e.type !== 'resource'),
    'the filter holds',
  );
});

test('berthd: answers while a long backup runs; a cancelled or killed operation leaves truthful state', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101', '--layout', 'dir']);
  s.ok(['start', '101']);
  s.ok(['exec', '101', '--', 'dd', 'if=/dev/urandom', 'of=/root/big', 'bs=1M', 'count=400']);
  const d = await startDaemon(t, s);
  const backup = await d.api.call<Operation>('POST', '/1.0/containers/101/backups', {});
  assert.equal(backup.status, 202);
  const op = backup.body;
  const times: number[] = [];
  const progress = new Set<string>();
  const running = async () => {
    const now = (await d.api.call<Operation>('GET', `/1.0/operations/${op.id}`)).body;
    if (now.progress) progress.add(now.progress);
    return now.status === 'running';
  };
  // for as long as the backup runs (at least 200 requests), bounded by time: a count ran out
  // on a fast machine while the backup still copied its files, before any MB progress line
  const deadline = Date.now() + 120_000;
  for (let i = 0; Date.now() < deadline && ((await running()) || i < 200); i++) {
    const t0 = performance.now();
    const r = await d.api.call('GET', '/1.0/containers');
    times.push(performance.now() - t0);
    assert.equal(r.status, 200);
  }
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
  t.diagnostic(
    `${times.length} GET /1.0/containers during ${op.description}: p50 ${times[times.length >> 1]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
  );
  assert.ok(p99 < 50, `p99 ${p99.toFixed(1)} ms`);
  const ended = (await d.api.call<Operation>('GET', `/1.0/operations/${op.id}/wait?timeout=300`)).body;
  assert.equal(ended.status, 'success', JSON.stringify(ended));
  assert.ok(
    [...progress].some((l) => /\d MB/.test(l)),
    `the operation showed the backup's progress: ${[...progress]}`,
  );

  // cancel: SIGKILL of the verb; the next command finds the container whole or reports it
  const st = await d.api.call<Operation>('PUT', '/1.0/containers/101/state', { action: 'restart' });
  await new Promise((r) => setTimeout(r, 30));
  const cancel = await d.api.call<Operation>('DELETE', `/1.0/operations/${st.body.id}`);
  if (cancel.status === 200) assert.equal(cancel.body.status, 'cancelled');
  else t.diagnostic(`the restart ended before the cancel: ${JSON.stringify(cancel.body)}`);
  const after = (await d.api.call<Operation>('GET', `/1.0/operations/${st.body.id}/wait?timeout=30`)).body;
  assert.notEqual(after.status, 'running');
  // a start after a killed restart starts it, or says it runs; status agrees either way
  const again = s.berth(['start', '101']);
  assert.ok(again.code === 0 || again.code === 32, again.err);
  assert.match(s.ok(['status', '101']), /running/);

  // SIGKILL of the daemon mid-operation: a new daemon starts, and the state is the CLI's truth
  await d.api.call('PUT', '/1.0/containers/101/state', { action: 'stop' });
  d.child.kill('SIGKILL');
  await d.stop();
  const d2 = await startDaemon(t, s);
  // the stop goes on without the daemon (a berth process of its own): a second stop waits its turn
  let last = s.berth(['stop', '--fast', '101']);
  for (let i = 0; i < 300 && last.code === 9; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = s.berth(['stop', '--fast', '101']);
  }
  assert.ok(last.code === 0 || last.code === 31, last.err);
  assert.match(s.ok(['status', '101']), /down/);
  assert.equal((await d2.api.call<{ status: string }>('GET', '/1.0/containers/101')).body.status, 'stopped');

  // a start runs inside the daemon: SIGKILL of the daemon in the middle of it leaves what a
  // killed `berth start` leaves, which the next command adopts or takes down
  const starting = await d2.api.call<Operation>('PUT', '/1.0/containers/101/state', { action: 'start' });
  assert.equal(starting.status, 202, JSON.stringify(starting.body));
  await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20)));
  d2.child.kill('SIGKILL');
  await d2.stop();
  const seen = s.ok(['status', '101']);
  assert.match(seen, /running|down/);
  const stop = s.berth(['stop', '--fast', '101']);
  assert.ok(stop.code === 0 || stop.code === 31, stop.err);
  assert.match(s.ok(['status', '101']), /down/);
  s.ok(['start', '101']);
  s.ok(['stop', '--fast', '101']);
});

test('berthd: snapshots, backups (download, upload, restore), clone, stat and templates', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101']);
  s.ok(['start', '101']);
  s.ok(['exec', '101', '--', 'sh', '-c', 'echo canary-1 > /root/canary']);
  const d = await startDaemon(t, s);
  const doc = (await d.api.call<Record<string, unknown>>('GET', '/1.0/openapi.json')).body;
  const okOp = async (method: string, path: string, route: string, body?: unknown) => {
    const r = await checked(d, doc, method, path, route, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body as Operation).status, 'success', JSON.stringify(r.body));
    return r.body as Operation;
  };
  await okOp('POST', '/1.0/containers/101/snapshots?wait=60', '/1.0/containers/{ctid}/snapshots', { name: 's1' });
  const snaps = await checked(d, doc, 'GET', '/1.0/containers/101/snapshots', '/1.0/containers/{ctid}/snapshots');
  assert.deepEqual(
    (snaps.body as { name: string }[]).map((x) => x.name),
    ['s1'],
  );

  const b = await okOp('POST', '/1.0/containers/101/backups?wait=120', '/1.0/containers/{ctid}/backups', {
    name: 'b1.tar',
  });
  assert.equal((b.result as { file: string }).file, join(s.root, 'var/lib/berth/backup/b1.tar'));
  const list = await checked(d, doc, 'GET', '/1.0/backups', '/1.0/backups');
  assert.deepEqual(
    (list.body as { name: string }[]).map((x) => x.name),
    ['b1.tar'],
  );
  const archive = await new Promise<Buffer>((resolve, reject) => {
    request({ socketPath: d.socket, path: '/1.0/backups/b1.tar' }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/x-tar');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    })
      .on('error', reject)
      .end();
  });
  assert.ok(archive.equals(readFileSync(join(s.root, 'var/lib/berth/backup/b1.tar'))), 'the download is the archive');
  const up = await checked(d, doc, 'POST', '/1.0/backups?name=up.tar', '/1.0/backups', archive);
  assert.equal(up.status, 201);
  assert.equal(statSync(join(s.root, 'var/lib/berth/backup/up.tar')).mode & 0o777, 0o600);
  const again = await d.api.call('POST', '/1.0/backups?name=up.tar', archive);
  assert.equal(again.status, 400, 'an upload never replaces an archive');
  await okOp('POST', '/1.0/backups/up.tar/restore?wait=120', '/1.0/backups/{name}/restore', { ctid: '102' });
  s.ok(['start', '102']);
  assert.equal(s.ok(['exec', '102', '--', 'cat', '/root/canary']).trim(), 'canary-1');
  assert.match(
    readFileSync(join(s.root, 'etc/berth/ct/102.conf'), 'utf8'),
    /^ID_BASE="\d+"$/m,
    'restored unprivileged',
  );
  // migrate --online's routes: an id range in use, a checkpoint upload (hostile ones refused)
  const base102 = /^ID_BASE="(\d+)"$/m.exec(readFileSync(join(s.root, 'etc/berth/ct/102.conf'), 'utf8'))?.[1];
  const idb = await checked(
    d,
    doc,
    'GET',
    `/1.0/containers/105/id-base?base=${base102}`,
    '/1.0/containers/{ctid}/id-base',
  );
  assert.equal((idb.body as { free: boolean }).free, false, 'the range 102 holds');
  const dumpSrc = join(s.root, 'dump-src');
  mkdirSync(dumpSrc);
  writeFileSync(join(dumpSrc, 'inventory.img'), 'x');
  const tarOf = () => {
    spawnSync('tar', ['--format=ustar', '-cf', `${dumpSrc}.tar`, '-C', dumpSrc, '.']);
    return readFileSync(`${dumpSrc}.tar`);
  };
  const dumpName = 'migrate-105-0123456789abcdef';
  const dumpUp = await checked(d, doc, 'POST', `/1.0/dumps?name=${dumpName}`, '/1.0/dumps', tarOf());
  assert.equal(dumpUp.status, 201);
  assert.equal(readFileSync(join(s.root, 'var/lib/berth/dump-in', dumpName, 'inventory.img'), 'utf8'), 'x');
  symlinkSync('/etc/shadow', join(dumpSrc, 'x.img'));
  const hostile = await checked(d, doc, 'POST', `/1.0/dumps?name=${dumpName}`, '/1.0/dumps', tarOf());
  assert.equal(hostile.status, 400, 'a symlink in a checkpoint upload');
  const badName = await checked(d, doc, 'POST', '/1.0/dumps?name=..%2Fx', '/1.0/dumps', tarOf());
  assert.equal(badName.status, 400);
  await checked(d, doc, 'DELETE', `/1.0/dumps/${dumpName}`, '/1.0/dumps/{name}');
  assert.ok(!existsSync(join(s.root, 'var/lib/berth/dump-in', dumpName)));

  await okOp('POST', '/1.0/containers/101/clone?wait=120', '/1.0/containers/{ctid}/clone', {
    ctid: '103',
    hostname: 'copy',
  });
  assert.match(readFileSync(join(s.root, 'etc/berth/ct/103.conf'), 'utf8'), /^HOSTNAME="copy"$/m);
  s.ok(['exec', '101', '--', 'sh', '-c', 'echo canary-2 > /root/canary']);
  s.ok(['stop', '--fast', '101']);
  await okOp(
    'POST',
    '/1.0/containers/101/snapshots/s1/switch?wait=60',
    '/1.0/containers/{ctid}/snapshots/{name}/switch',
  );
  s.ok(['start', '101']);
  assert.equal(s.ok(['exec', '101', '--', 'cat', '/root/canary']).trim(), 'canary-1', 'switched back to s1');
  await okOp('DELETE', '/1.0/containers/101/snapshots/s1?wait=60', '/1.0/containers/{ctid}/snapshots/{name}');

  // overlay (the default): the disk use is a walk of its upper layer, made in the background
  // once a minute (the first request for it queues the first walk)
  s.ok(['exec', '101', '--', 'dd', 'if=/dev/zero', 'of=/root/blob', 'bs=1M', 'count=3']);
  const stat = await checked(d, doc, 'GET', '/1.0/containers/101/stat', '/1.0/containers/{ctid}/stat');
  assert.ok((stat.body as { resource: string }[]).some((c) => c.resource === 'physpages'));
  let walked: number | null = null;
  for (let i = 0; i < 200 && walked === null; i++) {
    const r = await d.api.call<{ resource: string; held: number }[]>('GET', '/1.0/containers/101/stat');
    walked = r.body.find((c) => c.resource === 'disk_used')?.held ?? null;
    if (walked === null) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(walked !== null && walked >= 3 << 20, `disk_used ${walked}: the 3 MiB written inside count`);
  // an image's disk use is a statfs away; traffic needs an interface (none here)
  s.ok(['create', '104', '--layout', 'image', '--diskspace', '64M']);
  s.ok(['start', '104']);
  const img = (await checked(d, doc, 'GET', '/1.0/containers/104/stat', '/1.0/containers/{ctid}/stat')).body as {
    resource: string;
    held: number;
    limit: number | null;
  }[];
  const disk = img.find((c) => c.resource === 'disk_used');
  assert.ok(disk && disk.held > 0 && disk.limit === 64 * 1024 * 1024, JSON.stringify(img));
  assert.ok(!img.some((c) => c.resource.startsWith('net_')), 'no interface, no traffic rows');
  s.ok(['stop', '--fast', '104']);
  const templates = await checked(d, doc, 'GET', '/1.0/templates', '/1.0/templates');
  assert.ok((templates.body as { name: string }[]).some((x) => x.name === 'busybox'));
  await checked(d, doc, 'GET', '/1.0/networks', '/1.0/networks');

  for (const [method, path, status] of [
    ['GET', '/1.0/backups/..%2F..%2Fetc%2Fshadow', 400],
    ['GET', '/1.0/backups/nope.tar', 404],
    ['POST', '/1.0/backups?name=..%2Fx.tar', 400],
    ['POST', '/1.0/backups/..%2Fb1.tar/restore', 400],
    ['DELETE', '/1.0/backups/.hidden.tar', 400],
  ] as const) {
    const r = await d.api.call(method, path, method === 'POST' ? {} : undefined);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await d.api.call('DELETE', '/1.0/backups/b1.tar')).status, 200);
  assert.ok(!existsSync(join(s.root, 'var/lib/berth/backup/b1.tar')));
  await d.stop();
  for (const ct of ['101', '102']) s.ok(['stop', '--fast', ct]);
});

test('berthd: interactive exec and the console over websockets, with a pty that resizes', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101', '--hostname', 'ws1']);
  s.ok(['start', '101']);
  const d = await startDaemon(t, s);
  const ws = wsConnect(d.socket, '/1.0/containers/101/exec?command=/bin/sh&rows=30&cols=100');
  assert.equal((await ws.status).code, 101);
  await waitFor('the shell prompt', () => ws.output().includes('# '));
  ws.send('stty size; tty; hostname\n');
  await waitFor('stty size 30 100', () => /30 100/.test(ws.output()));
  assert.match(ws.output(), /\/dev\/pts\/\d+/, 'a pty of the container');
  ws.send(JSON.stringify({ type: 'resize', rows: 50, cols: 132 }), false);
  await new Promise((r) => setTimeout(r, 200));
  ws.send('stty size\n');
  await waitFor('stty size 50 132', () => /50 132/.test(ws.output()));
  ws.send('exit 3\n');
  await ws.closed;
  assert.deepEqual(ws.controls().at(-1), { type: 'exit', exit_code: 3 });

  // the client going away ends the command (a hangup), no process stays behind
  const sleeper = wsConnect(d.socket, '/1.0/containers/101/exec?command=sleep&command=600');
  assert.equal((await sleeper.status).code, 101);
  await waitFor('the sleep to run', () => /sleep 600/.test(s.ok(['exec', '101', '--', 'ps'])));
  sleeper.end();
  await waitFor('the sleep to end', () => !/sleep 600/.test(s.ok(['exec', '101', '--', 'ps'])));

  // errors: no such container (a refused handshake), not a websocket, no command
  const missing = wsConnect(d.socket, '/1.0/containers/999/exec?command=sh');
  const ended = await missing.closed.then(() => missing.controls());
  assert.deepEqual(
    ended.map((c) => (c as { error?: { name: string } }).error?.name),
    ['NO_CT_CONFIG'],
    'the verb refuses: an error message, then the close',
  );
  const noCmd = wsConnect(d.socket, '/1.0/containers/101/exec');
  assert.equal((await noCmd.status).code, 400);
  assert.equal((await d.api.call('GET', '/1.0/containers/101/exec')).status, 400, 'a plain GET is refused');

  // the console: what init writes there, and keystrokes to its getty-less shell are bytes
  const con = wsConnect(d.socket, '/1.0/containers/101/console?rows=40&cols=120');
  assert.equal((await con.status).code, 101);
  // the daemon attaches to the keeper after the upgrade: a line written before that goes to the
  // log only, so it is written again until the console shows it
  await waitFor('the console output', () => {
    if (con.output().includes('hello-console')) return true;
    s.ok(['exec', '101', '--', 'sh', '-c', 'echo hello-console > /dev/console']);
    return false;
  });
  con.end();
  await con.closed;
  await d.stop();
  s.ok(['stop', '--fast', '101']);
});
