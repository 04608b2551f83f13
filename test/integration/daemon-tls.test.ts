// berthd over HTTPS on loopback: only trusted client certificates and token sessions get in,
// and a real Prometheus (Debian's) scrapes /metrics with its own client certificate, verifying
// berthd's certificate, then answers a query for one series.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeSelfSigned } from '../../src/host/tls.ts';
import { BERTH, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';

const PROM_SKIP =
  spawnSync('prometheus', ['--version']).status === 0 ? false : 'needs prometheus (the setup installs it)';

/** A client key and self-signed certificate in the sandbox. */
function clientCert(s: Sandbox, name: string): { cert: string; key: string } {
  const cert = join(s.root, `${name}.crt`);
  const key = join(s.root, `${name}.key`);
  makeSelfSigned('test', cert, key, name);
  return { cert, key };
}

/** berth daemon --listen on a free loopback port; resolves with the port once it serves. */
async function tlsDaemon(
  t: import('node:test').TestContext,
  s: Sandbox,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(BERTH, ['--root', s.root, 'daemon', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  t.after(() => {
    child.kill('SIGTERM');
  });
  await waitFor('berthd on TCP', () => /https:\/\/127\.0\.0\.1:\d+/.test(log) || child.exitCode !== null);
  return { port: Number(/https:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]), child };
}

function fetchTls(
  port: number,
  path: string,
  opts: { cert?: string; key?: string; cookie?: string; method?: string; origin?: string } = {},
) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        ca: readFileSync(join(BERTH_ROOT.value, 'etc/berth/berthd.crt')),
        ...(opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key ?? '') } : {}),
        headers: { ...(opts.cookie ? { cookie: opts.cookie } : {}), ...(opts.origin ? { origin: opts.origin } : {}) },
      },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => {
          body += b.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
const BERTH_ROOT = { value: '' };

/** A websocket handshake to a console with the cookie (and an Origin): its HTTP status. */
function upgradeTls(port: number, cookie: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port,
      path: '/1.0/containers/909/console',
      ca: readFileSync(join(BERTH_ROOT.value, 'etc/berth/berthd.crt')),
      headers: {
        cookie,
        ...(origin ? { origin } : {}),
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, sock) => {
      sock.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One instant query of Prometheus' HTTP API on loopback. */
function promQuery(port: number, q: string) {
  return spawnSync('curl', ['-sg', '-m', '2', `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`], {
    encoding: 'utf8',
  });
}

test('berthd over HTTPS: trusted certificates and token sessions only', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  BERTH_ROOT.value = s.root;
  const d = await tlsDaemon(t, s);
  const good = clientCert(s, 'admin');
  const other = clientCert(s, 'stranger');
  assert.equal((await fetchTls(d.port, '/1.0')).status, 403, 'no certificate');
  assert.equal((await fetchTls(d.port, '/1.0', good)).status, 403, 'not trusted yet');
  s.ok(['trust', 'add', 'admin', good.cert]);
  assert.match(s.ok(['trust', 'list']), /^admin\t[0-9a-f]{64}\tCN=admin\t/m);
  const info = await fetchTls(d.port, '/1.0', good);
  assert.equal(info.status, 200, info.body);
  const refused = await fetchTls(d.port, '/1.0/containers', other);
  assert.equal(refused.status, 403);
  assert.equal(JSON.parse(refused.body).error.name, 'NOT_TRUSTED');
  // plain HTTP on the TCP port is not spoken
  const plain = spawnSync('curl', ['-s', '-m', '3', `http://127.0.0.1:${d.port}/1.0`]);
  assert.notEqual(plain.status, 0);

  // a browser's way in: a one-time token becomes a session cookie
  const token = s.ok(['trust', 'token', '--ttl', '1m']).trim();
  const login = await fetchTls(d.port, `/1.0/login?token=${token}`);
  assert.equal(login.status, 303);
  const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0] ?? '';
  assert.match(String((login.headers['set-cookie'] as string[])[0]), /HttpOnly; Secure; SameSite=Strict/);
  assert.equal((await fetchTls(d.port, `/1.0/login?token=${token}`)).status, 403, 'a token works once');
  assert.equal((await fetchTls(d.port, '/1.0/containers', { cookie })).status, 200);
  const cross = await fetchTls(d.port, '/1.0/containers', { cookie, method: 'POST', origin: 'https://evil.example' });
  assert.equal(cross.status, 403, 'a change from another site is refused');
  // a websocket from another site's page, which the browser sends the cookie with, is refused
  // (CSWSH); from berthd's own page, or a client that sends no Origin, it is accepted (the
  // missing container's error comes in the socket)
  const own = `https://127.0.0.1:${d.port}`;
  assert.equal(await upgradeTls(d.port, cookie, 'https://evil.example'), 403);
  assert.equal(await upgradeTls(d.port, cookie, own), 101);
  assert.equal(await upgradeTls(d.port, cookie), 101);
  // the dashboard's page without a session: a short HTML page that says how to begin one
  const page = await fetchTls(d.port, '/');
  assert.equal(page.status, 403);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /berth trust token/);
  assert.equal((await fetchTls(d.port, '/', { cookie })).status, 200);

  s.ok(['trust', 'remove', 'admin']);
  assert.equal((await fetchTls(d.port, '/1.0', good)).status, 403, 'removed: refused at once');
});

test('Prometheus scrapes berthd over HTTPS with a client certificate', { skip: ROOT_SKIP || PROM_SKIP }, async (t) => {
  const s = sandbox(t);
  BERTH_ROOT.value = s.root;
  s.ok(['create', '101']);
  s.ok(['set', '101', '--ram', '192M', '--save']);
  s.ok(['start', '101']);
  const d = await tlsDaemon(t, s);
  const cert = clientCert(s, 'prometheus');
  s.ok(['trust', 'add', 'prometheus', cert.cert]);
  const conf = join(s.root, 'prometheus.yml');
  writeFileSync(
    conf,
    [
      'global: { scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s }',
      'scrape_configs:',
      '  - job_name: berth',
      '    scheme: https',
      `    tls_config: { cert_file: ${cert.cert}, key_file: ${cert.key}, ca_file: ${join(s.root, 'etc/berth/berthd.crt')}, server_name: localhost }`,
      `    static_configs: [{ targets: ['127.0.0.1:${d.port}'] }]`,
      '',
    ].join('\n'),
  );
  const check = spawnSync('promtool', ['check', 'config', conf], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const web = d.port + 1;
  const prom = spawn(
    'prometheus',
    [`--config.file=${conf}`, `--storage.tsdb.path=${join(s.root, 'tsdb')}`, `--web.listen-address=127.0.0.1:${web}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let promLog = '';
  prom.stderr?.on('data', (b: Buffer) => {
    promLog += b.toString();
  });
  t.after(() => {
    if (!value) t.diagnostic(`${promLog.slice(-300)}\nquery: ${lastQuery}`);
    if (!value)
      t.diagnostic(spawnSync('curl', ['-s', `http://127.0.0.1:${web}/api/v1/targets`], { encoding: 'utf8' }).stdout);
    prom.kill('SIGKILL');
  });
  let value = '';
  let lastQuery = '';
  await waitFor(
    'Prometheus to have scraped the limit',
    () => {
      const r = promQuery(web, 'berth_container_memory_limit_bytes{ctid="101"}');
      lastQuery = r.stdout + r.stderr;
      try {
        value = JSON.parse(r.stdout).data.result[0].value[1];
        return true;
      } catch {
        return false;
      }
    },
    60_000,
  );
  assert.equal(Number(value), 192 * 1024 * 1024);
  const up = promQuery(web, 'up{job="berth"}');
  assert.equal(JSON.parse(up.stdout).data.result[0].value[1], '1');
  prom.kill('SIGKILL');
  s.ok(['stop', '--fast', '101']);
});

test('berth -r NAME drives a remote berthd: pinned certificate, trusted client, same exit codes', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  BERTH_ROOT.value = s.root;
  const d = await tlsDaemon(t, s);
  const env = { XDG_CONFIG_HOME: join(s.root, 'client-config') };
  const url = `https://127.0.0.1:${d.port}`;
  const fp = /SHA-256 ([0-9a-f]{64})/.exec(s.ok(['trust', 'list'])) ?? null;
  assert.equal(fp, null, 'nothing trusted yet');
  const serverFp =
    spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(s.root, 'etc/berth/berthd.crt')], {
      encoding: 'utf8',
    })
      .stdout.split('=')[1]
      ?.trim() ?? '';
  const wrong = s.berth(['remote', 'add', 'r1', url, '--fingerprint', 'ab'.repeat(32)], { env });
  assert.equal(wrong.code, 21, wrong.err);
  const add = s.berth(['remote', 'add', 'r1', url, '--fingerprint', serverFp], { env });
  assert.equal(add.code, 0, add.err);
  const clientCrt = join(env.XDG_CONFIG_HOME, 'berth/client.crt');
  assert.equal(statSync(join(env.XDG_CONFIG_HOME, 'berth/client.key')).mode & 0o777, 0o600);
  const untrusted = s.berth(['-r', 'r1', 'list'], { env });
  assert.equal(untrusted.code, 12, untrusted.err);
  assert.match(untrusted.err, /^berth: this client presented no trusted certificate/m);
  s.ok(['trust', 'add', 'cli', clientCrt]);
  const r = (args: string[]) => s.berth(['-r', 'r1', ...args], { env });
  assert.equal(r(['create', '101', '--hostname', 'far']).code, 0);
  assert.equal(r(['start', '101']).code, 0);
  assert.match(r(['list']).out, /^\s*101\s+\d+\s+running\s+-\s+far$/m);
  assert.match(r(['status', '101']).out, /^CTID 101 exist mounted running$/m);
  const ex = s.berth(['-r', 'r1', 'exec', '101', '--', 'sh', '-c', 'cat; hostname; exit 5'], { env, input: 'piped\n' });
  assert.equal(ex.code, 5);
  assert.equal(ex.out, 'piped\nfar\n');
  const missing = r(['start', '999']);
  assert.equal(missing.code, 14, 'the exit code the local verb gives');
  assert.match(missing.err, /^berth: .*999/m);
  assert.equal(r(['stop', '--fast', '101']).code, 0);
  assert.equal(r(['destroy', '101']).code, 0);
  assert.deepEqual(s.cts(), []);
});
