import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2Flags } from '../../../src/host/mountinfo.ts';

const HYBRID = [
  '35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,favordynmods',
  '36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory',
].join('\n');
const SYSTEMD = '30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

test('cgroup2Flags: the host-wide flags of the cgroup2 superblock, and where it is mounted', () => {
  assert.deepEqual(cgroup2Flags(HYBRID), { target: '/sys/fs/cgroup/unified', flags: ['favordynmods'] });
  assert.deepEqual(cgroup2Flags(SYSTEMD), { target: '/sys/fs/cgroup', flags: ['nsdelegate', 'memory_recursiveprot'] });
  assert.deepEqual(cgroup2Flags(HYBRID.replace(',favordynmods', '')), { target: '/sys/fs/cgroup/unified', flags: [] });
  assert.equal(cgroup2Flags('36 25 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'), null);
});
