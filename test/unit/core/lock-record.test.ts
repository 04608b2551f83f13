// Lock records: round trip, and the stale/alive/unknown verdicts from the observer's facts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLock, judgeHolder, type LockHolder, type Observer, parseLock } from '../../../src/core/lock-record.ts';

const holder: LockHolder = {
  pid: 4242,
  startTime: 9876,
  bootId: '0b3f6a52-1c1e-4c2b-9a57-5b8c0e2f0d11',
  pidNs: 'pid:[4026531836]',
  what: 'stop 101: with: colons',
};
const observer = (over: Partial<Observer> = {}): Observer => ({
  bootId: holder.bootId,
  pidNs: holder.pidNs,
  startTimeOf: (pid) => (pid === 4242 ? 9876 : null),
  ...over,
});

test('a lock record survives formatting and parsing, colons and all', () => {
  assert.deepEqual(parseLock(formatLock(holder)), holder);
  assert.equal(formatLock({ ...holder, what: 'a/b\nc' }).includes('/'), false, 'no slash in a symlink target');
});

test('anything else is not a record', () => {
  for (const bad of ['', 'garbage', 'berth-lock:x:1:b:pid:[1]:w', 'berth-lock:0:1:b:pid:[1]:w', 'other:1:2:3:4:5:6']) {
    assert.equal(parseLock(bad), null, bad);
  }
});

test('verdicts: alive only for the same process in the same boot and pid namespace', () => {
  assert.equal(judgeHolder(holder, observer()), 'alive');
  assert.equal(judgeHolder(holder, observer({ startTimeOf: () => null })), 'stale', 'process gone');
  assert.equal(judgeHolder(holder, observer({ startTimeOf: () => 1 })), 'stale', 'pid recycled');
  assert.equal(judgeHolder(holder, observer({ bootId: 'other' })), 'stale', 'previous boot');
  assert.equal(judgeHolder(holder, observer({ pidNs: 'pid:[1]' })), 'unknown', 'cannot check another pid ns');
  assert.equal(judgeHolder(null, observer()), 'stale', 'not a record: an old lock file');
});
