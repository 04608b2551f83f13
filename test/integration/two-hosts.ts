// Two berth hosts on one machine for the migration tests and bench: network namespaces A and
// B joined by a veth pair (10.251.0.0/24), each with its own berth root, berthd B on HTTPS
// trusted by A's client; and a client namespace C linked to both (10.252.0.0/16) for a TCP
// session to a container's routed address. Nothing touches the real host's network.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, type Run, Sandbox, waitFor } from './harness.ts';

/** What tears down after a test (a TestContext) or a bench run. */
export interface Cleanups {
  after(fn: () => unknown): void;
}

export const NA = `berth-it-migA-${process.pid}`;
export const NB = `berth-it-migB-${process.pid}`;
export const ADDR_A = '10.251.0.1';
export const ADDR_B = '10.251.0.2';

export const inNs = (ns: string, cmd: string[]) =>
  spawnSync('nsenter', [`--net=/run/netns/${ns}`, ...cmd], { encoding: 'utf8' });
export function must(ns: string, cmd: string[]): string {
  const r = inNs(ns, cmd);
  assert.equal(r.status, 0, `${ns}: ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export interface Hosts {
  a: Sandbox;
  b: Sandbox;
  /** the source's client config (XDG_CONFIG_HOME): remote b and this user's certificate */
  env: Record<string, string>;
  /** with both: B's client config, remote a */
  envB: Record<string, string>;
  /** berth on A, as the admin who migrates */
  onA(args: string[]): Run;
  /** berth migrate on A, started and not waited for */
  spawnMigrate(args: string[]): ChildProcess;
  /** berth migrate ARGS on FROM (to the other: "b" or, with both, "a"), waited for without blocking */
  migrate(from: 'a' | 'b', args: string[]): Promise<{ code: number | null; out: string; err: string; ms: number }>;
}

export interface HostsOptions {
  /** berthd on A too, trusted by B's client: migrations both ways */
  both?: boolean;
  /** puts the debian-12 template on A (debian-cache.ts useDebian); B imports it from A */
  debian?: (s: Sandbox) => void;
}

/** berthd of S in namespace NS on ADDR; its port and certificate fingerprint once it serves. */
async function serve(
  daemons: ChildProcess[],
  s: Sandbox,
  ns: string,
  addr: string,
): Promise<{ port: string; fp: string }> {
  const daemon = spawn(
    'nsenter',
    [`--net=/run/netns/${ns}`, BERTH, '--root', s.root, 'daemon', '--listen', `${addr}:0`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  daemons.push(daemon);
  let log = '';
  daemon.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const served = new RegExp(`https://${addr.replace(/\./g, '\\.')}:(\\d+)`);
  await waitFor(`berthd on ${addr}`, () => served.test(log) || daemon.exitCode !== null, 20_000);
  const port = served.exec(log)?.[1];
  assert.ok(port, `berthd on ${addr} did not serve: ${log}`);
  const fp = spawnSync(
    'openssl',
    ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(s.root, 'etc/berth/berthd.crt')],
    {
      encoding: 'utf8',
    },
  )
    .stdout.split('=')[1]
    ?.trim();
  return { port, fp: fp ?? '' };
}

/** CLIENT (config ENV) adds SERVER as remote NAME, and SERVER trusts CLIENT's certificate. */
function trust(client: Sandbox, env: Record<string, string>, server: Sandbox, name: string, url: string, fp: string) {
  const add = client.berth(['remote', 'add', name, url, '--fingerprint', fp], { env });
  assert.equal(add.code, 0, add.err);
  server.ok(['trust', 'add', `host-${name}`, join(env['XDG_CONFIG_HOME'] ?? '', 'berth/client.crt')]);
}

/** The two hosts, the link between them, berthd B (and A) and the trust; torn down after t. */
export async function twoHosts(t: Cleanups, opts: HostsOptions = {}): Promise<Hosts> {
  const a = new Sandbox();
  const b = new Sandbox();
  const daemons: ChildProcess[] = [];
  t.after(async () => {
    // the daemons first (their operations end with them), then each root's containers, then
    // the link; a journal a failed case left would stop the cleanup's destroy
    for (const d of daemons) {
      if (d.exitCode !== null) continue;
      const gone = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      await gone;
    }
    for (const s of [a, b]) rmSync(join(s.root, 'var/lib/berth/migrate'), { recursive: true, force: true });
    const leaks = [...a.cleanup(), ...b.cleanup()];
    spawnSync('ip', ['netns', 'del', NA]);
    spawnSync('ip', ['netns', 'del', NB]);
    if (leaks.length) throw new Error(`test left behind:\n${leaks.join('\n')}`);
  });
  for (const ns of [NA, NB]) {
    assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
    must(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  // the veth pair is made inside A and its peer moved to B: neither end is ever in the host's
  must(NA, ['ip', 'link', 'add', 'mig0', 'type', 'veth', 'peer', 'name', 'mig1']);
  must(NA, ['ip', 'link', 'set', 'mig1', 'netns', NB]);
  must(NB, ['ip', 'link', 'set', 'mig1', 'name', 'mig0']);
  must(NA, ['ip', 'addr', 'add', `${ADDR_A}/24`, 'dev', 'mig0']);
  must(NB, ['ip', 'addr', 'add', `${ADDR_B}/24`, 'dev', 'mig0']);
  for (const ns of [NA, NB]) must(ns, ['ip', 'link', 'set', 'mig0', 'up']);
  a.wrap = ['nsenter', `--net=/run/netns/${NA}`];
  b.wrap = ['nsenter', `--net=/run/netns/${NB}`];
  for (const s of [a, b]) {
    mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
    writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="mig0"\n');
  }
  // B gets A's busybox template as it is (same sha256): an overlay container's layer is there
  a.template();
  b.ok(['template', 'import', join(a.root, 'var/lib/berth/template/cache/busybox.tar.zst'), '--name', 'busybox']);
  if (opts.debian) {
    opts.debian(a);
    b.ok(['template', 'import', join(a.root, 'var/lib/berth/template/cache/debian-12.tar.zst'), '--name', 'debian-12']);
  }

  const env = { XDG_CONFIG_HOME: join(a.root, 'client-config') };
  const envB = { XDG_CONFIG_HOME: join(b.root, 'client-config') };
  const sb = await serve(daemons, b, NB, ADDR_B);
  trust(a, env, b, 'b', `https://${ADDR_B}:${sb.port}`, sb.fp);
  if (opts.both) {
    const sa = await serve(daemons, a, NA, ADDR_A);
    trust(b, envB, a, 'a', `https://${ADDR_A}:${sa.port}`, sa.fp);
  }
  const onA = (args: string[]) => a.berth(args, { env });
  const spawnMigrate = (args: string[]) =>
    spawn('nsenter', [`--net=/run/netns/${NA}`, BERTH, '--root', a.root, 'migrate', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
  const migrate = (from: 'a' | 'b', args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string; ms: number }>((res) => {
      const t0 = Date.now();
      const [s, ns, e] = from === 'a' ? [a, NA, env] : [b, NB, envB];
      const c = spawn('nsenter', [`--net=/run/netns/${ns}`, BERTH, '--root', s.root, 'migrate', ...args], {
        env: { ...process.env, ...e },
      });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      c.on('exit', (code) => res({ code, out, err, ms: Date.now() - t0 }));
    });
  return { a, b, env, envB, onA, spawnMigrate, migrate };
}

/** status --json of CTID on one host: whether it exists and runs there. */
export function where(s: Sandbox, id: string): { exists: boolean; running: boolean; migrating: string | null } {
  const st = JSON.parse(s.ok(['status', id, '--json'])) as { exist: boolean; status: string; migrating: string | null };
  return { exists: st.exist, running: st.status === 'running', migrating: st.migrating };
}

export const NC = `berth-it-migC-${process.pid}`;
export const CLIENT = '10.252.0.9';
export const BUSYBOX = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();

/**
 * A client namespace NC linked to A (10.252.1.0/24) and to B (10.252.2.0/24), its address
 * CLIENT routed back from both; its route to the container goes via A, then (set by the test,
 * as the network's routing would learn it) via B.
 */
export function clientNet(t: Cleanups): (via: 'a' | 'b', ip: string) => void {
  assert.equal(spawnSync('ip', ['netns', 'add', NC]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NC]));
  must(NC, ['ip', 'link', 'set', 'lo', 'up']);
  must(NC, ['ip', 'addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
  for (const [ns, n] of [
    [NA, 1],
    [NB, 2],
  ] as const) {
    must(NC, ['ip', 'link', 'add', `c${n}`, 'type', 'veth', 'peer', 'name', 'mc0']);
    must(NC, ['ip', 'link', 'set', 'mc0', 'netns', ns]);
    must(NC, ['ip', 'addr', 'add', `10.252.${n}.2/24`, 'dev', `c${n}`]);
    must(NC, ['ip', 'link', 'set', `c${n}`, 'up']);
    must(ns, ['ip', 'addr', 'add', `10.252.${n}.1/24`, 'dev', 'mc0']);
    must(ns, ['ip', 'link', 'set', 'mc0', 'up']);
    must(ns, ['ip', 'route', 'add', `${CLIENT}/32`, 'via', `10.252.${n}.2`]);
    must(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }
  return (via, ip) =>
    must(NC, ['ip', 'route', 'replace', `${ip}/32`, 'via', via === 'a' ? '10.252.1.1' : '10.252.2.1', 'src', CLIENT]);
}

/** A TCP echo session from NC: a line every 20 ms, the longest time without an echo measured. */
export function echoSession(t: Cleanups, ip: string) {
  const client = spawn('nsenter', [`--net=/run/netns/${NC}`, BUSYBOX, 'nc', ip, '7000'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  client.stdin.on('error', () => {}); // the session ends with its container, after the test
  t.after(() => client.kill('SIGKILL'));
  let got = '';
  let last = 0;
  let gap = 0;
  client.stdout.on('data', (d: Buffer) => {
    const now = Date.now();
    if (last) gap = Math.max(gap, now - last);
    last = now;
    got += d.toString();
  });
  let n = 0;
  const timer = setInterval(() => client.stdin.write(`line-${n++}\n`), 20);
  t.after(() => clearInterval(timer));
  return {
    /** waits until the echo of a line sent now comes back (false: not within ms) */
    async answers(ms = 10_000): Promise<boolean> {
      const want = `line-${n}\n`;
      const end = Date.now() + ms;
      while (!got.includes(want) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return got.includes(want);
    },
    close(): void {
      clearInterval(timer);
      client.kill('SIGKILL');
    },
    /** the longest gap so far, and starts a new measure */
    gap(): number {
      const g = gap;
      gap = 0;
      return g;
    },
  };
}

/** A busybox container on A with ip, an echo server on 7000 and a counter in /root/counter. */
export function onlineBusybox(h: Hosts, id: string, ip: string): void {
  h.a.ok(['create', id, '--ostemplate', 'busybox']);
  h.a.ok(['set', id, '--ipadd', ip, '--save']);
  h.a.ok(['start', id]);
  h.a.ok(['exec', id, '--', 'sh', '-c', 'nc -ll -p 7000 -e cat </dev/null >/dev/null 2>&1 &']);
  h.a.ok([
    'exec',
    id,
    '--',
    'sh',
    '-c',
    "sh -c 'i=0; while :; do i=$((i+1)); echo $i >/root/counter; sleep 0.1; done' </dev/null >/dev/null 2>&1 &",
  ]);
  spawnSync('sleep', ['0.5']);
}
