// Snapshot names and views, and what a clone resets (backup manifests: backup-restore.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneKeys } from '../../../src/core/clone.ts';
import { ctConfigFrom } from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { RESET_MACHINE_ID } from '../../../src/core/machine-id.ts';
import {
  defaultSnapshotName,
  ownFilesDir,
  snapshotMountArgs,
  validateSnapshotName,
} from '../../../src/core/snapshot.ts';
import { GLOBAL } from './fixtures.ts';

test('snapshot names, what they copy, and their read-only views', () => {
  assert.equal(defaultSnapshotName(new Date('2026-11-25T23:17:05Z')), '20261125-231705');
  assert.equal(validateSnapshotName('before-upgrade.1'), 'before-upgrade.1');
  for (const n of ['', '../x', '.hidden', 'a/b', 'x'.repeat(65)]) {
    assert.throws(
      () => validateSnapshotName(n),
      (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE',
      n,
    );
  }
  assert.equal(ownFilesDir('overlay', '/p/1'), '/p/1/upper');
  assert.equal(ownFilesDir('dir', '/p/1'), '/p/1');
  const src = { vePrivate: '/p/1', veRoot: '/mnt', layerDir: '/l/bb' };
  // a view anywhere the admin says: read-only, and a planted setuid file or device does nothing
  assert.deepEqual(snapshotMountArgs({ ...src, layout: 'overlay' }, '/s/fs', '/mnt'), [
    '--host-ro',
    '--host-nosuid',
    '--host-overlay',
    'lowerdir=/s/fs:/l/bb',
    '/mnt',
  ]);
  assert.deepEqual(snapshotMountArgs({ ...src, layout: 'image' }, '/s/fs', '/mnt'), [
    '--host-ro',
    '--host-nosuid',
    '--host-image',
    '/s/fs/root.img',
    '/mnt',
  ]);
  assert.deepEqual(snapshotMountArgs({ ...src, layout: 'dir' }, '/s/fs', '/mnt'), [
    '--host-ro',
    '--host-nosuid',
    '--host-bind',
    '/s/fs',
    '/mnt',
  ]);
});

test('a clone gets a new identity: hostname, no addresses or forwards, new MACs, machine-id reset', () => {
  const g = GLOBAL;
  const raw = {
    HOSTNAME: 'web1',
    IP_ADDRESS: '192.0.2.7',
    PORTFWD: 'tcp:8080:80',
    NETIF: 'ifname=eth0,mac=02:00:00:00:00:01,host_ifname=veth101.0,host_mac=02:00:00:00:00:02,bridge=br0,dhcp=yes',
    VE_PRIVATE: '/data/101',
    PHYSPAGES: '0:256M',
  };
  const src = ctConfigFrom(parseCtId('101'), raw, g);
  let n = 0;
  const keys = cloneKeys(parseCtId('102'), src, raw, undefined, (len) => new Uint8Array(len).fill(++n));
  assert.equal(keys['HOSTNAME'], 'ct102');
  assert.equal(keys['IP_ADDRESS'], undefined);
  assert.equal(keys['PORTFWD'], undefined);
  assert.equal(keys['VE_PRIVATE'], undefined, "a literal path is the source's own");
  assert.equal(keys[RESET_MACHINE_ID], 'yes');
  assert.match(
    keys['NETIF'] ?? '',
    /^ifname=eth0,mac=02:01:01:01:01:01,host_ifname=veth102\.0,host_mac=[^,]+,bridge=br0/,
  );
  assert.match(keys['NETIF'] ?? '', /dhcp=yes/);
  assert.equal(cloneKeys(parseCtId('102'), src, raw, 'copy', () => new Uint8Array(12))['HOSTNAME'], 'copy');
});
