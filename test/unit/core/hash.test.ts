import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a, fnv1a64 } from '../../../src/core/hash.ts';

test('fnv1a and fnv1a64 give the published FNV-1a values', () => {
  // the reference vectors of the FNV authors' test suite
  assert.equal(fnv1a(''), '811c9dc5');
  assert.equal(fnv1a('a'), 'e40c292c');
  assert.equal(fnv1a('foobar'), 'bf9cf968');
  assert.equal(fnv1a64(''), 'cbf29ce484222325');
  assert.equal(fnv1a64('a'), 'af63dc4c8601ec8c');
  assert.equal(fnv1a64('foobar'), '85944171f73967e8');
});

test('fnv1a64 is 16 hex digits, leading zeros kept', () => {
  for (const s of ['x', 'berth', '/run/containerd/runc/k8s.io\0abc']) assert.match(fnv1a64(s), /^[0-9a-f]{16}$/);
});
