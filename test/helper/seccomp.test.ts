// berth-nsexec's seccomp policy text (helper/PROTOCOL.md): the filter it loads acts as written
// (checked by what the container's processes manage to do), and a policy it cannot read whole
// stops the run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSeccomp, profilePolicy, SECCOMP_ARCHES } from '../../src/core/oci-seccomp.ts';
import { anonymousFile, inputFd, readAll } from '../../src/host/helper.ts';
import { DOCKER_SECCOMP } from '../unit/core/docker-seccomp.ts';

const HELPER = new URL('../../../helper/berth-nsexec', import.meta.url).pathname;
const ROOT = process.getuid?.() === 0 ? false : 'needs root';

/** runs SCRIPT as the init of a container of ROOT under POLICY; its status records and stderr */
function runUnder(root: string, policy: string, script: string) {
  const status = anonymousFile();
  const seccomp = inputFd(tmpdir(), policy);
  const args = ['--unshare', 'mnt,pid', '--rootfs', root, '--seccomp-fd', '4', '--status-fd', '3'];
  const r = spawnSync(HELPER, [...args, '--', '/bin/busybox', 'sh', '-c', `${script}; echo > /done`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', status, seccomp],
  });
  const records = readAll(status)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  closeSync(status);
  closeSync(seccomp);
  // init runs on after the helper returns
  for (let i = 0; r.status === 0 && i < 250 && !existsSync(join(root, 'done')); i++) spawnSync('sleep', ['0.02']);
  return { code: r.status, err: r.stderr, records };
}

function withRoot(body: (root: string) => void) {
  const root = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  try {
    mkdirSync(join(root, 'bin'));
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    body(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("default errno and argument conditions act: Docker's profile without mkdir, personality only for 0", {
  skip: ROOT,
}, () => {
  const profile = structuredClone(DOCKER_SECCOMP) as { syscalls: { names: string[]; args?: { value: number }[] }[] };
  const allow = profile.syscalls[0] as { names: string[] };
  allow.names = allow.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
  profile.syscalls = profile.syscalls.filter((s) => !s.names.includes('personality') || s.args?.[0]?.value === 0);
  // a name this libseccomp does not know (a newer syscall) is skipped, as runc does
  const policy = `${profilePolicy(parseSeccomp(profile))}rule errno 1 berth_no_such_call\n`;
  assert.match(policy, /^default errno 1$/m);
  withRoot((root) => {
    // linux32 is personality(PER_LINUX32), linux64 personality(PER_LINUX = 0)
    const r = runUnder(
      root,
      policy,
      'mkdir /made; echo $? > /mkdir; /bin/busybox linux32 /bin/busybox touch /l32; /bin/busybox linux64 /bin/busybox touch /l64',
    );
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(root, 'done')), 'the script ran to its end');
    assert.equal(existsSync(join(root, 'made')), false, 'mkdir refused by the default action');
    assert.equal(readFileSync(join(root, 'mkdir'), 'utf8'), '1\n');
    assert.equal(existsSync(join(root, 'l32')), false, 'personality(8) refused');
    assert.ok(existsSync(join(root, 'l64')), 'personality(0) allowed');
  });
});

test('a policy the helper cannot read whole stops the run, saying why', { skip: ROOT }, () => {
  withRoot((root) => {
    for (const [policy, why] of [
      ['default allow\nrule errno 1 getpid\nfrobnicate x\n', /unknown line frobnicate/],
      [`default allow\nrule errno 1 mkdir${' 0 eq 1'.repeat(200)}\n`, /a line longer than 1022 bytes/],
      ['rule errno 1 getpid\n', /must start with a default line/],
      ['default allow\nrule errno mkdir\n', /bad errno mkdir/],
      ['default allow\nrule allow mkdir 0 eq 1 1 eq 1 2 eq 1 3 eq 1 4 eq 1 5 eq 1 0 eq 2\n', /more than 6 conditions/],
      ['default allow\nrule allow mkdir 6 eq 1\n', /bad argument 6/],
      ['default allow\nrule allow clone 0 masked_eq 2114060288\n', /bad value \(none\)/],
      ['default allow\narch vax\n', /unknown architecture vax/],
      ['default allow\nflag tsync\n', /unknown flag tsync/],
    ] as const) {
      const r = runUnder(root, policy, 'true');
      assert.equal(r.code, 2, `${policy}: ${r.err}`);
      assert.equal(r.records.at(-1)?.error, 'usage', policy);
      assert.match(r.records.at(-1)?.message, why);
    }
  });
});

test("every architecture berth-oci takes is one this libseccomp knows (the other byte order's are left out)", {
  skip: ROOT,
}, () => {
  withRoot((root) => {
    const arches = Object.values(SECCOMP_ARCHES).map((a) => `arch ${a}\n`);
    const r = runUnder(root, `default allow\n${arches.join('')}rule errno 1 mkdir\n`, 'mkdir /made');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(root, 'done')));
    assert.equal(existsSync(join(root, 'made')), false);
  });
});
