// setup-criu.sh's result (issue 17): a CRIU 4.2 or newer at berth's own path, one that runs on
// this kernel (Debian 12's criu 3.17 stops at `vdso: Failed to fill self vdso symtable`; 4.1.1
// cannot dump a TCP socket on Linux 6.16+).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT_SKIP } from './harness.ts';

const CRIU = '/usr/local/lib/berth/criu/sbin/criu';
const ABSENT = existsSync(CRIU) ? false : `no ${CRIU} (./setup-criu.sh installs it)`;

test("criu at berth's path is 4.2 or newer", { skip: ABSENT }, () => {
  const r = spawnSync(CRIU, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /^Version: (\d+)\.(\d+)/m.exec(r.stdout);
  assert.ok(m, `no version in: ${r.stdout}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  assert.ok(major > 4 || (major === 4 && minor >= 2), m[0]);
});

test('criu check passes on this kernel', { skip: ABSENT || ROOT_SKIP }, () => {
  const r = spawnSync(CRIU, ['check'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^Looks good\.$/m);
});
