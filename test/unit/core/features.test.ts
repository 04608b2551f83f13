import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restoredConfig } from '../../../src/core/backup.ts';
import { ctConfigFrom } from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { parseDevnodes } from '../../../src/core/devices.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { featureDevnodes, featureOn, formatFeatures, parseFeatures } from '../../../src/core/features.ts';
import { NESTING_DIR, planMounts } from '../../../src/core/mounts.ts';
import { setOptionsToKeys } from '../../../src/core/set-options.ts';
import { GLOBAL } from './fixtures.ts';

test('FEATURES: NAME:on|off, commas or spaces, any case; the last word for a name wins; only on is kept', () => {
  const list = parseFeatures('fuse:on,TUN:on nesting:on fuse:off');
  assert.deepEqual(list, [
    { name: 'tun', on: true },
    { name: 'nesting', on: true },
    { name: 'fuse', on: false },
  ]);
  assert.equal(formatFeatures(list), 'tun:on nesting:on');
  assert.ok(featureOn(list, 'tun') && !featureOn(list, 'fuse'));
  assert.deepEqual(parseFeatures(formatFeatures(list)), list.slice(0, 2));
  assert.equal(formatFeatures(parseFeatures('')), '');
});

test("FEATURES: vzctl's other names are refused with the reason, bad words with the syntax", () => {
  const refused = (raw: string, re: RegExp) =>
    assert.throws(
      () => parseFeatures(raw),
      (e) => e instanceof BerthError && e.code === 'BAD_VALUE' && re.test(e.message),
    );
  refused('ppp:on', /^feature ppp: not available/);
  refused('nfs:on', /^feature nfs: not available/);
  refused('sysfs:off', /^feature sysfs: always on/);
  // vzctl configs carry ppp:off and the like: off is what berth gives, so it is dropped
  assert.deepEqual(parseFeatures('nfs:off ppp:off,bridge:off fuse:on'), [{ name: 'fuse', on: true }]);
  refused('nfsd:on', /^feature nfsd: not available/);
  refused('sysfs:on', /^feature sysfs: always on/);
  for (const n of ['bridge', 'ipip', 'sit', 'ipgre']) refused(`${n}:on`, /nothing to switch/);
  for (const bad of ['fuse', 'fuse:yes', 'fuse:', ':on', 'fuse:on:off', 'kvm:on', 'fu-se:on']) {
    refused(bad, /^invalid feature/);
  }
  assert.throws(() => setOptionsToKeys({ features: ['fuse:on', 'ppp:on'] }), BerthError);
});

test('FEATURES fuse and tun bring the nodes --devnodes would; a DEVNODES entry for the node wins', () => {
  const on = parseFeatures('fuse:on tun:on');
  assert.deepEqual(featureDevnodes(on, []), [
    { name: 'fuse', perm: 'rw' },
    { name: 'net/tun', perm: 'rw' },
  ]);
  assert.deepEqual(featureDevnodes(on, parseDevnodes('net/tun:r')), [
    { name: 'fuse', perm: 'rw' },
    { name: 'net/tun', perm: 'r' },
  ]);
  assert.deepEqual(featureDevnodes(parseFeatures('nesting:on'), []), []);
});

test('FEATURES nesting: an unmasked proc and a read-only sysfs under /dev/.berth, after /dev is made', () => {
  const plain = planMounts({ cgroups: [], hostname: 'h' });
  const nested = planMounts({ cgroups: [], hostname: 'h', nesting: true });
  assert.ok(!plain.some((o) => 'dest' in o && o.dest.startsWith(NESTING_DIR)));
  const extra = nested.filter((o) => 'dest' in o && o.dest.startsWith(NESTING_DIR));
  assert.deepEqual(extra, [
    { op: 'mount', fstype: 'proc', source: 'proc', dest: '/dev/.berth/proc', options: 'nosuid,nodev,noexec' },
    { op: 'mount', fstype: 'sysfs', source: 'sysfs', dest: '/dev/.berth/sys', options: 'ro,nosuid,nodev,noexec' },
  ]);
  const devAt = nested.findIndex((o) => o.op === 'mount' && o.dest === '/dev');
  assert.ok(devAt >= 0 && devAt < nested.indexOf(extra[0] as (typeof nested)[number]));
  // nothing is masked under them: that is the point
  assert.ok(!nested.some((o) => o.op === 'mask' && o.dest.startsWith(NESTING_DIR)));
});

test('FEATURES is read from the config, and a restore drops it as it drops DEVNODES', () => {
  const id = parseCtId('101');
  assert.deepEqual(ctConfigFrom(id, { FEATURES: 'fuse:on' }, GLOBAL).features, [{ name: 'fuse', on: true }]);
  assert.deepEqual(ctConfigFrom(id, {}, GLOBAL).features, []);
  assert.throws(() => ctConfigFrom(id, { FEATURES: 'ppp:on' }, GLOBAL), BerthError);
  const manifest = { format: 1, ctid: '101', created: '', layout: 'dir', layer: null, template: null, running: false };
  const r = restoredConfig('FEATURES="nesting:on"\n', manifest as never, id, GLOBAL, 'b.tar');
  assert.deepEqual(r.config.features, []);
  assert.deepEqual(r.dropped, ['FEATURES']);
});
