// berth-oci honours config.json's linux.seccomp: a profile that refuses mkdir and mkdirat leaves
// no directory behind (checked on the host: busybox exits 0 after a refused call), for init and
// for exec, in a runc-like container and in a system container with a capability set of its
// own; a system container given the engine's default set gets berth's policy instead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ENGINE_DEFAULT_CAPS } from '../../src/core/oci-system.ts';
import { DOCKER_SECCOMP } from '../unit/core/docker-seccomp.ts';
import { berthEnv, REPO, ROOT_SKIP, sandbox, waitFor } from './harness.ts';

const OCI = join(REPO, 'bin/berth-oci');

/** Docker's profile without mkdir and mkdirat, which its default action (EPERM) then answers */
function noMkdir() {
  const p = structuredClone(DOCKER_SECCOMP);
  const allow = p.syscalls[0] as { names: string[] };
  allow.names = allow.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
  return p;
}

test('berth-oci: linux.seccomp acts on init and exec; an engine default set gets berth policy', {
  skip: ROOT_SKIP,
}, async (t) => {
  const s = sandbox(t);
  const dir = mkdtempSync(join(tmpdir(), 'berth-oci-seccomp-'));
  const rootfs = join(dir, 'rootfs');
  const state = join(dir, 'state');
  const cgroup = `berth-oci-seccomp-${process.pid}`;
  const oci = (args: string[]) =>
    spawnSync(OCI, ['--root', state, ...args], { env: berthEnv(s), encoding: 'utf8', timeout: 30_000 });
  t.after(() => {
    oci(['delete', '--force', 'c1']);
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
      try {
        rmdirSync(join('/sys/fs/cgroup', h, cgroup));
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });
  s.busyboxTree(rootfs);
  assert.equal(oci(['spec', '--bundle', dir]).status, 0);
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));

  const cases = [
    { system: 'false', caps: spec.process.capabilities.bounding, applies: true },
    {
      system: 'true',
      caps: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_SETUID', 'CAP_SETGID'],
      applies: true,
    },
    { system: 'true', caps: ENGINE_DEFAULT_CAPS, applies: false },
  ];
  for (const c of cases) {
    const what = `berth.io/system ${c.system}, ${c.caps.length} capabilities`;
    const config = structuredClone(spec);
    config.annotations = { 'berth.io/system': c.system };
    config.root.readonly = false;
    config.process.terminal = false;
    config.process.capabilities = { bounding: c.caps, effective: c.caps, permitted: c.caps };
    config.process.args = ['sh', '-c', 'mkdir /by-init; touch /init-ran; exec sleep 60'];
    config.linux.cgroupsPath = `/${cgroup}/c1`;
    config.linux.seccomp = noMkdir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // the process keeps create's stdio: a file, which no reader waits on
    const out = openSync(join(dir, 'out'), 'w');
    const create = spawnSync(OCI, ['--root', state, 'create', '--bundle', dir, '--pid-file', join(dir, 'pid'), 'c1'], {
      env: berthEnv(s),
      stdio: ['ignore', out, out],
      timeout: 30_000,
    });
    closeSync(out);
    assert.equal(create.status, 0, `${what}: ${readFileSync(join(dir, 'out'), 'utf8')}`);
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    assert.equal(oci(['start', 'c1']).status, 0);
    await waitFor('init to run', () => existsSync(join(rootfs, 'init-ran')));
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Seccomp:\s+2$/m);
    // exec loads the container's policy too (busybox's mkdir exits 1 after EPERM: the effect is what counts)
    const ex = oci(['exec', 'c1', 'sh', '-c', 'mkdir /by-exec; touch /exec-ran']);
    assert.equal(ex.status, 0, `${what}: ${ex.stderr}`);
    assert.ok(existsSync(join(rootfs, 'exec-ran')), what);
    const made = ['by-init', 'by-exec'].filter((d) => existsSync(join(rootfs, d)));
    assert.deepEqual(made, c.applies ? [] : ['by-init', 'by-exec'], what);
    assert.equal(oci(['delete', '--force', 'c1']).status, 0);
    for (const f of ['by-init', 'by-exec', 'init-ran', 'exec-ran'])
      rmSync(join(rootfs, f), { recursive: true, force: true });
  }
});
