import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachArgs, DEFAULT_ESCAPE, escapeName, parseEscape } from '../../../src/core/console.ts';
import { BerthError } from '../../../src/core/errors.ts';

test('console --escape: control keys, one character, none; "." and junk refused', () => {
  assert.equal(DEFAULT_ESCAPE, 0x1b);
  assert.equal(parseEscape('^['), 0x1b);
  assert.equal(parseEscape('^a'), 0x01);
  assert.equal(parseEscape('^A'), 0x01);
  assert.equal(parseEscape('^]'), 0x1d);
  assert.equal(parseEscape('^?'), 0x7f);
  assert.equal(parseEscape('~'), 0x7e);
  assert.equal(parseEscape('none'), null);
  for (const bad of ['.', '', '^ab', 'ab', '^1', 'é']) {
    assert.throws(
      () => parseEscape(bad),
      (e) => e instanceof BerthError && e.code === 'BAD_VALUE',
      bad,
    );
  }
  assert.deepEqual([0x1b, 0x01, 0x1d, 0x7f, 0x7e].map(escapeName), ['Esc', '^A', '^]', '^?', '~']);
  assert.deepEqual(attachArgs('/run/berth/1/keeper.sock', null, ''), [
    '--attach',
    '/run/berth/1/keeper.sock',
    '-1',
    '',
    '--status-fd',
    '3',
  ]);
});
