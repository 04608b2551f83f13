// Host-side action scripts run with only the environment given, cwd /, stdin /dev/null, and a
// time limit that kills the whole process group.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runHostScript } from '../../../src/host/action-scripts.ts';

test('a host script sees only its environment, cwd / and an empty stdin; a hung one is killed with its children', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-scripts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const script = join(dir, 'ok');
  writeFileSync(
    script,
    `#!/bin/sh\nenv | sort | grep -v '^PWD=\\|^SHLVL=\\|^_=' > ${out}\npwd >> ${out}\ncat >> ${out}\nexit 3\n`,
  );
  chmodSync(script, 0o755);
  process.env['BERTH_TEST_SECRET'] = 'leak';
  t.after(() => delete process.env['BERTH_TEST_SECRET']);
  const end = await runHostScript(script, { PATH: '/usr/bin:/bin', VEID: '9' });
  assert.deepEqual(end, { code: 3, signal: null, timedOut: false });
  assert.equal(readFileSync(out, 'utf8'), 'PATH=/usr/bin:/bin\nVEID=9\n/\n');

  const hung = join(dir, 'hung');
  writeFileSync(hung, `#!/bin/sh\nsleep 30 &\necho $! > ${out}\nwait\n`);
  chmodSync(hung, 0o755);
  const t0 = Date.now();
  const h = await runHostScript(hung, { PATH: '/usr/bin:/bin' }, 300);
  assert.equal(h.timedOut, true);
  assert.ok(Date.now() - t0 < 5000, 'killed at the limit');
  const child = Number(readFileSync(out, 'utf8'));
  await new Promise((r) => setTimeout(r, 100));
  const state = () => {
    try {
      return readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]?.[0];
    } catch {
      return 'gone';
    }
  };
  assert.match(state() ?? '', /^(gone|Z)$/, 'its background child died with it (or waits to be reaped)');

  const missing = await runHostScript(join(dir, 'none'), {});
  assert.match(missing.error ?? '', /ENOENT/);
});
