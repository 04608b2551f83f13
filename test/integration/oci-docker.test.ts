// berth-oci under Debian's dockerd (20.10 on Debian 12) as its runtime `berth`: `docker run
// --runtime berth` of images imported from berth's templates, with no network, the default
// bridge (inside the test's network namespace), a terminal, `docker exec`, and systemd as PID 1
// stopped by `docker stop`. The dockerd is the test's own and leaves nothing behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEBIAN_SKIP, useDebian } from './debian-cache.ts';
import { DOCKER, DOCKER_SKIP, type Dockerd, importTemplate, startDockerd } from './docker-daemon.ts';
import { berthEnv, type Sandbox, sandbox, TERMINAL_SKIP, waitFor } from './harness.ts';

const BUSYBOX = 'berth-test/busybox';

/** A dockerd for the test, stopped after it (failing the test if anything had to be forced). */
async function dockerd(t: import('node:test').TestContext, s: Sandbox): Promise<Dockerd> {
  const d = startDockerd(undefined, berthEnv(s));
  t.after(async () => {
    const leaks = await d.stop();
    assert.deepEqual(leaks, [], 'dockerd, its containerd and its containers leave nothing');
  });
  await d.ready();
  return d;
}

test('docker run --runtime berth: output and exit code, no network, the bridge, a terminal, exec', {
  skip: DOCKER_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  const d = await dockerd(t, s);
  importTemplate(d, join(s.root, 'var/lib/berth/template/cache/busybox.tar.zst'), BUSYBOX);
  const run = (args: string[]) => d.docker(['run', '--rm', '--runtime', 'berth', ...args]);

  const hello = run([BUSYBOX, 'sh', '-c', 'echo hello; id -u; exit 3']);
  assert.equal(hello.status, 3, `${hello.stderr}\n${d.log().slice(-2000)}`);
  assert.equal(hello.stdout, 'hello\n0\n');
  const missing = run([BUSYBOX, 'no-such-command']);
  assert.equal(missing.status, 127, `Docker's code for a command not found: ${missing.stderr}`);

  const none = run(['--network', 'none', BUSYBOX, 'sh', '-c', 'ls /sys/class/net']);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stdout, 'lo\n', 'with --network none only a loopback');

  // the default bridge: docker0 in the test's namespace; the container reaches its address
  const gw = d.gateway();
  assert.match(gw, /^\d+\.\d+\.\d+\.\d+$/, 'docker0 has an address in the namespace');
  // (the address comes from libnetwork once the prestart hook libnetwork-setkey has run)
  const net = run([BUSYBOX, 'sh', '-c', `ip -4 -o addr show eth0; ping -c1 -W2 ${gw} >/dev/null && echo reached`]);
  assert.equal(net.status, 0, `${net.stderr}${net.stdout}`);
  const prefix = gw.split('.').slice(0, 2).join('\\.');
  assert.match(net.stdout, new RegExp(`inet ${prefix}\\.\\d+\\.\\d+/\\d+`), 'an address on the bridge');
  assert.match(net.stdout, /^reached$/m);

  // a terminal (-t): the console socket gets the pty's master; `script` gives docker a terminal
  const tty = spawnSync(
    'script',
    [
      '-qec',
      `${DOCKER} -H ${d.host} run --rm -t --runtime berth ${BUSYBOX} sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo tty-in-out'`,
      '/dev/null',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (!TERMINAL_SKIP) {
    assert.equal(tty.status, 0, tty.stderr);
    assert.match(tty.stdout, /\/dev\/pts\/0\r?\r?\ntty-in-out/, 'a pty of its own devpts, as stdin and stdout');
  }

  // detached, then exec: output, exit code, another user; stop kills a PID 1 that ignores SIGTERM
  const id = d.docker(['run', '-d', '--runtime', 'berth', '--name', 'd1', BUSYBOX, 'sleep', '300']);
  assert.equal(id.status, 0, id.stderr);
  const ex = d.docker(['exec', 'd1', 'sh', '-c', 'echo in d1; exit 5']);
  assert.equal(ex.status, 5, ex.stderr);
  assert.equal(ex.stdout, 'in d1\n');
  assert.equal(d.docker(['exec', '-u', '1000', 'd1', 'id', '-u']).stdout, '1000\n');
  assert.equal(d.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', 'd1']).stdout, 'berth\n');
  assert.equal(d.docker(['stop', '-t', '1', 'd1']).status, 0);
  assert.equal(d.docker(['inspect', '-f', '{{.State.Status}}', 'd1']).stdout, 'exited\n');
  assert.equal(d.docker(['rm', 'd1']).status, 0);
});

test('docker run --runtime berth of a systemd image: boots to running, docker stop shuts it down', {
  skip: DOCKER_SKIP || DEBIAN_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  useDebian(s);
  const d = await dockerd(t, s);
  importTemplate(d, join(s.root, 'var/lib/berth/template/cache/debian-12.tar.zst'), 'berth-test/debian-base', [
    'CMD ["/sbin/init"]',
  ]);
  // docker 20.10's import takes no STOPSIGNAL: a one-line build adds it (systemd halts on SIGRTMIN+3)
  const ctx = join(s.root, 'build');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM berth-test/debian-base\nSTOPSIGNAL SIGRTMIN+3\n');
  const built = d.docker(['build', '-q', '-t', 'berth-test/debian', ctx]);
  assert.equal(built.status, 0, built.stderr);

  const started = d.docker(['run', '-d', '--runtime', 'berth', '--name', 'sd', 'berth-test/debian']);
  assert.equal(started.status, 0, `${started.stderr}\n${d.log().slice(-2000)}`);
  let state = '';
  await waitFor(
    'systemd to finish booting',
    () => {
      const r = d.docker(['exec', 'sd', 'systemctl', 'is-system-running'], { timeoutMs: 20_000 });
      state = r.stdout.trim();
      // a container that died answers with an error and no state: stop waiting
      return (state !== '' && state !== 'starting' && state !== 'initializing') || /not running/.test(r.stderr);
    },
    120_000,
  );
  const failed = state === 'running' ? '' : d.docker(['exec', 'sd', 'systemctl', '--failed', '--no-legend']).stdout;
  assert.equal(state, 'running', `${failed}${d.docker(['logs', 'sd']).stderr.slice(-2000)}`);
  // a system container: root inside is a high uid of an id range on the host
  const pid = d.docker(['inspect', '-f', '{{.State.Pid}}', 'sd']).stdout.trim();
  const map = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(map[0], 0);
  assert.ok((map[1] ?? 0) >= 1048576, `uid 0 inside is host uid ${map[1]}`);

  // a unit whose stop leaves a file: proof that the shutdown ran its stop jobs
  const unit =
    '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/bin/touch /stopped-cleanly\n' +
    '[Install]\nWantedBy=multi-user.target\n';
  const mark = d.docker(
    ['exec', '-i', 'sd', 'sh', '-c', 'cat > /etc/systemd/system/mark.service && systemctl start mark.service'],
    { input: unit },
  );
  assert.equal(mark.status, 0, mark.stderr);
  const t0 = Date.now();
  assert.equal(d.docker(['stop', 'sd'], { timeoutMs: 30_000 }).status, 0);
  const took = Date.now() - t0;
  assert.ok(took < 9_000, `stopped in ${took} ms, before Docker's SIGKILL at 10 s`);
  const code = d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'sd']).stdout.trim();
  // 0: systemd exits when reboot(2) is refused (no CAP_SYS_BOOT); 130: reboot(2) in a pid namespace ends init by SIGINT
  assert.ok(['0', '130'].includes(code), `exit code ${code}`);
  assert.match(d.docker(['diff', 'sd']).stdout, /^A \/stopped-cleanly$/m, "the unit's ExecStop ran");
});
