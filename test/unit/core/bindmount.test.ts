import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bindmountChanges, bindOptions, formatBindmounts, parseBindmounts } from '../../../src/core/bindmount.ts';
import { BerthError } from '../../../src/core/errors.ts';

test('BINDMOUNT: entries round-trip; a later entry for a path replaces the earlier one', () => {
  const list = parseBindmounts('/srv/a:/data /srv/b:/www,ro,noexec /srv/c:/data,ro');
  assert.equal(formatBindmounts(list), '/srv/b:/www,ro,noexec /srv/c:/data,ro');
  assert.deepEqual(list.map(bindOptions), ['ro,nosuid,nodev,noexec', 'ro,nosuid,nodev']);
  assert.equal(formatBindmounts(parseBindmounts(formatBindmounts(list))), formatBindmounts(list));
});

test('BINDMOUNT: relative, dotted, odd or kernel paths and unknown options are refused', () => {
  for (const bad of [
    'srv:/x',
    '/srv:x',
    '/srv/../etc:/x',
    '/srv:/a/./b',
    '/:/x',
    '/srv:/',
    '/srv:/proc',
    '/srv:/sys/x',
    '/srv:/dev/sda',
    '/srv:/x,suid',
    '/s r:/x',
    '/srv',
  ]) {
    assert.throws(() => parseBindmounts(bad), BerthError, bad);
  }
});

test('--bindmount_add and --bindmount_del change the list by container path', () => {
  const now = parseBindmounts('/srv/a:/a /srv/b:/b');
  assert.equal(formatBindmounts(bindmountChanges(now, ['/srv/c:/a,ro'], ['/b'])), '/srv/c:/a,ro');
  assert.equal(formatBindmounts(bindmountChanges(now, [], ['all'])), '');
  assert.throws(() => bindmountChanges(now, [], ['/nope']), BerthError);
});
