import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { watchStall } from '../../../src/host/criu-lazy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('watchStall: quiet before the first ask, answered while they flow, stalled once they stop', async () => {
  const asks = new PassThrough();
  const answers = new PassThrough();
  asks.resume();
  answers.resume();
  let stalled = 0;
  const w = watchStall(asks, answers, 60, () => stalled++);
  await sleep(150);
  assert.equal(stalled, 0, 'nothing asked yet (a restore still running)');
  asks.write('ask');
  for (let i = 0; i < 8; i++) {
    await sleep(20);
    answers.write('page');
  }
  assert.equal(stalled, 0, 'answers keep coming');
  await sleep(200);
  assert.equal(stalled, 1, 'nothing came for the stall time: once');
  await sleep(150);
  assert.equal(stalled, 1, 'called once only');
  w.stop();
});
