import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BerthError } from '../../../src/core/errors.ts';
import {
  allocateIdBase,
  ID_COUNT,
  ID_POOL_END,
  ID_POOL_START,
  idBaseRefusal,
  parseIdBase,
  parsePrivileged,
  parseSubIds,
} from '../../../src/core/idmap.ts';

test('id ranges: the lowest free aligned range, clear of other containers and of subuid users', () => {
  assert.equal(allocateIdBase([], []), ID_POOL_START);
  assert.equal(allocateIdBase([ID_POOL_START], []), ID_POOL_START + ID_COUNT);
  // a released range (its container destroyed) is handed out again
  assert.equal(allocateIdBase([ID_POOL_START + ID_COUNT], []), ID_POOL_START);
  // a subuid range that overlaps the first two slots pushes past both
  const sub = parseSubIds(`# comment\nalice:${ID_POOL_START + 10}:${ID_COUNT}\nbroken line\n`);
  assert.deepEqual(sub, [{ start: ID_POOL_START + 10, count: ID_COUNT }]);
  assert.equal(allocateIdBase([], sub), ID_POOL_START + 2 * ID_COUNT);
  // full: a clear error, not a wrap-around
  assert.throws(() => allocateIdBase([], [{ start: 0, count: 2 ** 32 }]), BerthError);
});

test('id ranges: past a huge subuid range at once, and the same answer as a step-by-step scan', () => {
  // a host that gives root a billion subuids: found past it, not after 15,000 steps
  const huge = [{ start: 1_000_000, count: 1_000_000_000 }];
  assert.equal(
    allocateIdBase([], huge),
    ID_POOL_START + Math.ceil((1_001_000_000 - ID_POOL_START) / ID_COUNT) * ID_COUNT,
  );
  const slow = (taken: number[], reserved: { start: number; count: number }[]) => {
    const busy = [...taken.map((start) => ({ start, count: ID_COUNT })), ...reserved];
    for (let s = ID_POOL_START; s <= ID_POOL_START + 64 * ID_COUNT; s += ID_COUNT) {
      if (!busy.some((b) => s < b.start + b.count && b.start < s + ID_COUNT)) return s;
    }
    return null;
  };
  const slot = fc.integer({ min: 0, max: 40 }).map((i) => ID_POOL_START + i * ID_COUNT);
  const range = fc.record({
    start: fc.integer({ min: 0, max: ID_POOL_START + 40 * ID_COUNT }),
    count: fc.integer({ min: 1, max: 8 * ID_COUNT }),
  });
  fc.assert(
    fc.property(fc.array(slot, { maxLength: 30 }), fc.array(range, { maxLength: 4 }), (taken, reserved) => {
      assert.equal(allocateIdBase(taken, reserved), slow(taken, reserved));
    }),
  );
});

test('ID_BASE and PRIVILEGED: validated, absent means privileged', () => {
  assert.equal(parseIdBase(undefined, 'x'), null);
  assert.equal(parseIdBase('1048576', 'x'), 1048576);
  for (const bad of ['0', '-1', 'abc', String(ID_POOL_END + 1), '1e6']) {
    assert.throws(
      () => parseIdBase(bad, 'ct.conf'),
      (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && e.message.includes('ID_BASE'),
      bad,
    );
  }
  assert.equal(parsePrivileged('yes'), true);
  assert.equal(parsePrivileged('no'), false);
  assert.throws(
    () => parsePrivileged('maybe'),
    (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE',
  );
});

test('a kept ID_BASE (migrate --online): refused when another range or a subuid range overlaps it', () => {
  const b = ID_POOL_START + 3 * ID_COUNT;
  assert.equal(idBaseRefusal(b, [ID_POOL_START], []), null);
  assert.match(idBaseRefusal(b, [b], []) ?? '', /another container's range/);
  assert.match(idBaseRefusal(b, [b + ID_COUNT - 1], []) ?? '', /another container's range/);
  assert.equal(idBaseRefusal(b, [b + ID_COUNT], []), null);
  assert.match(idBaseRefusal(b, [], [{ start: b + 10, count: 1 }]) ?? '', /\/etc\/subuid/);
  assert.match(idBaseRefusal(0, [], []) ?? '', /not a host uid/);
});
