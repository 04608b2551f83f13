// Template metadata: strict parsing, the damaged-tarball verdict, layer names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import {
  checkTarball,
  formatTemplateMeta,
  layerName,
  parseTemplateMeta,
  type TemplateMeta,
  templateOfLayer,
} from '../../../src/core/template-meta.ts';

const meta: TemplateMeta = {
  name: 'debian-12',
  distro: 'debian',
  release: 'bookworm',
  arch: 'amd64',
  created: '2026-11-25T00:00:00.000Z',
  sha256: 'ab'.repeat(32),
  size: 1234,
  source: 'built by berth',
};

const isBadTemplate = (e: unknown) => e instanceof BerthError && e.code === 'BAD_TEMPLATE';

test('metadata round-trips and is parsed strictly (exit 47 when broken)', () => {
  assert.deepEqual(parseTemplateMeta(formatTemplateMeta(meta), 'x.json'), meta);
  for (const broken of [
    '',
    '{',
    '[]',
    JSON.stringify({ ...meta, sha256: 'xyz' }),
    JSON.stringify({ ...meta, size: -1 }),
    JSON.stringify({ ...meta, size: '12' }),
    JSON.stringify({ ...meta, name: '../etc' }),
    JSON.stringify({ ...meta, arch: undefined }),
  ]) {
    assert.throws(() => parseTemplateMeta(broken, 'x.json'), isBadTemplate, broken);
  }
});

test('a tarball that does not match its checksum or size is damaged', () => {
  assert.doesNotThrow(() => checkTarball(meta, meta.sha256, meta.size, 'f'));
  assert.throws(
    () => checkTarball(meta, meta.sha256, 1000, 'f'),
    (e: unknown) => isBadTemplate(e) && /1000 bytes, expected 1234/.test((e as Error).message),
  );
  assert.throws(
    () => checkTarball(meta, 'cd'.repeat(32), meta.size, 'f'),
    (e: unknown) => isBadTemplate(e) && /sha256 cdcdcd/.test((e as Error).message),
  );
});

test('layer names carry the checksum and lead back to the template', () => {
  assert.equal(layerName(meta), 'debian-12-abababababab');
  assert.equal(templateOfLayer('debian-12-abababababab'), 'debian-12');
  assert.equal(templateOfLayer('busybox-0123456789ab'), 'busybox');
  assert.equal(templateOfLayer('busybox'), null);
  assert.equal(templateOfLayer('busybox-0123456789ab.partial'), null);
});
