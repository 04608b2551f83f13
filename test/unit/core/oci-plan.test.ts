// An OCI config as the helper's argv (core/oci-plan.ts): what berth-oci create runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { defaultSpec } from '../../../src/core/oci-default.ts';
import { ociDeviceRules } from '../../../src/core/oci-devices.ts';
import {
  type OciFacts,
  ociCaps,
  ociHookRunArgs,
  ociResources,
  ociResourcesOver,
  ociStartArgs,
} from '../../../src/core/oci-plan.ts';
import { parseSpec } from '../../../src/core/oci-spec.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test edits the JSON freely
type Config = any;
const spec = (edit: (c: Config) => void = () => {}) => {
  const c = defaultSpec();
  edit(c);
  return parseSpec(JSON.stringify(c));
};
const facts = {
  bundle: '/b',
  cgroupMounts: [{ name: 'memory', fstype: 'cgroup' as const, options: 'memory', writable: false }],
  cgroupProcs: ['/sys/fs/cgroup/memory/x/ns/cgroup.procs'],
  availableCaps: (1n << 41n) - 1n,
  execFifo: '/run/berth-oci/c1/exec.fifo',
  consoleSocket: null,
  system: null,
  hookState: '{"ociVersion":"1.0.2","id":"c1"',
  hostNodes: {},
};
const args = (edit?: (c: Config) => void) =>
  ociStartArgs(
    spec((c) => {
      c.process.terminal = false;
      edit?.(c);
    }),
    facts,
  );
const after = (a: string[], flag: string) => a.filter((_, i) => a[i - 1] === flag);

test('the default config: namespaces, root under the bundle, the FIFO, stdio handed on', () => {
  const a = args();
  assert.deepEqual(after(a, '--unshare'), ['pid,net,ipc,uts,mnt,cgroup']);
  assert.deepEqual(after(a, '--rootfs'), ['/b/rootfs']);
  assert.deepEqual(after(a, '--exec-fifo'), [facts.execFifo]);
  assert.ok(a.includes('--inherit-stdio'));
  assert.deepEqual(a.slice(a.indexOf('--') + 1), ['sh']);
  assert.deepEqual(after(a, '--caps-keep'), ['kill,net_bind_service,audit_write']);
  assert.deepEqual(a.slice(a.indexOf('--rlimit'), a.indexOf('--rlimit') + 4), [
    '--rlimit',
    'RLIMIT_NOFILE',
    '1024',
    '1024',
  ]);
});

test("a read-only root is a read-only bind of itself, never a remount of its filesystem (the host's)", () => {
  const a = args();
  const i = a.lastIndexOf('--rebind');
  assert.deepEqual(a.slice(i, i + 3), ['--rebind', '/', 'ro']);
  assert.ok(!a.some((x, k) => x === '--remount' && a[k + 1] === '/'));
});

test('the hostname only with a uts namespace of its own', () => {
  assert.deepEqual(after(args(), '--hostname'), ['berth']);
  const a = args((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts');
  });
  assert.ok(!a.includes('--hostname'), "it would be the host's");
});

test('mounts: binds relative to the bundle, propagation words dropped, cgroups as berth mounts them', () => {
  const a = args((c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'rprivate'] });
  });
  const i = a.findIndex((x, n) => x === '--bind' && a[n + 2] === '/data');
  assert.deepEqual(a.slice(i, i + 4), ['--bind', '/b/data', '/data', 'ro,rec']);
  // a /dev of its own: the host's usual nodes, and runc's links
  assert.ok(a.some((x, n) => x === '--bind' && a[n + 1] === '/dev/null' && a[n + 2] === '/dev/null'));
  assert.ok(a.some((x, n) => x === '--symlink' && a[n + 1] === 'pts/ptmx' && a[n + 2] === '/dev/ptmx'));
  const k = a.findIndex((x, n) => x === '--mount' && a[n + 3] === '/sys/fs/cgroup/memory');
  assert.ok(k > 0, "the host's hierarchies under /sys/fs/cgroup");
});

test('what berth-oci cannot do yet is refused by field', () => {
  const refused = (edit: (c: Config) => void, field: RegExp) =>
    assert.throws(
      () => args(edit),
      (e: unknown) => e instanceof BerthError && field.test(e.message),
    );
  refused((c) => {
    c.process.terminal = true;
  }, /process\.terminal needs --console-socket/);
  refused((c) => {
    c.linux.namespaces[4].path = '/proc/1/ns/mnt';
  }, /linux\.namespaces\[4\]\.path: joining a mount namespace by path/);
  refused((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
  }, /own mount namespace/);
  refused((c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [
      { containerID: 0, hostID: 100000, size: 10 },
      { containerID: 10, hostID: 5, size: 1 },
    ];
  }, /one range from id 0/);
});

test('a process user: its ids and groups, set last', () => {
  const a = args((c) => {
    c.process.user = { uid: 1000, gid: 100, additionalGids: [10, 20] };
  });
  const i = a.indexOf('--user');
  assert.deepEqual(a.slice(i, i + 4), ['--user', '1000', '100', '10,20']);
  const r = args().indexOf('--user');
  assert.deepEqual(args().slice(r, r + 4), ['--user', '0', '0', '-'], 'root too: exactly its groups (none)');
});

test('capabilities: the asked ones that berth knows and holds', () => {
  assert.deepEqual(ociCaps(['CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_NEW_ONE'], 1n << 5n), ['kill']);
});

test("linux.resources in berth's terms; -1 and absent are no limit; bad values refused", () => {
  assert.deepEqual(
    ociResources({
      memory: { limit: 256 << 20, swap: 384 << 20 },
      pids: { limit: 100 },
      cpu: { quota: 50_000, period: 100_000, shares: 512, cpus: '0-1,3' },
    }),
    { ram: 256 << 20, swap: 128 << 20, cpus: 3, cpulimit: 50, cpuunits: 500, numproc: 100 },
  );
  assert.deepEqual(ociResources({ memory: { limit: -1 }, pids: {} }), {
    ram: null,
    swap: null,
    cpus: null,
    cpulimit: null,
    cpuunits: null,
    numproc: null,
  });
  assert.throws(() => ociResources({ memory: { limit: '1G' } }), /memory\.limit: must be a whole number/);
  assert.throws(() => ociResources({ cpu: { cpus: '0;rm' } }), /cpu\.cpus/);
});

test('a terminal: the console op, its master to the console socket, no inherited stdio', () => {
  const a = ociStartArgs(
    spec((c) => {
      c.process.terminal = true;
    }),
    { ...facts, consoleSocket: '/run/shim/console.sock' },
  );
  assert.deepEqual(after(a, '--console-socket'), ['/run/shim/console.sock']);
  assert.deepEqual(after(a, '--console'), ['/dev/console']);
  assert.ok(!a.includes('--inherit-stdio'));
});

test("a namespace given by path is joined (a pod's network), the others made", () => {
  const a = args((c) => {
    c.linux.namespaces[1].path = '/var/run/netns/pod1';
  });
  assert.deepEqual(after(a, '--unshare'), ['pid,ipc,uts,mnt,cgroup']);
  const i = a.indexOf('--setns');
  assert.deepEqual(a.slice(i, i + 3), ['--setns', 'net', '/var/run/netns/pod1']);
});

test('update: what the document names changes (-1: no limit), the rest stays', () => {
  const now = { ram: 256 << 20, swap: 128 << 20, cpus: 2, cpulimit: 50, cpuunits: 500, numproc: 100 };
  assert.deepEqual(ociResourcesOver(now, { cpu: { shares: 1024 } }), { ...now, cpuunits: 1000 });
  assert.deepEqual(ociResourcesOver(now, { pids: { limit: -1 } }), { ...now, numproc: null });
  assert.deepEqual(
    ociResourcesOver(now, { memory: { limit: 512 << 20 } }),
    { ...now, ram: 512 << 20, swap: null },
    'the old total is below the new RAM',
  );
  assert.deepEqual(ociResourcesOver(now, { memory: { swap: 1024 << 20 } }), { ...now, swap: 768 << 20 });
});

test('hooks the helper runs: their kind, timeout, argv (argv[0] the path without one) and env, with the state', () => {
  const a = args((c) => {
    c.hooks = {
      prestart: [{ path: '/h/pre', args: ['pre', '-x'], env: ['A=1'], timeout: 5 }],
      createContainer: [{ path: '/h/cc' }],
      startContainer: [{ path: '/bin/sc', args: ['sc'] }],
      poststart: [{ path: '/h/post' }],
    };
  });
  assert.deepEqual(after(a, '--hook-state'), [facts.hookState]);
  const hooks = a.flatMap((x, i) => (x === '--hook' ? [a.slice(i + 1, i + 6).join(' ')] : []));
  assert.deepEqual(hooks, ['prestart 5 2 1 /h/pre', 'createContainer 0 1 0 /h/cc', 'startContainer 0 1 0 /bin/sc']);
  const pre = a.indexOf('/h/pre');
  assert.deepEqual(a.slice(pre, pre + 4), ['/h/pre', 'pre', '-x', 'A=1']);
  assert.ok(!a.includes('/h/post'), 'poststart runs apart, once the command runs');
  assert.ok(!args().includes('--hook-state'), 'no hooks, no state');
});

test('poststart and poststop hooks: a helper run of their own, the state whole but status and pid', () => {
  const hooks = [
    { path: '/h/a', args: [], env: [], timeout: null },
    { path: '/h/b', args: ['b', '1'], env: ['X=y'], timeout: 3 },
  ];
  assert.deepEqual(ociHookRunArgs('poststop', hooks, '{"ociVersion":"1.1.0"', 'stopped', 42), [
    '--hook-state',
    '{"ociVersion":"1.1.0"',
    ...['--hook', 'poststop', '0', '1', '0', '/h/a', '/h/a'],
    ...['--hook', 'poststop', '3', '2', '1', '/h/b', 'b', '1', 'X=y'],
    ...['--run-hooks', 'poststop', 'stopped', '42', '--status-fd', '3'],
  ]);
});

test('sysctls: of its own namespaces through its /proc, of a joined one by the host, of the host refused', () => {
  const a = args((c) => {
    c.linux.sysctl = {
      'net.ipv4.ip_unprivileged_port_start': '0',
      'kernel.shmmax': '1024',
      'net/ipv4/conf/eth0.1/rp_filter': '1',
    };
  });
  const writes = a.flatMap((x, i) => (x === '--write' ? [`${a[i + 1]}=${a[i + 2]}`] : []));
  assert.deepEqual(writes, [
    '/proc/sys/net/ipv4/ip_unprivileged_port_start=0',
    '/proc/sys/kernel/shmmax=1024',
    '/proc/sys/net/ipv4/conf/eth0.1/rp_filter=1',
  ]);
  assert.ok(a.indexOf('--write') < a.indexOf('--mask'), 'before /proc/sys is made read-only');
  const joined = args((c) => {
    c.linux.sysctl = { 'net.core.somaxconn': '512' };
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === 'network' ? { type: 'network', path: '/proc/1/ns/net' } : n,
    );
  });
  const at = joined.indexOf('--sysctl-joined');
  assert.deepEqual(joined.slice(at, at + 4), ['--sysctl-joined', 'net', 'net/core/somaxconn', '512']);
  assert.ok(!joined.includes('--write'));
  const refused = (sysctl: Record<string, string>, re: RegExp, edit?: (c: Config) => void) =>
    assert.throws(
      () =>
        args((c) => {
          c.linux.sysctl = sysctl;
          edit?.(c);
        }),
      (e: unknown) => e instanceof BerthError && re.test(e.message),
    );
  refused({ 'kernel.panic': '1' }, /not a setting of a namespace/);
  refused({ 'vm.swappiness': '1' }, /not a setting of a namespace/);
  refused({ 'net/../../kernel/panic': '1' }, /not a sysctl name/);
  refused({ 'net.ipv4.ip_forward': '1' }, /shares the host's net namespace/, (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  });
  refused({ 'net.ipv4.ip_forward': '1' }, /needs a proc mount/, (c) => {
    c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'proc');
  });
});

test('devices: made with mknod without a user namespace, the host node bound in with one', () => {
  const dev = { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o660, uid: 5, gid: 6 };
  const a = args((c) => {
    c.linux.devices = [dev, { path: '/dev/myfifo', type: 'p' }];
  });
  const nodes = a.flatMap((x, i) => (x === '--mknod' ? [`${a[i + 1]} ${a[i + 2]}`] : []));
  assert.deepEqual(nodes, ['/dev/fuse c 10 229 660 5 6', '/dev/myfifo p 0 0 666 0 0']);
  assert.ok(a.indexOf('--mknod') > a.indexOf('/dev/pts'), 'after the spec mounts (its /dev)');
  const userns = (hostNodes: OciFacts['hostNodes']) =>
    ociStartArgs(
      spec((c) => {
        c.process.terminal = false;
        c.linux.devices = [dev];
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }),
      { ...facts, hostNodes },
    );
  const b = userns({ '/dev/fuse': { type: 'c', major: 10, minor: 229 } });
  const i = b.findIndex((x, k) => x === '--bind' && b[k + 2] === '/dev/fuse');
  assert.deepEqual(b.slice(i, i + 4), ['--bind', '/dev/fuse', '/dev/fuse', 'nosuid,noexec']);
  assert.throws(() => userns({ '/dev/fuse': { type: 'c', major: 1, minor: 3 } }), /is not that device on the host/);
  assert.throws(() => userns({}), /is not that device on the host/);
});

test("device cgroup lines: each node and the spec allow rules; deny rules are berth's already", () => {
  const dev = { path: '/dev/fuse', type: 'u', major: 10, minor: 229, fileMode: null, uid: 0, gid: 0 };
  assert.deepEqual(
    ociDeviceRules([dev], {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
        { allow: true, type: 'c', major: 136, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' },
      ],
    }),
    ['c 10:229 rwm', 'c 1:3 rw', 'c 136:* rwm'],
  );
  assert.deepEqual(ociDeviceRules([], { devices: [{ allow: true, access: 'rwm' }] }), ['a *:* rwm'], 'privileged');
  assert.throws(() => ociDeviceRules([], { devices: [{ allow: true, access: 'rwx' }] }), /access/);
  assert.throws(() => ociDeviceRules([], { devices: [{ allow: true, type: 'z' }] }), /type/);
});
