// Machine-ids: the format berth writes, and which template members would share one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carriesMachineId, machineId, machineIdFiles, machineIdMember } from '../../../src/core/machine-id.ts';

test('a machine-id is 32 lowercase hex digits and a newline, with UUID v4 bits', () => {
  assert.equal(machineId(new Uint8Array(16)), '00000000000040008000000000000000\n');
  assert.equal(machineId(new Uint8Array(16).fill(0xff)), 'ffffffffffff4fffbfffffffffffffff\n');
  assert.throws(() => machineId(new Uint8Array(12)), RangeError);
  const r = new Uint8Array(16).fill(0xab);
  assert.deepEqual(
    machineIdFiles(r, false).map((f) => f.dest),
    ['/etc/machine-id'],
  );
  const both = machineIdFiles(r, true);
  assert.deepEqual(
    both.map((f) => f.dest),
    ['/etc/machine-id', '/var/lib/dbus/machine-id'],
  );
  assert.equal(both[0]?.content, both[1]?.content, 'D-Bus gets the same id');
  assert.match(both[0]?.content ?? '', /^[0-9a-f]{32}\n$/);
});

test('template members: only an empty /etc/machine-id and a symlink for D-Bus carry no id', () => {
  assert.equal(machineIdMember('./etc/machine-id'), 'etc/machine-id');
  assert.equal(machineIdMember('var/lib/dbus/machine-id'), 'var/lib/dbus/machine-id');
  for (const n of ['./etc/machine-id.old', 'etc/machine-id/', 'x/etc/machine-id', './etc/hostname'])
    assert.equal(machineIdMember(n), null, n);
  const line = (mode: string, size: string, rest: string) => `${mode} 0/0 ${size} 2026-12-01 13:54 ${rest}`;
  assert.equal(carriesMachineId(line('-r--r--r--', '0', './etc/machine-id')), false);
  assert.equal(carriesMachineId(line('-r--r--r--', '33', './etc/machine-id')), true);
  assert.equal(carriesMachineId(line('lrwxrwxrwx', '0', './etc/machine-id -> /run/machine-id')), true);
  assert.equal(carriesMachineId(line('-rw-r--r--', '33', './var/lib/dbus/machine-id')), true);
  assert.equal(carriesMachineId(line('-rw-r--r--', '0', './var/lib/dbus/machine-id')), true);
  assert.equal(carriesMachineId(line('hrw-r--r--', '0', './var/lib/dbus/machine-id link to ./etc/machine-id')), true);
  assert.equal(carriesMachineId(line('lrwxrwxrwx', '0', 'var/lib/dbus/machine-id -> /etc/machine-id')), false);
  assert.equal(carriesMachineId('tar: a warning'), true, 'what cannot be read is scrubbed');
});
