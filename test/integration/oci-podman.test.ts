// berth-oci under Debian's podman (4.3 on Debian 12): `podman --runtime bin/berth-oci` with its
// storage, run root, temp dir, config and network config in a temp directory, cgroupfs under a
// cgroup parent of the test's own, no network. Runs the busybox template imported as an image.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OCI, removeLeft, startOciServer } from './docker-daemon.ts';
import { ROOT_SKIP, sandbox } from './harness.ts';

const HAVE = spawnSync('sh', ['-c', 'command -v podman'], { stdio: 'ignore' }).status === 0;
const SKIP = ROOT_SKIP || (HAVE ? false : 'podman is not installed (setup.sh installs it for the tests)');
const IMAGE = 'berth-test/busybox';

function rmdirQuiet(path: string): void {
  try {
    rmdirSync(path);
  } catch {}
}

test('podman --runtime berth-oci: run (output, exit code), run -d, exec, stop, rm', {
  skip: SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  const dir = mkdtempSync(join(tmpdir(), 'berth-podman-'));
  // podman passes its runtime no environment: its calls go to the call server of berth's default
  // root (/run/berth/oci-server), which berth-oci.service runs; the test's own when none does
  const hadServer = spawnSync(OCI, ['serve', '--status'], {
    stdio: 'ignore',
    env: { ...process.env, BERTH_ROOT: '/' },
  });
  const hadServerDir = existsSync('/run/berth/oci-server');
  const server = hadServer.status === 0 ? null : startOciServer({ ...process.env, BERTH_ROOT: '/' });
  const cgroupParent = `/berth-pd-${process.pid}`;
  // podman's image copy keeps a blob cache in /var/lib/containers/cache whatever --root says
  const hadVarLib = existsSync('/var/lib/containers');
  mkdirSync(join(dir, 'cni'));
  // rlimits below any hard limit (podman's defaults raise them: that needs CAP_SYS_RESOURCE,
  // which these hosts lack even for root); file locks, not /dev/shm/libpod_lock
  writeFileSync(
    join(dir, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' +
      `[engine]\nlock_type = "file"\n[network]\nnetwork_config_dir = "${join(dir, 'cni')}"\n`,
  );
  const podman = (args: string[], input: string | Buffer = '') =>
    spawnSync(
      'podman',
      [
        '--root',
        join(dir, 'root'),
        '--runroot',
        join(dir, 'run'),
        '--tmpdir',
        join(dir, 'tmp'),
        '--cgroup-manager',
        'cgroupfs',
        '--events-backend',
        'file',
        '--runtime',
        OCI,
        // podman hands its runtime no environment of its own: berth's root as a runtime flag
        '--runtime-flag',
        `berth-root=${s.root}`,
        ...args,
      ],
      {
        encoding: 'utf8',
        input,
        timeout: 120_000,
        maxBuffer: 64 << 20,
        env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
      },
    );
  t.after(async () => {
    podman(['rm', '-af', '-t', '0']);
    // conmon ends on its own once it has run podman's exit command, up to seconds after rm returns
    // (the bundle's lxcfs already stopped by the sandbox's cleanup); one still here after that is a leak
    const conmonOf = () =>
      readdirSync('/proc').some((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
        } catch {
          return false;
        }
      });
    for (let i = 0; i < 300 && conmonOf(); i++) await new Promise((r) => setTimeout(r, 50));
    podman(['system', 'reset', '-f']);
    // podman keeps conmon's cgroup (PARENT/conmon) by design; a container's own is a leak. An
    // ended conmon holds its cgroup until its parent reaps it (PID 1 here, in its own time)
    const parents = () =>
      ['', ...readdirSync('/sys/fs/cgroup')].map((h) => join('/sys/fs/cgroup', h, cgroupParent)).filter(existsSync);
    for (let i = 0; i < 200 && parents().length; i++) {
      for (const p of parents()) for (const d of ['conmon', '']) rmdirQuiet(join(p, d));
      if (parents().length) await new Promise((r) => setTimeout(r, 50));
    }
    server?.stop();
    if (!hadServerDir) rmSync('/run/berth/oci-server', { recursive: true, force: true });
    const leaks = removeLeft(dir, cgroupParent);
    if (!hadVarLib) rmSync('/var/lib/containers', { recursive: true, force: true });
    assert.deepEqual(leaks, [], 'podman, conmon and the containers leave nothing');
  });

  const tar = spawnSync('zstd', ['-dc', join(s.root, 'var/lib/berth/template/cache/busybox.tar.zst')], {
    maxBuffer: 1 << 30,
  });
  const imported = podman(['import', '-', IMAGE], tar.stdout);
  assert.equal(imported.status, 0, imported.stderr);
  const run = (args: string[]) => podman(['run', '--network', 'none', '--cgroup-parent', cgroupParent, ...args]);

  const hello = run(['--rm', IMAGE, 'sh', '-c', 'echo hello; id -u; exit 3']);
  assert.equal(hello.status, 3, hello.stderr);
  assert.equal(hello.stdout, 'hello\n0\n');

  const started = run(['-d', '--name', 'd1', IMAGE, 'sleep', '300']);
  assert.equal(started.status, 0, started.stderr);
  assert.match(podman(['ps', '--format', '{{.Names}} {{.Status}}']).stdout, /^d1 Up /m);
  const ex = podman(['exec', 'd1', 'sh', '-c', 'echo in d1; exit 5']);
  assert.equal(ex.status, 5, ex.stderr);
  assert.equal(ex.stdout, 'in d1\n');
  assert.equal(podman(['exec', '-u', '1000', 'd1', 'id', '-u']).stdout, '1000\n');
  // sleep as PID 1 ignores SIGTERM: stop kills it after the timeout
  const stop = podman(['stop', '-t', '1', 'd1']);
  assert.equal(stop.status, 0, stop.stderr);
  assert.match(podman(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).stdout, /^d1 Exited \(137\)/m);
  const rm = podman(['rm', 'd1']);
  assert.equal(rm.status, 0, rm.stderr);
  assert.equal(podman(['ps', '-aq']).stdout, '');
});
