import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { watchStall } from '../../../src/host/criu-lazy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('watchStall: silence with nothing asked is idle, asks answered are fine, an unanswered one stalls', async () => {
  const asks = new PassThrough();
  const answers = new PassThrough();
  asks.resume();
  answers.resume();
  let stalled = 0;
  const w = watchStall(asks, answers, 60, () => stalled++);
  await sleep(150);
  assert.equal(stalled, 0, 'nothing asked yet (a restore still running)');
  for (let i = 0; i < 8; i++) {
    asks.write('ask');
    await sleep(20);
    answers.write('page');
  }
  await sleep(200);
  assert.equal(stalled, 0, 'every ask answered, then idle: no stall');
  asks.write('ask');
  await sleep(200);
  assert.equal(stalled, 1, 'an ask unanswered for the stall time: once');
  await sleep(150);
  assert.equal(stalled, 1, 'called once only');
  w.stop();
});
