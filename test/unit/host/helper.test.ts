// runHelper reads the status records on fd 3 alike under Node and under Bun (the executable's
// runtime, whose spawnSync returns nothing from a pipe above fd 2): a fake helper stands in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runHelper, tmpDir } from '../../../src/host/helper.ts';

const BUN = new URL('../../../../build/bun', import.meta.url).pathname;
const HELPER_JS = new URL('../../../src/host/helper.js', import.meta.url).pathname;

const FAKE = `#!/bin/sh
echo '{"pid":42}' >&3
echo '{"warning":"net","errno":1,"message":"route: no"}' >&3
echo '{"error":"mount","errno":2,"message":"mount /x: gone"}' >&3
exit 7
`;
const WANT = {
  exitCode: 7,
  pid: 42,
  keeper: null,
  console: null,
  error: { error: 'mount', errno: 2, message: 'mount /x: gone' },
  warnings: ['route: no'],
  timedOut: false,
};

function withFake(fn: (helper: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-helper-'));
  try {
    const helper = join(dir, 'berth-nsexec');
    writeFileSync(helper, FAKE);
    chmodSync(helper, 0o755);
    fn(helper);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('runHelper: records, warnings and exit code under Node', () => {
  withFake((helper) => {
    assert.deepEqual(runHelper(helper, [], { stdio: ['ignore', 'ignore', 'ignore'] }), WANT);
  });
});

test('runHelper: the same under Bun', (t) => {
  if (!existsSync(BUN)) return t.skip('no Bun in node_modules (npm ci)');
  withFake((helper) => {
    const code = `import { runHelper } from ${JSON.stringify(HELPER_JS)};
console.log(JSON.stringify(runHelper(${JSON.stringify(helper)}, [], { stdio: ['ignore', 'ignore', 'ignore'] })));`;
    const r = spawnSync(BUN, ['-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), WANT);
  });
});

test('runHelper: past timeoutMs the helper is killed and the result says so, under Node and Bun', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-helper-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const helper = join(dir, 'berth-nsexec');
  // ignores SIGTERM, as a helper relaying it to a stubborn command would
  writeFileSync(helper, "#!/bin/sh\ntrap '' TERM\nexec sleep 20\n");
  chmodSync(helper, 0o755);
  const code = `import { runHelper } from ${JSON.stringify(HELPER_JS)};
const t0 = Date.now();
const r = runHelper(${JSON.stringify(helper)}, [], { stdio: ['ignore', 'ignore', 'ignore'], timeoutMs: 200 });
console.log(JSON.stringify({ timedOut: r.timedOut, fast: Date.now() - t0 < 5000 }));`;
  for (const runtime of [process.execPath, BUN]) {
    if (!existsSync(runtime)) continue;
    const r = spawnSync(runtime, ['--input-type=module', '-e', code].slice(runtime === BUN ? 1 : 0), {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { timedOut: true, fast: true }, runtime);
  }
});

test('runHelper: a missing helper is a SYSTEM error with a hint, under Node and Bun', (t) => {
  const code = `import { runHelper } from ${JSON.stringify(HELPER_JS)};
try { runHelper('/nonexistent/berth-nsexec', [], { stdio: ['ignore', 'ignore', 'ignore'] }); console.log('no error'); }
catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint ?? '' })); }`;
  for (const runtime of [process.execPath, BUN]) {
    if (!existsSync(runtime)) {
      t.diagnostic(`no ${runtime}`);
      continue;
    }
    const r = spawnSync(runtime, ['--input-type=module', '-e', code].slice(runtime === BUN ? 1 : 0), {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { code: string; hint: string };
    assert.equal(got.code, 'SYSTEM', runtime);
    assert.match(got.hint, /make -C helper/);
  }
});

test("tmpDir: os.tmpdir()'s answer for TMPDIR, TMP and TEMP", () => {
  const saved = { TMPDIR: process.env['TMPDIR'], TMP: process.env['TMP'], TEMP: process.env['TEMP'] };
  const cases = [{}, { TMPDIR: '/x/' }, { TMP: '/y//' }, { TEMP: '/z' }, { TMPDIR: '', TMP: '/' }, { TMPDIR: '//' }];
  try {
    for (const env of cases) {
      for (const k of Object.keys(saved)) delete process.env[k];
      Object.assign(process.env, env);
      assert.equal(tmpDir(), tmpdir(), JSON.stringify(env));
    }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
