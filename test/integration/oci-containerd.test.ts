// berth-oci under the real containerd (Debian's, with its runc v2 shim), as Docker and
// Kubernetes reach a runtime: `ctr run --runc-binary bin/berth-oci` of an image made from the
// busybox template. The test starts its own containerd (its root, state and socket in a temp
// directory, no CRI, no network) and removes all it made.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTAINERD_SKIP, imageTar, startContainerd } from './containerd-harness.ts';
import { REPO, sandbox, waitFor } from './harness.ts';

const OCI = join(REPO, 'bin/berth-oci');
const IMAGE = 'berth.local/busybox:test';

test('berth-oci under containerd: ctr run, exit codes, a terminal, exec, a detached task killed and removed', {
  skip: CONTAINERD_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  s.template();
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctd-'));
  const ns = `berth-test-${process.pid}`;
  const d = await startContainerd(t, dir, {
    top: 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n',
    env: { BERTH_ROOT: s.root },
    beforeStop: () => {
      for (const id of ['r1', 'r2', 't1', 'd1']) {
        ctr(['task', 'kill', '-s', 'SIGKILL', id]);
        ctr(['task', 'delete', id]);
        ctr(['container', 'rm', id]);
      }
      ctr(['images', 'rm', IMAGE]);
      rmSync(join('/run/containerd/runc', ns), { recursive: true, force: true });
    },
  });
  const { sock } = d;
  const ctr = (args: string[]) => d.ctr(ns, args);
  const zst = join(s.root, 'var/lib/berth/template/cache/busybox.tar.zst');
  const imported = ctr(['images', 'import', imageTar(dir, { zst }, IMAGE, { Cmd: ['sh'] })]);
  assert.equal(imported.status, 0, imported.stderr);

  // create, start, wait, delete: the shim's whole path, with its pipes for the output
  const run = ctr([
    'run',
    '--rm',
    '--runc-binary',
    OCI,
    IMAGE,
    'r1',
    'sh',
    '-c',
    'echo hello; grep -c . /proc/self/mountinfo >/dev/null; id -u',
  ]);
  assert.equal(run.status, 0, `${run.stderr}\n${d.log().slice(-2000)}`);
  assert.equal(run.stdout, 'hello\n0\n');
  const code = ctr(['run', '--rm', '--runc-binary', OCI, IMAGE, 'r2', 'sh', '-c', 'exit 3']);
  assert.equal(code.status, 3, 'the exit code comes back through the shim');

  // a terminal (-t): the shim's console socket gets the pty's master; `script` gives ctr a terminal
  const tty = spawnSync(
    'script',
    [
      '-qec',
      `ctr --address ${sock} -n ${ns} run --rm -t --runc-binary ${OCI} ${IMAGE} t1 sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo tty-in-out'`,
      '/dev/null',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(tty.status, 0, tty.stderr);
  // (not its size: ctr sets it from script's terminal at some moment of its own)
  assert.match(tty.stdout, /\/dev\/pts\/0\r?\r?\ntty-in-out/, 'a pty of its own devpts, as stdin and stdout');

  // detached: running, then SIGKILL, stopped, removed
  assert.equal(ctr(['run', '-d', '--runc-binary', OCI, IMAGE, 'd1', 'sleep', '300']).status, 0);
  assert.match(ctr(['task', 'ls']).stdout, /^d1\s+\d+\s+RUNNING/m);
  const pid = Number(/^d1\s+(\d+)/m.exec(ctr(['task', 'ls']).stdout)?.[1]);
  // exec: the shim's `exec --process F --detach --pid-file P`, its exit code reaped by the shim
  const ex = ctr(['task', 'exec', '--exec-id', 'e1', 'd1', 'sh', '-c', 'echo in d1; exit 5']);
  assert.equal(ex.status, 5, ex.stderr);
  assert.equal(ex.stdout, 'in d1\n');
  assert.equal(ctr(['task', 'exec', '--exec-id', 'e2', '--user', '1000', 'd1', 'id', '-u']).stdout, '1000\n');
  // exec -t: the shim's `exec --tty --console-socket`, a pty of the container's devpts
  const etty = spawnSync(
    'script',
    [
      '-qec',
      `ctr --address ${sock} -n ${ns} task exec -t --exec-id e3 d1 sh -c 'tty; [ -t 0 ] && echo tty-exec; exit 6'`,
      '/dev/null',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(etty.status, 6, etty.stdout + etty.stderr);
  assert.match(etty.stdout, /\/dev\/pts\/\d+\r?\r?\n(\^@)?tty-exec/);
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'pid 1 of its own namespace');
  // a system container (the default), its root over containerd's overlay snapshot
  const map = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
  assert.ok(map[0] === 0 && (map[1] ?? 0) >= 1048576, `its root is an unprivileged host uid: ${map.join(' ')}`);
  assert.ok(
    existsSync(join('/run/containerd/runc', ns, 'd1', 'state.json')),
    "berth-oci's state under the shim's --root",
  );
  assert.equal(ctr(['task', 'kill', '-s', 'SIGKILL', 'd1']).status, 0);
  await waitFor('the task to stop', () => /^d1\s+\d+\s+STOPPED/m.test(ctr(['task', 'ls']).stdout), 20_000);
  assert.equal(ctr(['task', 'delete', 'd1']).status, 0);
  assert.equal(ctr(['container', 'rm', 'd1']).status, 0);
  const left = readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, ns)));
  assert.deepEqual(left, [], 'no cgroup left under the namespace');
  const state = join('/run/containerd/runc', ns);
  assert.deepEqual(existsSync(state) ? readdirSync(state) : [], [], 'no state left');
});
