import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execPlan, namespacesOf } from '../../../src/core/container-plan.ts';
import {
  type CheckpointMeta,
  cgroupTreeKey,
  checkMeta,
  dumpArgs,
  externalMounts,
  localExternals,
  MAX_TREE_DIRS,
  maskedIn,
  parseMeta,
  restoreArgs,
  ttyKey,
} from '../../../src/core/criu.ts';
import { restoreNetdevs, restoreNetifName, restoreNetOps } from '../../../src/core/criu-net.ts';
import type { BerthError } from '../../../src/core/errors.ts';
import { parseIpList } from '../../../src/core/net.ts';
import { parseNetifs } from '../../../src/core/netif.ts';

const HOST = { neighbourDevs: ['eth0'], mtu: 65535, fastpath: false, enable: [], ipv6: true };

import { planMounts } from '../../../src/core/mounts.ts';

const LXCFS = { dir: '/run/berth/lxcfs', proc: ['meminfo', 'uptime'], sys: [] };

test('time namespace: made at start and joined by exec when the kernel has them', () => {
  assert.deepEqual(namespacesOf(true, true), ['user', 'pid', 'uts', 'ipc', 'mnt', 'net', 'cgroup', 'time']);
  assert.deepEqual(namespacesOf(false, false), ['pid', 'uts', 'ipc', 'mnt', 'net', 'cgroup']);
  const j = execPlan(7, [], ['id'], { pty: false, availableCaps: 0n, userns: true, timens: true });
  assert.equal(j.namespaces.at(-1), 'time');
});

test('external mounts: host binds, masks of files and directories (from mountinfo), never internal mounts', () => {
  const plan = planMounts({ cgroups: [], hostname: 'h', lxcfs: LXCFS });
  const info = [
    '300 200 0:5 /null /proc/keys rw,nosuid - devtmpfs udev rw',
    '301 200 0:60 / /proc/acpi ro - tmpfs tmpfs ro,size=0k,mode=000,uid=1048576,gid=1048576',
    '302 200 0:5 /null /dev/null rw - devtmpfs udev rw',
    // a restored mask: berth's empty directory
    '303 200 0:26 /berth-1a2b-masked-dir /sys/firmware ro - tmpfs tmpfs rw,mode=755',
    // tmpfs mounts with content, or another bind of the host's /run: dumped as they are
    '304 200 0:61 / /dev/shm rw - tmpfs shm rw,size=65536k',
    '305 200 0:62 / /sys/kernel/debug ro - tmpfs tmpfs ro,size=0k,mode=755',
    '306 200 0:26 /tmp/berth-masked-dir /mnt rw - ext4 /dev/vda rw',
  ].join('\n');
  const masks = maskedIn(info);
  assert.deepEqual(
    [...masks],
    [
      ['/proc/keys', 'file'],
      ['/proc/acpi', 'dir'],
      ['/dev/null', 'file'],
      ['/sys/firmware', 'dir'],
    ],
  );
  const ext = externalMounts(plan, masks);
  assert.deepEqual(ext.slice(0, 2), [
    { dest: '/proc/meminfo', source: '/run/berth/lxcfs/proc/meminfo' },
    { dest: '/proc/uptime', source: '/run/berth/lxcfs/proc/uptime' },
  ]);
  assert.ok(ext.some((m) => m.dest === '/proc/keys' && m.source === null && !m.dir));
  assert.ok(ext.some((m) => m.dest === '/proc/acpi' && m.source === null && m.dir));
  assert.ok(!ext.some((m) => m.dest === '/sys/kernel/debug'), 'a mask not in place is not external');
  assert.ok(ext.some((m) => m.dest === '/dev/urandom' && m.source === '/dev/urandom'));
  // a BINDMOUNT of an unprivileged container: external, restored from an idmapped copy
  assert.deepEqual(
    externalMounts([{ op: 'bind-idmapped', source: '/s', stage: '/st', dest: '/d', options: '' }], masks),
    [{ dest: '/d', source: '/s', idmapped: true }],
  );
  assert.throws(
    () => externalMounts([{ op: 'mount-staged', fstype: 'mqueue', stage: '/st', dest: '/d', options: '' }], masks),
    (e: BerthError) => e.code === 'CHKPNT',
  );
});

test('dump and restore argv (golden)', () => {
  const externals = [
    { dest: '/proc/meminfo', source: '/run/berth/lxcfs/proc/meminfo' },
    { dest: '/proc/keys', source: null },
    { dest: '/sys/firmware', source: null, dir: true },
    { dest: '/dev/null', source: '/dev/null' },
    { dest: '/dev/net/tun', source: '/var/lib/berth/devices/101/net/tun' },
    { dest: '/data', source: '/srv/data', idmapped: true },
  ];
  assert.equal(ttyKey(0x8800, 0x42), 'tty[8800:42]');
  assert.deepEqual(
    dumpArgs({ pid: 42, dir: '/d', freezer: '/sys/fs/cgroup/freezer/berth/101', externals, tty: 'tty[8800:42]' }),
    [
      'dump',
      '-t',
      '42',
      '-D',
      '/d',
      '-o',
      'dump.log',
      '-v4',
      '--freeze-cgroup',
      '/sys/fs/cgroup/freezer/berth/101',
      '--external',
      'mnt[/proc/meminfo]:/proc/meminfo',
      '--external',
      'mnt[/proc/keys]:/proc/keys',
      '--external',
      'mnt[/sys/firmware]:/sys/firmware',
      '--external',
      'mnt[/dev/null]:/dev/null',
      '--external',
      'mnt[/dev/net/tun]:/dev/net/tun',
      '--external',
      'mnt[/data]:/data',
      '--external',
      'mnt[/dev/console]:console',
      '--external',
      'tty[8800:42]',
      '--tcp-established',
      '--irmap-scan-path',
      '/usr/share/dbus-1',
      '--irmap-scan-path',
      '/usr/share/polkit-1',
      '--irmap-scan-path',
      '/usr/share/zoneinfo',
    ],
  );
  const meta = { ...META, externals };
  const r = restoreArgs({
    dir: '/d',
    maskDir: '/run/berth-masked-dir',
    root: '/var/lib/berth/root/101',
    cgroupRoot: '/berth/101/ns',
    meta,
    stage: '/run/berth-criu-101',
    lxcfsDir: '/run/berth/lxcfs',
    devices: [{ source: '/var/lib/berth/devices/101/net/tun', name: 'net/tun' }],
    binds: ['/srv/data'],
    ttyFd: 3,
    pty: '0',
    netdevs: [{ inside: 'venet0', here: 'bvr-101' }],
  });
  assert.deepEqual(r.slice(r.indexOf('--inherit-fd')), [
    '--inherit-fd',
    'fd[3]:tty[8800:42]',
    '--external',
    'mnt[/proc/meminfo]:/run/berth-criu-101/lxcfs/proc/meminfo',
    '--external',
    'mnt[/proc/keys]:/dev/null',
    '--external',
    'mnt[/sys/firmware]:/run/berth-masked-dir',
    '--external',
    'mnt[/dev/null]:/dev/null',
    '--external',
    'mnt[/dev/net/tun]:/run/berth-criu-101/dev/net/tun',
    '--external',
    'mnt[/data]:/run/berth-criu-101/bind/0',
    '--external',
    'mnt[console]:/run/berth-criu-101/pts/0',
    '--external',
    'netdev[venet0]:bvr-101',
    '--tcp-established',
  ]);
});

const META: CheckpointMeta = {
  version: 1,
  ctid: '101',
  tty: 'tty[8800:42]',
  idBase: 100000,
  layout: 'overlay',
  ips: [],
  stopSignal: 12,
  externals: [],
  criu: '4.2.1',
  kernel: '6.18.44',
  created: '2026-12-02T00:00:00.000Z',
};

test('meta: parsed strictly, and a mismatch refused', () => {
  assert.deepEqual(parseMeta(JSON.stringify(META), '/d'), META);
  for (const bad of ['{', '[]', JSON.stringify({ ...META, tty: 'tty[x]' }), JSON.stringify({ ...META, version: 2 })]) {
    assert.throws(
      () => parseMeta(bad, '/d'),
      (e: BerthError) => e.code === 'RESTORE',
    );
  }
  const now = { ctid: '101', idBase: 100000, layout: 'overlay', criu: '4.2.1' };
  checkMeta(META, now, '/d');
  checkMeta(META, { ...now, criu: '4.10' }, '/d');
  for (const other of [{ ctid: '102' }, { idBase: 200000 }, { layout: 'dir' }, { criu: '4.1.1' }]) {
    assert.throws(
      () => checkMeta(META, { ...now, ...other }, '/d'),
      (e: BerthError) => e.code === 'RESTORE',
    );
  }
});

test('enter sessions: external ttys in the dump, inherited fds after the console in the restore; meta checked', () => {
  const d = dumpArgs({
    pid: 7,
    dir: '/d',
    freezer: null,
    externals: [],
    tty: 'tty[8800:3a]',
    sessionTtys: ['tty[8800:39]', 'tty[8801:39]'],
  });
  const at = d.indexOf('tty[8800:3a]');
  assert.deepEqual(d.slice(at, at + 5), ['tty[8800:3a]', '--external', 'tty[8800:39]', '--external', 'tty[8801:39]']);
  const sessions = [
    { n: 1, tty: 'tty[8800:39]' },
    { n: 2, tty: 'tty[8801:39]' },
  ];
  const r = restoreArgs({
    dir: '/d',
    maskDir: '/m',
    root: '/r',
    cgroupRoot: '/berth/101/ns',
    meta: { ...META, sessions },
    stage: '/s',
    lxcfsDir: null,
    devices: [],
    binds: [],
    ttyFd: 9,
    pty: '0',
    netdevs: [],
  });
  const fds = r.flatMap((a, i) => (r[i - 1] === '--inherit-fd' ? [a] : []));
  assert.deepEqual(fds, ['fd[9]:tty[8800:42]', 'fd[10]:tty[8800:39]', 'fd[11]:tty[8801:39]']);
  assert.deepEqual(parseMeta(JSON.stringify({ ...META, sessions }), '/d').sessions, sessions);
  // hostile: numbers out of range or twice, keys that are no tty key, too many
  const many = Array.from({ length: 17 }, (_, k) => ({ n: k + 1, tty: 'tty[1:2]' }));
  for (const bad of [
    [{ n: 0, tty: 'tty[1:2]' }],
    [{ n: 17, tty: 'tty[1:2]' }],
    [
      { n: 1, tty: 'tty[1:2]' },
      { n: 1, tty: 'tty[1:3]' },
    ],
    [{ n: 1, tty: 'tty[1:2]] --root /' }],
    [{ n: 1.5, tty: 'tty[1:2]' }],
    {},
    many,
  ]) {
    assert.throws(
      () => parseMeta(JSON.stringify({ ...META, sessions: bad }), '/d'),
      (e: BerthError) => e.code === 'RESTORE',
      JSON.stringify(bad).slice(0, 80),
    );
  }
});

test('meta: the cgroup tree is hostile input: only relative paths below the inner cgroup, and few', () => {
  const ok = {
    cgroup2: ['system.slice', 'system.slice/system-serial\\x2dgetty.slice'],
    'name=systemd': ['user.slice'],
  };
  assert.deepEqual(parseMeta(JSON.stringify({ ...META, cgroups: ok, nesting: false }), '/d').cgroups, ok);
  const bad: unknown[] = [
    { cgroup2: ['../escape'] },
    { cgroup2: ['a/../../b'] },
    { cgroup2: ['/abs'] },
    { cgroup2: ['a//b'] },
    { cgroup2: ['.'] },
    { cgroup2: [''] },
    { cgroup2: ['a\u0000b'] },
    { cgroup2: [7] },
    { cgroup2: 'system.slice' },
    { memory: ['x'] },
    { 'name=a/b': ['x'] },
    { cgroup2: ['x'.repeat(256)] },
    { cgroup2: Array.from({ length: MAX_TREE_DIRS + 1 }, (_, i) => `s${i}`) },
    ['system.slice'],
  ];
  for (const cgroups of bad) {
    assert.throws(
      () => parseMeta(JSON.stringify({ ...META, cgroups }), '/d'),
      (e: BerthError) => e.code === 'RESTORE',
      JSON.stringify(cgroups).slice(0, 80),
    );
  }
  assert.throws(() => parseMeta(JSON.stringify({ ...META, nesting: 'no' }), '/d'));
});

test('cgroup tree keys: the hierarchies a container manages itself, by name', () => {
  assert.equal(cgroupTreeKey('cgroup2', 'rw,nsdelegate', []), 'cgroup2');
  assert.equal(cgroupTreeKey('cgroup', 'rw,xattr,name=systemd', []), 'name=systemd');
  assert.equal(cgroupTreeKey('cgroup', 'rw,memory', ['memory']), null);
  assert.equal(cgroupTreeKey('cgroup', 'rw', []), null);
});

test("a checkpoint's external mounts take their sources from this host, never from its meta", () => {
  const local = [{ dest: '/proc/cpuinfo', source: '/b/run/berth/lxcfs/proc/cpuinfo' }];
  const dumped = [
    { dest: '/proc/cpuinfo', source: '/a/run/berth/lxcfs/proc/cpuinfo' },
    { dest: '/proc/kcore', source: null },
  ];
  assert.deepEqual(localExternals(dumped, local), [local[0], dumped[1]]);
  assert.throws(
    () => localExternals([{ dest: '/root/x', source: '/etc/shadow' }], local),
    (e: BerthError) => e.code === 'RESTORE' && /binds \/root\/x/.test(e.message),
  );
});

test('restore network: the routed and bridged pairs made here, their container ends waiting for CRIU', () => {
  const netifs = parseNetifs(
    'ifname=eth0,mac=02:00:00:00:01:01,host_ifname=veth101.0,host_mac=02:00:00:00:01:02,bridge=br0',
  );
  const ops = restoreNetOps('101', parseIpList('192.0.2.5'), HOST, netifs, []);
  const flat = ops.map((o) => o.join(' '));
  assert.ok(
    flat.every((o) => o.startsWith('host ')),
    'nothing runs in a container namespace: there is none yet',
  );
  assert.ok(flat.includes('host veth bv-101 bvr-101 65535'));
  assert.ok(flat.includes(`host veth veth101.0 ${restoreNetifName('101', 0)} -`));
  assert.ok(flat.includes(`host mac ${restoreNetifName('101', 0)} 02:00:00:00:01:01 -`), "the container's MAC");
  assert.ok(flat.includes('host master veth101.0 br0 -'));
  assert.ok(restoreNetifName('a-very-long-container-name', 3).length <= 15);
  assert.deepEqual(restoreNetdevs('101', parseIpList('192.0.2.5'), netifs), [
    { inside: 'venet0', here: 'bvr-101' },
    { inside: 'eth0', here: restoreNetifName('101', 0) },
  ]);
  assert.deepEqual(restoreNetOps('101', [], null, [], []), []);
});
