// Layouts: parsing, where a container's files are looked up, and how its root is mounted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { fileLayers, parseLayout, rootMountArgs, viewMountArgs } from '../../../src/core/layout.ts';

test('layouts: overlay, dir and image; anything else is a bad value (exit 21)', () => {
  assert.equal(parseLayout('overlay', '--layout'), 'overlay');
  assert.equal(parseLayout('dir', '--layout'), 'dir');
  assert.equal(parseLayout('image', '--layout'), 'image');
  assert.throws(
    () => parseLayout('zfs', '--layout'),
    (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE' && /invalid --layout "zfs"/.test(e.message),
  );
});

test('dir binds the private area; overlay stacks the upper directory on the layer', () => {
  assert.deepEqual(rootMountArgs({ layout: 'dir', vePrivate: '/p/1', veRoot: '/r/1', layerDir: null }), [
    '--host-bind',
    '/p/1',
    '/r/1',
  ]);
  assert.deepEqual(rootMountArgs({ layout: 'overlay', vePrivate: '/p/1', veRoot: '/r/1', layerDir: '/l/bb-0123' }), [
    '--host-overlay',
    'lowerdir=/l/bb-0123,upperdir=/p/1/upper,workdir=/p/1/work',
    '/r/1',
  ]);
  assert.deepEqual(fileLayers({ layout: 'overlay', vePrivate: '/p/1', veRoot: '/r', layerDir: '/l/x' }), [
    '/p/1/upper',
    '/l/x',
  ]);
  assert.deepEqual(rootMountArgs({ layout: 'image', vePrivate: '/p/1', veRoot: '/r/1', layerDir: null }), [
    '--host-image',
    '/p/1/root.img',
    '/r/1',
  ]);
  assert.deepEqual(fileLayers({ layout: 'image', vePrivate: '/p/1', veRoot: '/r/1', layerDir: null }), ['/r/1']);
  assert.deepEqual(fileLayers({ layout: 'dir', vePrivate: '/p/1', veRoot: '/r', layerDir: null }), ['/p/1']);
});

test('a host-side view (berth mount) is nosuid; a container root is not (its setuid programs must work)', () => {
  const src = { layout: 'dir', vePrivate: '/p/1', veRoot: '/r/1', layerDir: null, idBase: 1048576 } as const;
  assert.deepEqual(viewMountArgs(src), ['--host-nosuid', '--host-bind', '/p/1', '/r/1']);
  assert.ok(!rootMountArgs(src).includes('--host-nosuid'));
});

test("an unprivileged container's root is idmapped; the admin's view shows on-disk ids (host root can write)", () => {
  for (const layout of ['dir', 'overlay', 'image'] as const) {
    const src = { layout, vePrivate: '/p/1', veRoot: '/r/1', layerDir: '/l/x', idBase: 1048576 };
    assert.deepEqual(rootMountArgs(src).slice(0, 3), ['--idmap', '1048576', '65536'], layout);
    assert.ok(!viewMountArgs(src).includes('--idmap'), layout);
  }
});

test('overlay refuses paths its option syntax cannot carry, and a missing layer', () => {
  for (const bad of ['/p/a,b', '/p/a:b']) {
    assert.throws(
      () => rootMountArgs({ layout: 'overlay', vePrivate: bad, veRoot: '/r', layerDir: '/l/x' }),
      (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE',
    );
  }
  assert.throws(
    () => rootMountArgs({ layout: 'overlay', vePrivate: '/p/1', veRoot: '/r', layerDir: null }),
    (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID',
  );
});
