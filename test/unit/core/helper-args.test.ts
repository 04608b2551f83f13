import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropsWith, keptCapabilities, parseCapabilities } from '../../../src/core/capabilities.ts';
import { execPlan, startPlan } from '../../../src/core/container-plan.ts';
import { ctConfigFrom } from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { deviceRule, parseDevnodes } from '../../../src/core/devices.ts';
import { joinArgs, startArgs } from '../../../src/core/helper-args.ts';
import { PROC_MASKS } from '../../../src/core/mounts.ts';
import { seccompPolicy } from '../../../src/core/seccomp.ts';
import { GLOBAL } from './fixtures.ts';

const ALL = (1n << 41n) - 1n;
const cfg = ctConfigFrom(parseCtId('101'), { HOSTNAME: 'web1' }, GLOBAL);

test('start argv: namespaces, cgroups, root, hostname, caps, fds, init (golden head and tail)', () => {
  const args = startArgs(
    startPlan(cfg, {
      cgroupMounts: [{ name: 'memory', fstype: 'cgroup', options: 'memory', writable: false }],
      cgroupProcs: ['/sys/fs/cgroup/memory/berth/101/cgroup.procs'],
      keeper: {
        consoleLog: '/var/log/berth/101.console.log',
        consoleLogSize: 2097152,
        socket: '/run/berth/101/keeper.sock',
        sysinfo: { v2: false, memDir: '/sys/fs/cgroup/memory/berth/101', pidsDir: '/sys/fs/cgroup/pids/berth/101' },
      },
      availableCaps: ALL,
    }),
  );
  assert.deepEqual(args.slice(0, 8), [
    '--unshare',
    'pid,uts,ipc,mnt,net,cgroup',
    '--cgroup-procs',
    '/sys/fs/cgroup/memory/berth/101/cgroup.procs',
    '--propagation',
    'rslave',
    '--rootfs',
    '/r/101',
  ]);
  assert.deepEqual(args.slice(-6), ['--seccomp-fd', '4', '--status-fd', '3', '--', '/sbin/init']);
  const s = args.join(' ');
  assert.match(s, /--mount proc proc \/proc nosuid,nodev,noexec/);
  assert.match(s, /--rebind \/proc\/sys ro,/);
  assert.match(s, /--mount sysfs sysfs \/sys ro,/);
  assert.match(s, /--mount cgroup cgroup \/sys\/fs\/cgroup\/memory ro,nosuid,nodev,noexec,memory/);
  // the console: a pty of the container's devpts after that is mounted; the keeper holds the master
  assert.match(s, /--mount devpts devpts \/dev\/pts .* --console-own \/dev\/console/);
  assert.match(
    s,
    / --keeper \/var\/log\/berth\/101.console.log 2097152 \/run\/berth\/101\/keeper.sock --sysinfo v1 \/sys\/fs\/cgroup\/memory\/berth\/101 \/sys\/fs\/cgroup\/pids\/berth\/101 --seccomp-fd/,
  );
  assert.match(s, /--write \/etc\/hostname web1\n/);
  assert.match(s, /--hostname web1 --caps-keep chown,/);
  for (const m of PROC_MASKS) assert.ok(args.includes(m), m);
  assert.ok(!s.includes('sys_module') && !s.includes('sys_rawio') && !s.includes('sys_time'));
  assert.ok(!s.includes('--idmap') && !s.includes('user,'), 'no ID_BASE: privileged, no user namespace');
});

test('an unprivileged container: a user namespace first, and its maps', () => {
  const un = ctConfigFrom(parseCtId('102'), { ID_BASE: '1114112' }, GLOBAL);
  const args = startArgs(startPlan(un, { cgroupMounts: [], cgroupProcs: [], keeper: null, availableCaps: ALL }));
  assert.deepEqual(args.slice(0, 5), ['--unshare', 'user,pid,uts,ipc,mnt,net,cgroup', '--idmap', '1114112', '65536']);
  const j = joinArgs(execPlan(7, [], ['id'], { pty: false, availableCaps: ALL, userns: true }));
  assert.deepEqual(j.slice(0, 4), ['--join', '7', '--unshare', 'user,pid,uts,ipc,mnt,net,cgroup']);
});

test('capabilities: dangerous ones dropped, and never more than berth holds', () => {
  const kept = keptCapabilities(ALL);
  for (const c of ['sys_module', 'sys_rawio', 'sys_time', 'mac_admin', 'bpf']) assert.ok(!kept.includes(c as never), c);
  assert.ok(kept.includes('sys_admin') && kept.includes('net_admin'));
  const noResource = ALL & ~(1n << 24n); // sys_resource is bit 24
  assert.ok(!keptCapabilities(noResource).includes('sys_resource'));
});

test('exec argv joins the init pid and runs argv after --', () => {
  const a = joinArgs(
    execPlan(4242, ['/cg/cgroup.procs'], ['ps', '-ef'], { pty: false, availableCaps: ALL, userns: false }),
  );
  assert.deepEqual(a.slice(0, 4), ['--join', '4242', '--unshare', 'pid,uts,ipc,mnt,net,cgroup']);
  assert.deepEqual(a.slice(-3), ['--', 'ps', '-ef']);
  assert.ok(!a.includes('--pty'));
  assert.ok(joinArgs(execPlan(1, [], ['sh'], { pty: true, availableCaps: ALL, userns: true })).includes('--pty'));
});

test('seccomp policy denies host-wide syscalls, with compat arches on x86_64', () => {
  const p = seccompPolicy('x64');
  assert.match(p, /^# .*\ndefault allow\narch x86\narch x32\n/);
  for (const s of ['kexec_load', 'open_by_handle_at', 'init_module', 'bpf', 'perf_event_open'])
    assert.match(p, new RegExp(`^errno 1 ${s}$`, 'm'));
  assert.match(p, /^errno 38 keyctl$/m);
  assert.ok(!seccompPolicy('arm64').includes('arch x86'));
});

test('CAPABILITY and DEVNODES: parsed, merged by name, validated', () => {
  assert.deepEqual(parseCapabilities('CAP_SYS_NICE:off net_raw:ON sys_nice:on'), [
    { cap: 'net_raw', on: true },
    { cap: 'sys_nice', on: true },
  ]);
  assert.throws(() => parseCapabilities('sys_nice'), /invalid capability/);
  assert.ok(dropsWith([{ cap: 'sys_time', on: true }]).includes('sys_module'));
  assert.ok(!dropsWith([{ cap: 'sys_time', on: true }]).includes('sys_time'));
  assert.ok(dropsWith([{ cap: 'net_admin', on: false }]).includes('net_admin'));
  assert.deepEqual(parseDevnodes('/dev/fuse:rw net/tun:r fuse:none'), [
    { name: 'net/tun', perm: 'r' },
    { name: 'fuse', perm: 'none' },
  ]);
  for (const bad of ['../sda:rw', 'fuse', 'fuse:x', '/etc/passwd:r', 'a/../b:rw']) {
    assert.throws(() => parseDevnodes(bad), /invalid device node/, bad);
  }
  const fuse = {
    name: 'fuse',
    type: 'c',
    major: 10,
    minor: 229,
    perm: 'rw',
    mode: 0o666,
    source: '/dev/fuse',
  } as const;
  assert.equal(deviceRule(fuse), 'c 10:229 rwm');
  const plan = startPlan(ctConfigFrom(parseCtId('103'), { CAPABILITY: 'sys_nice:off' }, GLOBAL), {
    cgroupMounts: [],
    cgroupProcs: [],
    keeper: null,
    availableCaps: ALL,
    devices: [
      { name: 'net/tun', type: 'c', major: 10, minor: 200, perm: 'rw', mode: 0o666, source: '/dev/net/tun' },
      // an unprivileged container's own node, made by berth (host/devices.ts)
      { ...fuse, source: '/var/lib/berth/devices/103/fuse' },
    ],
  });
  assert.ok(!plan.caps.includes('sys_nice'));
  assert.ok(startArgs(plan).join(' ').includes('--bind /dev/net/tun /dev/net/tun nosuid,noexec'));
  assert.ok(startArgs(plan).join(' ').includes('--bind /var/lib/berth/devices/103/fuse /dev/fuse nosuid,noexec'));
});
