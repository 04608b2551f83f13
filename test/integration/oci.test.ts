// berth-oci (the shipped executable under that name) on a bundle made from the busybox template,
// driven as containerd's runc shim drives a runtime: create with a pid file and the caller's
// pipes, start, state, kill, delete; the effects checked on the host (namespaces, capabilities,
// seccomp, limits, cgroups), refusals that leave nothing, and creates killed at random moments
// that `delete --force` cleans.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startOciServer } from './docker-daemon.ts';
import { berthEnv, REPO, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';

const OCI = join(REPO, 'bin/berth-oci');

// biome-ignore lint/suspicious/noExplicitAny: the tests edit config.json's fields as plain JSON
type Config = any;

interface Bundle {
  dir: string;
  state: string;
  log: string;
  cgroup: string;
  /** berth's own run directory for berth-oci (the sandbox's: its id registry, stages, lxcfs) */
  run: string;
  env: NodeJS.ProcessEnv;
  oci: (args: string[], input?: string) => SpawnSyncReturns<string>;
  config: (edit: (c: Config) => void) => void;
}

/** A bundle of the busybox template's files, its own --root, log and cgroup parent. */
function bundle(t: { after: (f: () => void) => void }, s: Sandbox): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'berth-oci-'));
  s.busyboxTree(join(dir, 'rootfs'));
  const state = join(dir, 'state');
  const log = join(dir, 'log.json');
  const cgroup = `berth-oci-test-${process.pid}`;
  const env = berthEnv(s);
  // stdout and stderr go to files, not pipes: a created container keeps them (its stdio), and
  // spawnSync would wait for the pipes' end until its timeout
  let calls = 0;
  const oci = (args: string[], input = ''): SpawnSyncReturns<string> => {
    const [out, err] = ['out', 'err'].map((k) => join(dir, `oci-${++calls}.${k}`)) as [string, string];
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    try {
      const r = spawnSync(OCI, ['--root', state, '--log', log, '--log-format', 'json', ...args], {
        env,
        input,
        stdio: ['pipe', fds[0], fds[1]],
        timeout: 30_000,
      });
      return { ...r, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8'), output: [] };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  };
  assert.equal(oci(['spec', '--bundle', dir]).status, 0);
  // the calls go to berth-oci's call server of the sandbox's root (the test of SIGKILLs at every
  // point, oci-sigkill.test.ts, runs the executable itself)
  const server = startOciServer(env);
  // a failed check leaves nothing either: the containers go first, their state with them, then
  // the server and the bundle (one hook, so the order holds)
  t.after(() => {
    for (const id of ['c2', 'c3', 'c1']) oci(['delete', '--force', id]);
    server.stop();
    // the parent level stays when another container found it made (as runc leaves it): the test's own
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
      try {
        rmdirSync(join('/sys/fs/cgroup', h, cgroup));
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const config = (edit: (c: Config) => void) => {
    const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    c.process.terminal = false;
    c.linux.cgroupsPath = `/${cgroup}/c1`;
    edit(c);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
  };
  return { dir, state, log, cgroup, run: join(s.root, 'run/berth'), env, oci, config };
}

/** The container's cgroup directories left on the host (none once deleted). */
const cgroupsLeft = (b: Bundle) =>
  readdirSync('/sys/fs/cgroup').flatMap((h) => (existsSync(join('/sys/fs/cgroup', h, b.cgroup, 'c1')) ? [h] : []));

const parentsLeft = (b: Bundle) =>
  readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, b.cgroup)));

/** A sysctl as PID's network namespace has it (/proc/sys/net shows the reader's). */
const sysctlIn = (pid: number, key: string) =>
  spawnSync('nsenter', ['-t', String(pid), '-n', 'cat', `/proc/sys/${key}`], { encoding: 'utf8' }).stdout;

/** The memory and pids limits of c1 as the kernel has them (v1 hybrid, or v2). */
function limits(b: Bundle): { memory: string; pids: string } {
  const at = (h: string, f: string) => join('/sys/fs/cgroup', h, b.cgroup, 'c1', f);
  const v1 = existsSync(at('memory', 'memory.limit_in_bytes'));
  const read = (p: string) => readFileSync(p, 'utf8').trim();
  return v1
    ? { memory: read(at('memory', 'memory.limit_in_bytes')), pids: read(at('pids', 'pids.max')) }
    : { memory: read(at('', 'memory.max')), pids: read(at('', 'pids.max')) };
}

/** berth-oci's staging mounts (idmapped copies of roots and binds) still on the host. */
const stagedLeft = (b: Bundle) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${b.run}/oci-stage/`));

/** The id ranges berth's registry gives container ID of B's --root. */
function rangesOf(b: Bundle, id: string): number[] {
  const dir = join(b.run, 'oci-ids');
  if (!existsSync(dir)) return [];
  // BASE files only: a create killed while writing its holder leaves BASE.tmp-PID, which the
  // next allocation removes (its writer gone)
  return readdirSync(dir)
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      const h = JSON.parse(readFileSync(join(dir, n), 'utf8'));
      return h.root === b.state && h.id === id;
    })
    .map(Number);
}

const status = (b: Bundle, id: string) => JSON.parse(b.oci(['state', id]).stdout).status as string;

test('berth-oci: create, start, state, kill and delete, checked on the host', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  b.config((c) => {
    // as runc runs it: the spec's capabilities, no user namespace (the system container's test is below)
    c.annotations = { 'berth.io/system': 'false' };
    c.process.args = [
      'sh',
      '-c',
      'echo "out $(hostname)"; echo err >&2; touch /x 2>/dev/null || echo read-only; exec sleep 60',
    ];
    c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 50 } };
    // each hook keeps its stdin (the state), its argv[0] and its env; poststop fails (a warning)
    const hook = (name: string, extra = '') => ({
      path: '/bin/sh',
      args: [`hook-${name}`, '-c', `cat > ${b.dir}/${name}.json; echo "$0 $FOO" > ${b.dir}/${name}.argv${extra}`],
      env: ['FOO=bar'],
      timeout: 10,
    });
    // the runtime's hooks in the runtime's namespaces, in order; createContainer in the
    // container's mount namespace before pivot_root (host paths), startContainer inside it
    const ns = `; echo $0 >> ${b.dir}/order; readlink /proc/self/ns/mnt > ${b.dir}/$0.mnt`;
    c.hooks = {
      prestart: [hook('prestart', ns)],
      createRuntime: [hook('createRuntime', ns)],
      createContainer: [hook('createContainer', ns)],
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /dev/shm/startContainer.json'] }],
      poststart: [hook('poststart')],
      poststop: [hook('poststop', '; exit 9')],
    };
    // a namespaced sysctl, written in its own network namespace; a device node made for it
    c.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '99' };
    c.linux.devices = [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 7, gid: 8 }];
  });
  // the caller's pipes are the process's (the shim reads them), and create returns at once
  const create = spawn(OCI, ['--root', b.state, 'create', '--bundle', b.dir, '--pid-file', join(b.dir, 'pid'), 'c1'], {
    env: b.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  create.stdout.on('data', (d) => {
    out += d;
  });
  create.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise((r) => create.once('exit', r));
  assert.equal(code, 0, err);
  const pidText = readFileSync(join(b.dir, 'pid'), 'utf8');
  assert.match(pidText, /^\d+$/, 'the pid alone, no newline (containerd reads it with Atoi)');
  const pid = Number(pidText);
  assert.equal(status(b, 'c1'), 'created');
  const hookRead = (name: string) => ({
    argv: readFileSync(join(b.dir, `${name}.argv`), 'utf8'),
    state: JSON.parse(readFileSync(join(b.dir, `${name}.json`), 'utf8')),
  });
  const pre = hookRead('prestart');
  assert.equal(pre.argv, 'hook-prestart bar\n', "the hook's own argv[0] and env");
  assert.deepEqual(
    { id: pre.state.id, pid: pre.state.pid, bundle: pre.state.bundle },
    { id: 'c1', pid, bundle: b.dir },
  );
  assert.equal(readFileSync(join(b.dir, 'order'), 'utf8'), 'hook-prestart\nhook-createRuntime\nhook-createContainer\n');
  const mntOf = (name: string) => readFileSync(join(b.dir, `hook-${name}.mnt`), 'utf8').trim();
  assert.equal(mntOf('createRuntime'), readlinkSync('/proc/self/ns/mnt'), "createRuntime: the runtime's namespace");
  assert.equal(mntOf('createContainer'), readlinkSync(`/proc/${pid}/ns/mnt`), "createContainer: the container's");
  assert.deepEqual(
    { status: hookRead('createContainer').state.status, pid: hookRead('createContainer').state.pid },
    { status: 'creating', pid },
    'the pid as the host sees it',
  );
  assert.ok(!existsSync(join(b.dir, 'poststart.json')), 'poststart waits for start');
  assert.equal(sysctlIn(pid, 'net/ipv4/ip_unprivileged_port_start'), '99\n', 'the sysctl, in its network namespace');
  assert.notEqual(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'), '99\n', "not the host's");
  const node = spawnSync('stat', ['-c', '%F %t:%T %a %u:%g', `/proc/${pid}/root/dev/mynull`], { encoding: 'utf8' });
  assert.equal(node.stdout, 'character special file 1:3 640 7:8\n', 'linux.devices: the node, its mode and owner');
  assert.equal(out, '', 'nothing runs before start');
  assert.equal(b.oci(['start', 'c1']).status, 0);
  assert.equal(hookRead('poststart').state.status, 'running');
  const started = JSON.parse(b.oci(['exec', 'c1', 'cat', '/dev/shm/startContainer.json']).stdout);
  assert.deepEqual({ status: started.status, pid: started.pid, id: started.id }, { status: 'created', pid, id: 'c1' });
  await waitFor('the output', () => out.includes('read-only'));
  assert.equal(out, 'out berth\nread-only\n', 'hostname from config.json; a read-only root');
  assert.equal(err, 'err\n');
  const st = JSON.parse(b.oci(['state', 'c1']).stdout);
  assert.deepEqual(
    { id: st.id, pid: st.pid, status: st.status, bundle: st.bundle },
    {
      id: 'c1',
      pid,
      status: 'running',
      bundle: b.dir,
    },
  );
  // the host's view of the process
  const proc = readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(proc, /^NSpid:\s+\d+\s+1$/m, 'pid 1 of its own pid namespace');
  assert.match(proc, /^CapBnd:\s+0000000020000420$/m, "only the spec's three capabilities");
  assert.match(proc, /^Seccomp:\s+2$/m, 'a seccomp filter');
  assert.match(proc, /^NoNewPrivs:\s+1$/m);
  assert.match(readFileSync(`/proc/${pid}/limits`, 'utf8'), /^Max open files\s+1024\s+1024/m, 'rlimits');
  assert.ok(cgroupsLeft(b).length > 0, 'in cgroups under cgroupsPath');
  // limits from linux.resources, and update: what the shim's document or a flag names changes
  assert.deepEqual(limits(b), { memory: String(64 << 20), pids: '50' });
  assert.equal(b.oci(['update', '--pids-limit', '77', 'c1']).status, 0);
  assert.deepEqual(limits(b), { memory: String(64 << 20), pids: '77' }, 'a flag changes what it names');
  const upd = b.oci(['update', '--resources', '-', 'c1'], JSON.stringify({ memory: { limit: 32 << 20 } }));
  assert.equal(upd.status, 0, upd.stderr);
  assert.deepEqual(limits(b), { memory: String(32 << 20), pids: '77' }, 'a document changes what it names');
  const unl = b.oci(['update', '--resources', '-', 'c1'], JSON.stringify({ pids: { limit: -1 } }));
  assert.equal(unl.status, 0, unl.stderr);
  assert.deepEqual(limits(b), { memory: String(32 << 20), pids: 'max' }, '-1: no limit');
  // a second container in the first one's network namespace (a pod's), by path
  b.config((c) => {
    c.process.args = ['sleep', '60'];
    c.hooks = {};
    // a sysctl of the joined namespace: written by the host's root, from inside it
    c.linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '98' };
    c.linux.cgroupsPath = `/${b.cgroup}/c2`;
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n,
    );
  });
  const c2 = b.oci(['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'pid2'), 'c2']);
  assert.equal(c2.status, 0, c2.stderr);
  const pid2 = Number(readFileSync(join(b.dir, 'pid2'), 'utf8'));
  const nsOf = (p: number, t: string) => readlinkSync(`/proc/${p}/ns/${t}`);
  assert.equal(nsOf(pid2, 'net'), nsOf(pid, 'net'), 'the network namespace joined');
  assert.notEqual(nsOf(pid2, 'uts'), nsOf(pid, 'uts'), 'the others its own');
  assert.equal(sysctlIn(pid, 'net/ipv4/ip_unprivileged_port_start'), '98\n', "the pod's, joined");
  assert.equal(b.oci(['delete', '--force', 'c2']).status, 0);
  // a cgroupsPath that exists (another container's, a host slice) is refused: never killed in
  b.config((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    c.linux.sysctl = {};
  });
  const taken = b.oci(['create', '--bundle', b.dir, 'c3']); // config.json's path is c1's
  assert.equal(taken.status, 1);
  assert.match(taken.stderr, /cgroup \/berth-oci-test-\d+\/c1 exists already/);
  assert.equal(status(b, 'c1'), 'running', 'c1 untouched');
  // ps, pause and resume: the cgroups' processes, their freezer
  assert.deepEqual(JSON.parse(b.oci(['ps', '--format', 'json', 'c1']).stdout), [pid]);
  assert.equal(b.oci(['pause', 'c1']).status, 0);
  assert.equal(status(b, 'c1'), 'paused');
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^State:\s+[SD]/m);
  assert.equal(b.oci(['resume', 'c1']).status, 0);
  assert.equal(status(b, 'c1'), 'running');
  // exec, not detached: the caller's stdio, and the process's exit status
  const ex = b.oci(['exec', 'c1', 'sh', '-c', 'cat; echo " $(id -u)"; exit 4'], 'piped in');
  assert.equal(ex.status, 4, ex.stderr);
  assert.equal(ex.stdout, 'piped in 0\n');
  assert.equal(b.oci(['exec', '--user', '1000:1000', 'c1', 'id', '-u']).stdout, '1000\n');
  // delete refuses a running one; kill, then delete
  const refused = b.oci(['delete', 'c1']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /not stopped/);
  assert.equal(b.oci(['kill', 'c1', 'KILL']).status, 0);
  await waitFor('the process to end', () => status(b, 'c1') === 'stopped');
  const again = b.oci(['kill', 'c1', 'TERM']);
  assert.match(again.stderr, /container not running/, 'the words the shim matches on');
  const del = b.oci(['delete', 'c1']);
  assert.equal(del.status, 0, 'a failing poststop hook is a warning');
  assert.match(del.stderr, /warning: poststop hook \/bin\/sh: exit 9/);
  assert.equal(hookRead('poststop').state.status, 'stopped');
  assert.ok(!existsSync(join(b.state, 'c1')), 'state removed');
  assert.deepEqual(cgroupsLeft(b), [], 'cgroups removed');
  assert.deepEqual(parentsLeft(b), []);
  const gone = b.oci(['state', 'c1']);
  assert.match(gone.stderr, /container does not exist/);
  assert.equal(JSON.parse(readFileSync(b.log, 'utf8').trim().split('\n').at(-1) ?? '{}').level, 'error');
});

test('berth-oci: a refused create leaves nothing; delete --force of what is gone is 0', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  b.config((c) => {
    c.annotations = { 'berth.io/system': 'false' };
    c.process.args = ['no-such-command'];
  });
  const r = b.oci(['create', '--bundle', b.dir, 'c1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no-such-command: executable file not found in \$PATH/, 'found missing at create');
  assert.ok(!existsSync(join(b.state, 'c1')));
  assert.deepEqual(cgroupsLeft(b), []);
  b.config((c) => {
    c.process.args = ['true'];
    c.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }] };
  });
  const hooked = b.oci(['create', '--bundle', b.dir, 'c1']);
  assert.equal(hooked.status, 1);
  assert.match(hooked.stderr, /prestart hook \/bin\/sh: exit 3/, 'a failing prestart hook fails the create');
  assert.ok(!existsSync(join(b.state, 'c1')), 'and undoes it');
  assert.deepEqual(cgroupsLeft(b), []);
  b.config((c) => {
    c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no GPU here >&2; exit 4'] }] };
  });
  const cc = b.oci(['create', '--bundle', b.dir, 'c1']);
  assert.equal(cc.status, 1);
  assert.match(cc.stderr, /createContainer hook \/bin\/sh: exit 4: no GPU here/, 'its words, from the container side');
  assert.ok(!existsSync(join(b.state, 'c1')));
  assert.deepEqual(cgroupsLeft(b), []);
  // a failing startContainer hook: the command never runs; start has returned by then (runc's too)
  b.config((c) => {
    c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }] };
    c.root.readonly = false;
    c.process.args = ['touch', '/ran'];
  });
  assert.equal(b.oci(['create', '--bundle', b.dir, 'c1']).status, 0);
  assert.equal(b.oci(['start', 'c1']).status, 0);
  await waitFor('the process to end', () => status(b, 'c1') === 'stopped');
  assert.ok(!existsSync(join(b.dir, 'rootfs/ran')), 'the command did not run');
  assert.equal(b.oci(['delete', 'c1']).status, 0);
  assert.deepEqual(cgroupsLeft(b), []);
  // a working directory through /proc/self/fd (runc's CVE-2024-21626): never a host directory
  for (const cwd of ['/proc/self/fd/3', '/proc/self/cwd', '/proc/1/root']) {
    b.config((c) => {
      c.hooks = {};
      c.process.args = ['pwd'];
      c.process.cwd = cwd;
    });
    const esc = b.oci(['create', '--bundle', b.dir, 'c1']);
    assert.equal(esc.status, 1, `cwd ${cwd}: ${esc.stderr}`);
    assert.match(esc.stderr, /chdir/, cwd);
    assert.ok(!existsSync(join(b.state, 'c1')));
  }
  b.config((c) => {
    c.process.cwd = '/';
    c.linux.namespaces.push({ type: 'network', path: '/proc/1/ns/net' });
  });
  const dup = b.oci(['create', '--bundle', b.dir, 'c1']);
  assert.match(dup.stderr, /network is named twice/);
  assert.ok(!existsSync(join(b.state, 'c1')));
  assert.equal(b.oci(['delete', '--force', 'c1']).status, 0);
  assert.match(b.oci(['create', '--bundle', b.dir, '../x']).stderr, /invalid container id/);

  // without a cgroup namespace of its own, /sys/fs/cgroup is the host's tree: read-only
  const probe = `berth-oci-probe-${process.pid}`;
  b.config((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => !['cgroup', 'network'].includes(n.type));
    c.process.args = ['sh', '-c', `for h in /sys/fs/cgroup /sys/fs/cgroup/*; do mkdir $h/${probe}; done; true`];
  });
  const run = (args: string[]) =>
    spawnSync(OCI, ['--root', b.state, ...args], { env: b.env, stdio: 'ignore', timeout: 30_000 });
  assert.equal(run(['create', '--bundle', b.dir, 'c1']).status, 0);
  assert.equal(run(['start', 'c1']).status, 0);
  await waitFor('the probe to end', () => status(b, 'c1') === 'stopped');
  const made = ['', ...readdirSync('/sys/fs/cgroup')].filter((h) => existsSync(join('/sys/fs/cgroup', h, probe)));
  for (const h of made) rmdirSync(join('/sys/fs/cgroup', h, probe));
  assert.deepEqual(made, [], 'no cgroup made in the host tree');
  assert.equal(b.oci(['delete', 'c1']).status, 0);
});

test('berth-oci: a create killed at any moment is cleaned by delete --force', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  b.config((c) => {
    c.process.args = ['sleep', '60'];
  });
  for (let i = 0; i < 12; i++) {
    const child = spawn(OCI, ['--root', b.state, 'create', '--bundle', b.dir, 'c1'], { env: b.env, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    setTimeout(() => child.kill('SIGKILL'), i * 6);
    await exited;
    const st = b.oci(['state', 'c1']);
    if (st.status === 0) assert.match(JSON.parse(st.stdout).status, /^(creating|created|stopped)$/);
    assert.equal(b.oci(['delete', '--force', 'c1']).status, 0, 'delete --force takes what was left');
    assert.ok(!existsSync(join(b.state, 'c1')), `round ${i}: state left`);
    assert.deepEqual(cgroupsLeft(b), [], `round ${i}: cgroups left`);
    // a system container (the default): its staged idmapped root and its id range go too
    assert.deepEqual(stagedLeft(b), [], `round ${i}: staged mounts left`);
    assert.deepEqual(rangesOf(b, 'c1'), [], `round ${i}: id range left`);
  }
  assert.deepEqual(parentsLeft(b), [], 'the cgroup parent goes with its last container');
  // the holders' temporaries its killed creates left (the next allocation would take them away)
  for (const n of existsSync(join(b.run, 'oci-ids')) ? readdirSync(join(b.run, 'oci-ids')) : []) {
    const f = join(b.run, 'oci-ids', n);
    if (n.includes('.tmp-') && readFileSync(f, 'utf8').includes(JSON.stringify(b.state))) rmSync(f, { force: true });
  }
});

test('berth-oci: a system container by default: its own id range, an idmapped root, lxcfs, its cgroups', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  const script = [
    'id -u',
    'ls -ln /bin/busybox',
    'touch /made-inside && ls -ln /made-inside',
    'head -1 /proc/meminfo',
    // its systemd's part of the cgroups is writable (v1 name=systemd, or its own v2 subtree)
    'if [ -d /sys/fs/cgroup/systemd ]; then d=/sys/fs/cgroup/systemd; else d=/sys/fs/cgroup; fi; mkdir $d/probe && echo cg-writable && rmdir $d/probe',
    'exec sleep 60',
  ].join('; ');
  b.config((c) => {
    c.root.readonly = false;
    c.process.args = ['sh', '-c', script];
    c.linux.resources = { memory: { limit: 96 << 20 } };
  });
  const out = join(b.dir, 'out');
  const create = spawnSync(
    'sh',
    [
      '-c',
      `exec "$0" --root "$1" create --bundle "$2" --pid-file "$2/pid" c1 >"$3" 2>&1 </dev/null`,
      OCI,
      b.state,
      b.dir,
      out,
    ],
    { env: b.env, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(create.status, 0, readFileSync(out, 'utf8'));
  const pid = Number(readFileSync(join(b.dir, 'pid'), 'utf8'));
  // a second one at once: a range of its own
  // with Docker's sysctl, a device of the host's (bound in: a user namespace makes no nodes)
  // and a hook in its namespaces as its root, run before pivot_root
  const fuse = existsSync('/dev/fuse');
  // where its root (a high host uid) may write: the bundle is the host root's alone
  const open = mkdtempSync(join(tmpdir(), 'berth-oci-hook-'));
  chmodSync(open, 0o1777);
  t.after(() => rmSync(open, { recursive: true, force: true }));
  if (!fuse) t.diagnostic('no /dev/fuse on this host: the device bound into a system container is not checked');
  b.config((c) => {
    c.linux.cgroupsPath = `/${b.cgroup}/c2`;
    c.process.args = ['sleep', '60'];
    c.linux.sysctl = { 'net.ipv4.ping_group_range': '0 2147483647' };
    c.linux.devices = fuse ? [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] : [];
    c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `id -u > ${open}/cc-uid`] }] };
  });
  const c2 = b.oci(['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'pid2'), 'c2']);
  assert.equal(c2.status, 0, c2.stderr);
  const pidOf2 = Number(readFileSync(join(b.dir, 'pid2'), 'utf8'));
  // its ids: all of its own groups (the kernel refuses ids its user namespace does not map)
  const [low, high] = sysctlIn(pidOf2, 'net/ipv4/ping_group_range').trim().split(/\s+/).map(Number);
  const base = Number(readFileSync(`/proc/${pidOf2}/gid_map`, 'utf8').trim().split(/\s+/)[1]);
  assert.deepEqual([low, high], [base, base + 65535], "Docker's ping_group_range, within its ids");
  assert.equal(readFileSync(join(open, 'cc-uid'), 'utf8'), '0\n', 'createContainer: as its root');
  if (fuse) {
    const node = spawnSync('stat', ['-c', '%F %t:%T', `/proc/${pidOf2}/root/dev/fuse`], { encoding: 'utf8' });
    assert.equal(node.stdout, 'character special file a:e5\n', "the host's /dev/fuse");
  }
  assert.equal(b.oci(['start', 'c1']).status, 0);
  await waitFor('its output', () => readFileSync(out, 'utf8').includes('cg-writable'));
  const lines = readFileSync(out, 'utf8').split('\n');
  assert.equal(lines[0], '0', 'root inside');
  assert.match(lines[1] ?? '', /^\S+\s+\d+\s+0\s+0\s/, "host root's files are its root's (an idmapped root)");
  assert.match(lines[2] ?? '', /^\S+\s+\d+\s+0\s+0\s/);
  assert.equal(lines[3]?.replace(/\s+/g, ' '), `MemTotal: ${96 << 10} kB`, "lxcfs: its own memory, not the host's");
  // on the host: an unprivileged process, in its own user and cgroup namespaces
  const map = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(map[0], 0);
  assert.ok((map[1] ?? 0) >= 1048576, `uid 0 inside is host uid ${map[1]}`);
  assert.equal(map[2], 65536);
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${map[1]}\\s`, 'm'));
  assert.deepEqual(rangesOf(b, 'c1'), [map[1]], "the range is in berth's registry, under its --root and id");
  const pid2 = Number(readFileSync(join(b.dir, 'pid2'), 'utf8'));
  const map2 = readFileSync(`/proc/${pid2}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
  assert.ok(Math.abs((map2[1] ?? 0) - (map[1] ?? 0)) >= 65536, 'the second container has a range of its own');
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/cgroup`), readlinkSync('/proc/self/ns/cgroup'));
  const made = spawnSync('stat', ['-c', '%u:%g', join(b.dir, 'rootfs/made-inside')], { encoding: 'utf8' });
  assert.equal(made.stdout.trim(), '0:0', 'what its root makes is owned by root on disk, not by its range');
  assert.deepEqual(stagedLeft(b), [], 'the staged root is detached from the host once the container has it');
  for (const id of ['c1', 'c2']) assert.equal(b.oci(['delete', '--force', id]).status, 0);
  assert.deepEqual([...rangesOf(b, 'c1'), ...rangesOf(b, 'c2')], [], 'the ranges given back');
  assert.deepEqual(cgroupsLeft(b), []);
});

test('berth-oci run: create and start in one, its status, a signal relayed, nothing left; --detach', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  b.config((c) => {
    c.process.args = ['sh', '-c', 'echo ran; exit 7'];
  });
  const r = b.oci(['run', '--bundle', b.dir, 'c1']);
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  assert.ok(!existsSync(join(b.state, 'c1')), 'deleted once it ended');
  assert.deepEqual(cgroupsLeft(b), []);
  assert.deepEqual(rangesOf(b, 'c1'), []);
  // a TERM to run is its init's (which, as a pid namespace's init, gets only those it handles)
  b.config((c) => {
    c.process.args = ['sh', '-c', 'trap "exit 9" TERM; while :; do sleep 1; done'];
  });
  const child = spawn(OCI, ['--root', b.state, 'run', '--bundle', b.dir, 'c1'], { env: b.env, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await waitFor('it to run', () => existsSync(join(b.state, 'c1')) && status(b, 'c1') === 'running');
  child.kill('SIGTERM');
  assert.equal(await exited, 9);
  assert.ok(!existsSync(join(b.state, 'c1')));
  // detached, the process keeps run's stdio (as runc's): not pipes this test would wait on
  const d = spawnSync(OCI, ['--root', b.state, 'run', '--detach', '--bundle', b.dir, 'c1'], {
    env: b.env,
    stdio: 'ignore',
    timeout: 30_000,
  });
  assert.equal(d.status, 0);
  assert.equal(status(b, 'c1'), 'running');
  assert.equal(b.oci(['delete', '--force', 'c1']).status, 0);
});

/** The call server's counters (what `serve --status` prints; read here without a call of their own). */
function serverStats(b: Bundle): { pid: number; served: number; declined: number; allBusy: number } {
  return JSON.parse(readFileSync(join(b.run, 'oci-server/stats.json'), 'utf8'));
}

test('berth-oci through its call server: served by workers, the caller keeps its process and stdio, other callers are not served', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const b = bundle(t, s);
  const ppidFile = join(b.dir, 'poststart.ppid');
  b.config((c) => {
    c.process.args = ['sh', '-c', 'echo from-init; exec sleep 60'];
    // the hook's parent is the helper run that runs it; that one's parent must be the caller
    c.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `cut -d' ' -f4 /proc/$PPID/stat > ${ppidFile}`] }] };
  });
  const sockDir = join(b.run, 'oci-server');
  assert.equal(statSync(sockDir).mode & 0o777, 0o700, "the server's directory is root's alone");
  assert.equal(statSync(join(sockDir, 'sock')).mode & 0o777, 0o600);
  const status = spawnSync(OCI, ['serve', '--status'], { env: b.env, encoding: 'utf8' });
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /"served": \d+/);
  await new Promise((r) => setTimeout(r, 400));
  const before = serverStats(b);
  const workers = () =>
    readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/stat`, 'utf8').split(' ')[3] === String(before.pid);
      } catch {
        return false;
      }
    });
  const pool = workers();
  assert.ok(pool.length >= 1, 'the server keeps workers');
  // create: served, and the container's process has the caller's own stdout (its file)
  assert.equal(b.oci(['create', '--bundle', b.dir, 'c1']).status, 0);
  const pid = JSON.parse(b.oci(['state', 'c1']).stdout).pid as number;
  const out = readlinkSync(`/proc/${pid}/fd/1`);
  assert.match(out, /oci-\d+\.out$/, 'the init writes where the create call wrote');
  const start = spawn(OCI, ['--root', b.state, 'start', 'c1'], { env: b.env, stdio: 'ignore' });
  assert.equal(await new Promise((r) => start.once('exit', r)), 0);
  assert.equal(readFileSync(ppidFile, 'utf8').trim(), String(start.pid), "a poststart hook is the caller's descendant");
  await waitFor('its output', () => readFileSync(out, 'utf8') === 'from-init\n');
  // `update --resources -` reads the caller's stdin, through the client
  assert.equal(b.oci(['update', '--resources', '-', 'c1'], '{"pids":{"limit":77}}').status, 0);
  assert.equal(limits(b).pids, '77');
  await waitFor('the counters', () => serverStats(b).served === before.served + 4);
  assert.deepEqual(workers().sort(), pool.sort(), 'the same workers served them (none started)');
  // a caller in another namespace (uts here) is left to the executable: the same answer
  const direct = b.oci(['state', 'c1']);
  const other = spawnSync('unshare', ['--uts', OCI, '--root', b.state, 'state', 'c1'], {
    env: b.env,
    encoding: 'utf8',
  });
  assert.equal(other.status, 0, other.stderr);
  assert.equal(other.stdout, direct.stdout);
  await waitFor('the decline counted', () => serverStats(b).declined === before.declined + 1);
  assert.match(readFileSync(join(sockDir, 'log'), 'utf8'), /declined: the caller's namespaces differ/);
  // a foreground run waits and passes signals on: the executable's too
  assert.equal(b.oci(['delete', '--force', 'c1']).status, 0);
  // a large environment (a pod's service links): two helper arguments a variable, passed whole
  b.config((c) => {
    c.process.args = ['sleep', '60'];
    c.process.env = Array.from({ length: 3000 }, (_, i) => `SERVICE_${i}_PORT=tcp://10.0.0.${i % 250}:80`);
  });
  const servedBefore = serverStats(b).served;
  assert.equal(b.oci(['create', '--bundle', b.dir, 'c3']).status, 0);
  const big = JSON.parse(b.oci(['state', 'c3']).stdout).pid as number;
  assert.equal(b.oci(['start', 'c3']).status, 0);
  const vars = () => readFileSync(`/proc/${big}/environ`, 'utf8').split('\0');
  await waitFor('its environment', () => vars().includes('SERVICE_2999_PORT=tcp://10.0.0.249:80'));
  assert.equal(vars().filter((v) => v.startsWith('SERVICE_')).length, 3000);
  assert.equal(b.oci(['delete', '--force', 'c3']).status, 0);
  await waitFor('the create served', () => serverStats(b).served >= servedBefore + 4);
  const declined = serverStats(b).declined;
  b.config((c) => {
    c.process.args = ['sh', '-c', 'exit 4'];
  });
  assert.equal(b.oci(['run', '--bundle', b.dir, 'c2']).status, 4);
  await waitFor('the run declined', () => serverStats(b).declined === declined + 1);
  // BERTH_OCI_SERVER=0: the client runs the executable, the server sees nothing
  const served = serverStats(b).served;
  const off = spawnSync(OCI, ['--root', b.state, 'list', '-q'], { env: { ...b.env, BERTH_OCI_SERVER: '0' } });
  assert.equal(off.status, 0);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(serverStats(b).served, served);
  // the server goes with its socket (a root removed)
  rmSync(join(sockDir, 'sock'));
  await waitFor('the server and its workers to exit', () =>
    [String(before.pid), ...pool].every((p) => !existsSync(`/proc/${p}`)),
  );
  // with no server, the client runs the call itself
  assert.equal(b.oci(['list', '-q']).status, 0);
});
