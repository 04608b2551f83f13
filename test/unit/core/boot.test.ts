// Boot and shutdown order (vzctl's ONBOOT and BOOTORDER).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootSequence, parseBootorder, shutdownGroups } from '../../../src/core/boot.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';

const e = (id: string, onboot: boolean, bootorder: number | null) => ({ id: parseCtId(id), onboot, bootorder });

test('boot: ONBOOT containers only, highest BOOTORDER first, unset last', () => {
  const cts = [e('101', true, null), e('102', true, 10), e('103', false, 99), e('104', true, 50), e('105', true, 10)];
  assert.deepEqual(bootSequence(cts), ['104', '102', '105', '101']);
});

test('shutdown: every running container, the reverse order, one BOOTORDER group at a time', () => {
  const cts = [e('101', true, null), e('102', true, 10), e('103', false, 99), e('104', true, 50), e('105', false, 10)];
  assert.deepEqual(shutdownGroups(cts), [['101'], ['105', '102'], ['104'], ['103']]);
});

test('BOOTORDER is a whole number', () => {
  assert.equal(parseBootorder('0'), 0);
  assert.equal(parseBootorder('500'), 500);
  for (const bad of ['', '-1', '1.5', 'high']) {
    assert.throws(
      () => parseBootorder(bad),
      (err: unknown) => err instanceof BerthError && err.code === 'BAD_VALUE',
    );
  }
});
