// berth-oci's system containers (core/oci-system.ts) and what the plan makes of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { defaultSpec } from '../../../src/core/oci-default.ts';
import { ociStartArgs, overlayLayers } from '../../../src/core/oci-plan.ts';
import { parseSpec } from '../../../src/core/oci-spec.ts';
import { needsIdRange, systemSpec, wantsSystem } from '../../../src/core/oci-system.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test edits the JSON freely
type Config = any;
const spec = (edit: (c: Config) => void = () => {}) => {
  const c: Config = defaultSpec();
  c.process.terminal = false;
  edit(c);
  return parseSpec(JSON.stringify(c));
};
const lxcfs = { dir: '/run/berth/lxcfs', proc: ['meminfo', 'uptime'], sys: ['devices/system/cpu/online'] };
const facts = {
  bundle: '/b',
  cgroupMounts: [{ name: '', fstype: 'cgroup2' as const, options: '', writable: true }],
  cgroupProcs: [],
  availableCaps: (1n << 41n) - 1n,
  execFifo: '/r/c1/exec.fifo',
  consoleSocket: null,
  system: { stageDir: '/r/c1/stage', lxcfs, rootOverlay: null },
  hookState: '{"ociVersion":"1.0.2","id":"c1"',
  hostNodes: {},
};
const after = (a: string[], flag: string) => a.filter((_, i) => a[i - 1] === flag);
const sys = (edit?: (c: Config) => void) => ociStartArgs(systemSpec(spec(edit), 1048576), facts);

test('the annotation: none or "true" is a system container, "false" is not, anything else refused', () => {
  assert.equal(wantsSystem(spec()), true);
  // without it: not with the host's pid namespace, nor privileged (a user namespace would break them)
  const hostPid = spec(
    (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid')),
  );
  assert.equal(wantsSystem(hostPid), false);
  assert.equal(wantsSystem(spec((c) => (c.process.capabilities.bounding = ['CAP_SYS_MODULE']))), false);
  assert.equal(wantsSystem(spec((c) => (c.annotations = { 'berth.io/system': 'false' }))), false);
  assert.throws(() => wantsSystem(spec((c) => (c.annotations = { 'berth.io/system': 'no' }))), BerthError);
});

test('a user namespace with 65536 ids from the range given, a cgroup namespace, $container', () => {
  const s = systemSpec(spec(), 1048576);
  assert.equal(s.linux.namespaces[0]?.type, 'user');
  assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: 1048576, size: 65536 }]);
  assert.deepEqual(s.linux.gidMappings, s.linux.uidMappings);
  assert.ok(s.process?.env.includes('container=berth'));
  // root gets berth's capabilities (its own user namespace's), sys_admin among them, sys_module not
  assert.ok(s.process?.capabilities.includes('CAP_SYS_ADMIN'));
  assert.ok(!s.process?.capabilities.includes('CAP_SYS_MODULE'));
  // a set someone chose stays: Kubernetes' drop: [ALL]
  const none = systemSpec(
    spec((c) => (c.process.capabilities = {})),
    1048576,
  );
  assert.deepEqual(none.process?.capabilities, []);
  const a = sys();
  assert.deepEqual(after(a, '--idmap'), ['1048576']);
  assert.ok(after(a, '--unshare')[0]?.split(',').includes('user'));
});

test("the spec's own user namespace (Docker's userns-remap) is kept: no range, no idmapped root", () => {
  const given = spec((c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
  });
  assert.equal(needsIdRange(given), false);
  const a = ociStartArgs(systemSpec(given, null), { ...facts, system: { stageDir: null, lxcfs, rootOverlay: null } });
  assert.deepEqual(after(a, '--idmap'), ['300000']);
  assert.ok(!a.includes('--rootfs-idmapped'));
});

test('the root and the binds idmapped through the stage dir; lxcfs over /proc and /sys', () => {
  const a = sys((c) => c.mounts.push({ destination: '/etc/hosts', type: 'bind', source: '/h', options: ['rbind'] }));
  assert.deepEqual(after(a, '--rootfs-idmapped'), ['/r/c1/stage/root']);
  const i = a.indexOf('--bind-idmapped-loose');
  assert.deepEqual(a.slice(i + 1, i + 4), [
    '/h',
    `/r/c1/stage/${(defaultSpec() as Config).mounts.length}`,
    '/etc/hosts',
  ]);
  const binds = after(a, '--bind');
  assert.ok(binds.includes('/run/berth/lxcfs/proc/meminfo'));
  assert.ok(binds.includes('/run/berth/lxcfs/sys/devices/system/cpu/online'));
});

test('the cgroup mount is writable for its systemd (own cgroup and user namespaces), even if the spec says ro', () => {
  const a = sys((c) => {
    c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
    c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] });
  });
  const i = a.indexOf('cgroup2');
  assert.ok(i > 0 && !a[i + 3]?.split(',').includes('ro'), a.slice(i - 1, i + 4).join(' '));
});

test("a pod's joined namespaces: sysfs is the host's read-only, mqueue staged, a joined pid namespace refused", () => {
  const a = sys((c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === 'network' || n.type === 'ipc'
        ? { ...n, path: `/proc/1/ns/${n.type === 'network' ? 'net' : 'ipc'}` }
        : n,
    );
    c.mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: [] });
  });
  const i = a.findIndex((x, k) => x === '/sys' && a[k - 1] === '--bind');
  assert.ok(i > 0 && a[i + 2]?.includes('ro'), 'the host sysfs bound read-only');
  // mqueue of the pod's ipc namespace: mounted by the helper's parent (host root) and bound in
  assert.equal(after(a, '--mount-staged')[0], 'mqueue');
  assert.throws(
    () =>
      sys(
        (c) =>
          (c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
            n.type === 'pid' ? { ...n, path: '/proc/1/ns/pid' } : n,
          )),
      ),
    BerthError,
  );
});

test("an image's overlay root: its layers handed to the helper; relative layers (Docker's long lists) refused", () => {
  const data = 'rw,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work,index=off';
  // a work directory of its own (the caller's overlay keeps using its own); index=off kept
  const mine = 'lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/berth-work,index=off';
  assert.deepEqual(overlayLayers(data), { data: mine, workdir: '/s/3/berth-work' });
  const a = ociStartArgs(systemSpec(spec(), 1048576), { ...facts, system: { ...facts.system, rootOverlay: data } });
  assert.deepEqual(after(a, '--rootfs-overlay'), [mine]);
  assert.throws(() => overlayLayers('lowerdir=l/AB:l/CD,upperdir=/x/diff,workdir=/x/work'), BerthError);
});

test("without a cgroup namespace the host's cgroup2 tree is mounted read-only (pure v2 too)", () => {
  const a = ociStartArgs(
    spec((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
    }),
    { ...facts, system: null },
  );
  const i = a.indexOf('cgroup2');
  assert.ok(i > 0 && a[i + 3]?.split(',').includes('ro'), a.slice(i - 1, i + 4).join(' '));
});

test("Docker's ping_group_range (every host group) becomes every group of the user namespace berth adds", () => {
  const s = spec((c) => {
    c.linux.sysctl = { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' };
  });
  assert.deepEqual(systemSpec(s, 1048576).linux.sysctl, {
    'net.ipv4.ping_group_range': '0 65535',
    'net.ipv4.ip_unprivileged_port_start': '0',
  });
  assert.deepEqual(systemSpec(s, null).linux.sysctl, s.linux.sysctl, "the spec's own user namespace: as given");
});

test("Podman's default set (containers.conf's 11) is an engine's too: root gets berth's capabilities", () => {
  const podman = [
    'CHOWN',
    'DAC_OVERRIDE',
    'FOWNER',
    'FSETID',
    'KILL',
    'NET_BIND_SERVICE',
    'SETFCAP',
    'SETGID',
    'SETPCAP',
    'SETUID',
    'SYS_CHROOT',
  ];
  const s = systemSpec(
    spec((c) => {
      c.process.capabilities.bounding = podman.map((n) => `CAP_${n}`);
    }),
    1048576,
  );
  assert.ok(s.process?.capabilities.includes('CAP_SYS_ADMIN'));
});
