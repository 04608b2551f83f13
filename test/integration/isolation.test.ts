// The isolation baseline, checked from inside a busybox container.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

test('inside: capabilities dropped, host paths masked, /sys and /proc/sys read-only, devices and syscalls restricted', {
  skip: ROOT_SKIP,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', '601']);
  s.ok(['start', '601']);
  const sh = (script: string) => {
    const r = s.berth(['exec', '601', '--', 'sh', '-c', script]);
    return { out: r.err + r.out, code: r.code };
  };

  const status = s.ok(['exec', '601', '--', 'cat', '/proc/self/status']);
  const bnd = BigInt(`0x${/^CapBnd:\s*(\w+)/m.exec(status)?.[1]}`);
  for (const [name, bit] of [
    ['sys_module', 16],
    ['sys_rawio', 17],
    ['sys_time', 25],
    ['mac_admin', 33],
    ['bpf', 39],
  ] as const) {
    assert.equal((bnd >> BigInt(bit)) & 1n, 0n, `${name} must not be in the bounding set`);
  }
  assert.match(status, /^Seccomp:\s*2$/m, 'a seccomp filter is loaded');
  assert.match(status, /^NoNewPrivs:\s*0$/m, 'setuid programs keep working (no NNP)');

  // seccomp: swapoff is allowed by capabilities (sys_admin) but denied by the filter
  assert.match(sh('swapoff /dev/null 2>&1').out, /not permitted/i);
  // read-only kernel interfaces
  assert.match(sh('echo 1 > /proc/sys/kernel/panic 2>&1; echo rc=$?').out, /Read-only file system[\s\S]*rc=1/);
  assert.match(sh('echo x > /sys/kernel/uevent_helper 2>&1; echo rc=$?').out, /rc=1/);
  assert.match(sh('mkdir /sys/fs/cgroup/memory/escape 2>&1; echo rc=$?').out, /rc=1/);
  // container's own network stack stays writable
  assert.equal(sh('echo 1 > /proc/sys/net/ipv4/ip_forward && echo ok').out.trim(), 'ok');
  // masked host-sensitive files read empty
  assert.equal(sh('cat /proc/keys /proc/timer_list 2>/dev/null | wc -c').out.trim(), '0');
  assert.equal(sh('ls /sys/firmware | wc -l').out.trim(), '0');
  // devices: only the allow-listed nodes; a host disk node can be made but not opened
  assert.equal(
    sh('ls /dev | sort | tr "\\n" " "').out.trim(),
    'console fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero',
  );
  assert.match(sh('mknod /tmp/vda b 254 0 && head -c 1 /tmp/vda 2>&1; echo rc=$?').out, /not permitted[\s\S]*rc=1/i);
  assert.match(sh('mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem 2>&1; echo rc=$?').out, /not permitted[\s\S]*rc=1/i);
  // loading modules and setting the clock fail
  assert.match(sh('date -s 2001-01-01 2>&1').out, /can't set date: Operation not permitted/);
  // the host's processes are invisible
  assert.ok(Number(sh('ls -d /proc/[0-9]* | wc -l').out.trim()) < 10);
  // own pid, uts, ipc, net namespaces: only loopback
  assert.equal(sh('ls /sys/class/net | tr "\\n" " "').out.trim(), 'lo');
});

test('widening and narrowing a container: CAPABILITY and DEVNODES, applied at start', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', '602', '--privileged', 'yes']);
  const bad = s.berth(['set', '602', '--capability', 'sys_nothing:on', '--save']);
  assert.equal(bad.code, 21);
  assert.match(bad.err, /invalid capability "sys_nothing:on"/);
  assert.equal(s.berth(['set', '602', '--devnodes', '../sda:rw', '--save']).code, 21);
  assert.equal(s.berth(['set', '602', '--capability', 'sys_nice:off']).code, 20, 'needs --save');
  s.ok(['set', '602', '--capability', 'sys_nice:off', '--capability', 'sys_pacct:on', '--save']);
  s.ok(['set', '602', '--devnodes', 'fuse:rw', '--save']);
  s.ok(['start', '602']);
  const bnd = (args: string[]) => BigInt(`0x${/^CapBnd:\s*(\w+)/m.exec(s.ok(['exec', '602', '--', ...args]))?.[1]}`);
  for (const b of [bnd(['cat', '/proc/1/status']), bnd(['cat', '/proc/self/status'])]) {
    assert.equal((b >> 23n) & 1n, 0n, 'sys_nice taken away (init and exec alike)');
    assert.equal((b >> 20n) & 1n, 1n, 'sys_pacct given');
  }
  // the node is there and opens (privileged: the host's mode does not stand in the way)
  assert.match(s.ok(['exec', '602', '--', 'ls', '-l', '/dev/fuse']), /^c.* 10,\s+229 /);
  assert.equal(s.berth(['exec', '602', '--', 'sh', '-c', 'exec 3<>/dev/fuse']).code, 0, '/dev/fuse opens');
  s.ok(['stop', '602']);
  s.ok(['set', '602', '--devnodes', 'fuse:none', '--save']);
  s.ok(['start', '602']);
  assert.notEqual(s.berth(['exec', '602', '--', 'ls', '/dev/fuse']).code, 0, 'taken back');
});
