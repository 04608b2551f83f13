// berth help VERB for every verb of the command table, version and help included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main, VERBS, VERSION } from '../../../src/cli/berth.ts';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
    isTty: async () => false,
  });
  return { code, out, err };
}

test('help version and help help print their manuals', async () => {
  for (const verb of ['version', 'help']) {
    const r = await run(['help', verb]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^Usage: berth ${verb}`));
    assert.match(r.out, /Exit codes: 0/);
    assert.equal((await run([verb, '--help'])).out, r.out);
  }
});

test('every listed verb has a manual, and berth help lists every verb', async () => {
  const list = await run(['help']);
  assert.equal(list.code, 0);
  for (const verb of VERBS) {
    assert.match(list.out, new RegExp(`^  ${verb} `, 'm'));
    const r = await run(['help', verb]);
    assert.equal(r.code, 0, `${verb}: ${r.err}`);
    assert.match(r.out, new RegExp(`^Usage: berth ${verb}\\b`), verb);
  }
  assert.equal((await run(['help', 'ls'])).out, (await run(['help', 'list'])).out);
});

test('version, --version; an unknown verb is exit 20 with a hint', async () => {
  assert.deepEqual(await run(['version']), { code: 0, out: `berth ${VERSION}\n`, err: '' });
  assert.equal((await run(['--version'])).out, `berth ${VERSION}\n`);
  assert.equal((await run(['version', 'extra'])).code, 20);
  const r = await run(['help', 'nope']);
  assert.equal(r.code, 20);
  assert.match(r.err, /^berth: help: unknown verb "nope"\nberth: hint: berth help\n$/);
  assert.equal((await run([])).code, 20);
});
