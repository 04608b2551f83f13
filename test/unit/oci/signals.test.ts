// kill's signal names (oci/container.ts signalNumber): runc's three forms and the real-time ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { signalNumber } from '../../../src/oci/container.ts';

test('SIGTERM, TERM and 15 are one signal; SIGRTMIN+3 (systemd halts on it) is 37', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber('15'), 15);
  assert.equal(signalNumber('SIGRTMIN+3'), 37);
  assert.equal(signalNumber('RTMIN'), 34);
  assert.equal(signalNumber('SIGRTMAX-2'), 62);
  for (const bad of ['SIGRTMIN-3', 'RTMAX+1', 'NOPE', '0', '65'])
    assert.throws(() => signalNumber(bad), BerthError, bad);
});
