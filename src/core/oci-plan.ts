// An OCI config.json (core/oci-spec.ts) as the helper's start-mode argv: what berth-oci create
// runs. Pure: the host's facts come in (cgroup hierarchies, berth's own capabilities), the
// argv goes out, and what berth-oci cannot do yet is refused here, by field, before anything
// is made, rather than done half.
import { ALL_CAPS, type Capability, keptCapabilities } from './capabilities.ts';
import type { Resources } from './ct-config.ts';
import { BerthError } from './errors.ts';
import { joinArgs, mountArgs, SECCOMP_FD, STATUS_FD } from './helper-args.ts';
import { parseCpuList } from './limits.ts';
import type { LxcfsView } from './lxcfs.ts';
import { type CgroupMount, cgroupOps, DEFAULT_DEVICE_BINDS, DEV_LINKS, lxcfsBinds, type MountOp } from './mounts.ts';
import { type HostNode, ociDeviceOps } from './oci-devices.ts';
import type { NamespaceType, OciHook, OciMount, OciProcess, OciSpec } from './oci-spec.ts';
import { ociSysctls } from './oci-sysctl.ts';
import { SYSTEM_ANNOTATION } from './oci-system.ts';

export interface OciFacts {
  /** the bundle directory, absolute: root.path and relative bind sources are under it */
  bundle: string;
  cgroupMounts: readonly CgroupMount[];
  /** the cgroup.procs files the container's init joins */
  cgroupProcs: readonly string[];
  /** CapPrm of berth-oci's own process */
  availableCaps: bigint;
  /** the FIFO that `start` opens (the helper makes it) */
  execFifo: string;
  /** where the terminal's master goes (create --console-socket), with process.terminal */
  consoleSocket: string | null;
  /** a system container's (oci-system.ts); null: as runc would run it */
  system: SystemFacts | null;
  /** the hooks' state (container.ts hookStatePrefix): its object without status, pid and closing brace */
  hookState: string;
  /** the host's node at each path linux.devices names (null: none there) */
  hostNodes: Readonly<Record<string, HostNode | null>>;
}

export interface SystemFacts {
  /**
   * with the id range berth gave it: where the helper stages the idmapped copies of the root and
   * of the binds (the root at STAGE/root, bind I at STAGE/I), so its files' ids show inside as
   * on disk (host root's are its root's); null with the spec's own user namespace
   */
  stageDir: string | null;
  /** the running lxcfs, whose /proc and /sys files show it its own figures */
  lxcfs: LxcfsView | null;
  /**
   * the root's mount data when the root is an overlay mount (Docker's, containerd's): overlayfs
   * cannot be idmapped, so the helper makes the overlay anew over idmapped copies of its layers
   */
  rootOverlay: string | null;
}

/**
 * An image's overlay as the helper rebuilds it: its layers by absolute path, a work directory of
 * its own beside the upper one (the caller's overlay still uses its own: overlayfs empties a
 * work directory at mount), and its other options as they are; or a refusal.
 */
export function overlayLayers(options: string): { data: string; workdir: string } {
  const opts = options.split(',').filter((o) => o !== 'rw' && o !== 'ro');
  const value = (k: string) => opts.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1) ?? '';
  const [lower, upper] = [value('lowerdir'), value('upperdir')];
  if (!lower || [...lower.split(':'), upper].some((d) => d && !d.startsWith('/'))) {
    throw new BerthError(
      'BAD_VALUE',
      'root.path: an overlay whose layers are not absolute paths: its ids cannot be mapped',
      {
        hint: `annotate the container with ${SYSTEM_ANNOTATION}: "false" to run it without a user namespace`,
      },
    );
  }
  const workdir = upper ? `${upper.slice(0, upper.lastIndexOf('/'))}/berth-work` : '';
  const rest = opts.filter((o) => !/^(lowerdir|upperdir|workdir)=/.test(o));
  const data = [`lowerdir=${lower}`, ...(upper ? [`upperdir=${upper}`, `workdir=${workdir}`] : []), ...rest].join(',');
  return { data, workdir };
}

const NS: Record<NamespaceType, string | null> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: null,
};

const notYet = (field: string, what: string) =>
  new BerthError('BAD_VALUE', `config.json: ${field}: ${what} is not supported by berth-oci yet`, {
    hint: 'docs/oci.md lists what berth-oci honours',
  });

const abs = (bundle: string, p: string) => (p.startsWith('/') ? p : `${bundle.replace(/\/+$/, '')}/${p}`);

/** words that are no flag or data of the mount itself: the kind of op, or a propagation */
const NOT_DATA = new Set([
  'bind',
  'rbind',
  'private',
  'rprivate',
  'shared',
  'rshared',
  'slave',
  'rslave',
  'unbindable',
  'runbindable',
]);

/** mount(8) words the helper takes as flags or data */
function mountOptions(m: OciMount): string {
  return m.options.filter((o) => !NOT_DATA.has(o)).join(',');
}

interface MountContext {
  bundle: string;
  cgroups: readonly CgroupMount[];
  /** the namespaces it makes, and those it joins by path */
  make: readonly string[];
  joined: readonly string[];
  system: SystemFacts | null;
}

function mountOp(m: OciMount, i: number, c: MountContext): MountOp[] {
  const { bundle, cgroups, system } = c;
  const ownCgroupNs = c.make.includes('cgroup');
  const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
  if (bind && system?.stageDir) {
    // an idmapped copy (always recursive), or the plain bind where the filesystem has no idmapping
    const stage = `${system.stageDir}/${i}`;
    return [
      {
        op: 'bind-idmapped',
        source: abs(bundle, m.source),
        stage,
        dest: m.destination,
        options: mountOptions(m),
        loose: true,
      },
    ];
  }
  if (bind) {
    const rec = m.options.includes('rbind') ? ['rec'] : [];
    return [
      {
        op: 'bind',
        source: abs(bundle, m.source),
        dest: m.destination,
        options: [mountOptions(m), ...rec].filter(Boolean).join(','),
      },
    ];
  }
  // the container's own view of its cgroups: berth's, which knows this host's hierarchies
  if (m.type === 'cgroup' || m.type === 'cgroup2') {
    if (m.destination !== '/sys/fs/cgroup') throw notYet(`mounts[${i}]`, 'a cgroup mount outside /sys/fs/cgroup');
    // without a cgroup namespace of its own the mount shows the host's whole tree: read-only
    // then, whatever the hierarchy, as when the spec says ro; a system container's systemd
    // writes its own part (those berth delegates to it, as in berth's own containers)
    const ro = !ownCgroupNs || (m.options.includes('ro') && system === null);
    return cgroupOps(ro ? cgroups.map((c) => ({ ...c, writable: false })) : cgroups);
  }
  if (system && c.make.includes('user')) {
    // a new sysfs, mqueue or proc needs the namespace it shows to be its user namespace's: one
    // joined by path (a pod's) or the host's (hostNetwork, hostIPC) is not. sysfs is then the
    // host's, read-only (as runc does rootless)
    if (m.type === 'sysfs' && !c.make.includes('net'))
      return [{ op: 'bind', source: '/sys', dest: m.destination, options: 'ro,nosuid,nodev,noexec,rec' }];
    // mqueue: mounted by the host's root in the pod's ipc namespace and bound in (systemd's
    // dev-mqueue.mount finds it there), or left out without a stage (the calls work without it)
    if (m.type === 'mqueue' && !c.make.includes('ipc')) {
      const stage = system.stageDir && `${system.stageDir}/${i}`;
      return stage
        ? [{ op: 'mount-staged', fstype: 'mqueue', stage, dest: m.destination, options: mountOptions(m) }]
        : [];
    }
    if (m.type === 'proc' && c.joined.includes('pid'))
      throw notYet('linux.namespaces', "a system container in another container's pid namespace");
  }
  const op: MountOp = {
    op: 'mount',
    fstype: m.type,
    source: m.source || m.type,
    dest: m.destination,
    options: mountOptions(m),
  };
  // a /dev of its own gets the usual nodes (runc's default devices)
  if (m.destination === '/dev' && m.type === 'tmpfs') return [op, ...DEFAULT_DEVICE_BINDS];
  if (m.destination === '/dev/pts' && m.type === 'devpts')
    return [op, { op: 'symlink', target: 'pts/ptmx', dest: '/dev/ptmx' }];
  return [op];
}

/** The capabilities the spec asks for that berth knows and holds itself, in berth's names. */
export function ociCaps(asked: readonly string[], available: bigint): Capability[] {
  const want = new Set(asked.map((c) => c.replace(/^CAP_/, '').toLowerCase()));
  return keptCapabilities(
    available,
    ALL_CAPS.filter((c) => !want.has(c)),
  );
}

/** The id map of a user namespace: one range from 0 (the helper's --idmap), or a refusal. */
export function ociIdmap(spec: OciSpec): { base: number; count: number } | null {
  const { uidMappings: u, gidMappings: g } = spec.linux;
  if (!spec.linux.namespaces.some((n) => n.type === 'user')) {
    if (u.length || g.length) throw notYet('linux.uidMappings', 'id maps without a user namespace');
    return null;
  }
  const [first] = u;
  const one = (m: typeof u) => m.length === 1 && m[0]?.containerID === 0;
  if (!first || !one(u) || !one(g) || g[0]?.hostID !== first.hostID || g[0]?.size !== first.size) {
    throw notYet('linux.uidMappings', 'other than one range from id 0, the same for uids and gids');
  }
  return { base: first.hostID, count: first.size };
}

/** namespaces the helper may join by path before its clone (a pod's; never user or mount) */
const JOINABLE = ['net', 'ipc', 'uts', 'pid', 'cgroup'];

/**
 * The container's namespaces in the helper's names: all of them (create records them, exec
 * joins them), those it makes, and those it joins by path (CRI's pod network, say).
 */
export function ociNamespaces(spec: OciSpec): { all: string[]; make: string[]; join: [string, string][] } {
  const all: string[] = [];
  const make: string[] = [];
  const join: [string, string][] = [];
  spec.linux.namespaces.forEach((n, i) => {
    const name = NS[n.type];
    if (name === null) throw notYet(`linux.namespaces[${i}]`, `the ${n.type} namespace`);
    all.push(name);
    if (n.path === null) make.push(name);
    else if (JOINABLE.includes(name)) join.push([name, n.path]);
    else throw notYet(`linux.namespaces[${i}].path`, `joining a ${n.type} namespace by path`);
  });
  return { all, make, join };
}

/** always given: root too gets exactly its groups, never the helper's supplementary ones */
const userArgs = (p: OciProcess) => ['--user', String(p.uid), String(p.gid), p.additionalGids.join(',') || '-'];

/**
 * The helper's argv for `exec`: join mode into the container's init PID and its NAMESPACES;
 * detached, the process keeps the caller's stdio and outlives the helper (the shim reaps it).
 */
export function ociExecArgs(
  p: OciProcess,
  c: {
    pid: number;
    namespaces: readonly string[];
    cgroupProcs: readonly string[];
    availableCaps: bigint;
    detach: boolean;
    /** with process.terminal: where its pty's master goes (the shim relays it) */
    consoleSocket: string | null;
  },
): string[] {
  if (p.terminal !== (c.consoleSocket !== null)) {
    throw new BerthError(
      'BAD_VALUE',
      p.terminal ? 'exec: a terminal needs --console-socket' : 'exec: --console-socket needs --tty',
      {
        hint: "the pty's master goes to the console socket, whose owner relays it",
      },
    );
  }
  const argv = joinArgs({
    pid: c.pid,
    namespaces: c.namespaces,
    cgroupProcs: c.cgroupProcs,
    caps: ociCaps(p.capabilities, c.availableCaps),
    env: p.env,
    cwd: p.cwd,
    pty: false,
    argv: p.args,
    keeperSocket: null,
  });
  const at = argv.indexOf('--');
  return [
    ...argv.slice(0, at),
    ...(c.detach ? ['--detach'] : []),
    ...(c.consoleSocket === null ? [] : ['--console-socket', c.consoleSocket]),
    ...(p.noNewPrivileges ? ['--no-new-privs'] : []),
    ...userArgs(p),
    ...argv.slice(at),
  ];
}

/** the hooks the helper runs while it builds a container (poststart and poststop: ociHookRunArgs) */
const HELPER_HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer'] as const;

/** --hook KIND TIMEOUT NARGS NENV PATH ARG... ENV... (argv[0] is the path when none is given) */
function hookArgs(kind: string, h: OciHook): string[] {
  const argv = h.args.length ? h.args : [h.path];
  return ['--hook', kind, String(h.timeout ?? 0), String(argv.length), String(h.env.length), h.path, ...argv, ...h.env];
}

/**
 * The helper's argv that runs a container's poststart or poststop hooks (--run-hooks): the
 * caller's process runs it, so the hooks are its descendants, as runc's are. STATE_PREFIX is the
 * state without status and pid, which the helper adds.
 */
export function ociHookRunArgs(
  kind: 'poststart' | 'poststop',
  hooks: readonly OciHook[],
  statePrefix: string,
  status: string,
  pid: number,
): string[] {
  return [
    '--hook-state',
    statePrefix,
    ...hooks.flatMap((h) => hookArgs(kind, h)),
    '--run-hooks',
    kind,
    status,
    String(pid),
    '--status-fd',
    String(STATUS_FD),
  ];
}

/** The helper's argv for `create` (start mode, waiting on the exec FIFO). */
export function ociStartArgs(spec: OciSpec, f: OciFacts): string[] {
  const p = spec.process;
  if (!p) throw new BerthError('BAD_VALUE', 'config.json: process: create needs a process to run');
  if (p.terminal !== (f.consoleSocket !== null)) {
    throw new BerthError(
      'BAD_VALUE',
      p.terminal ? 'process.terminal needs --console-socket' : '--console-socket needs process.terminal',
      {
        hint: 'a terminal is a pty whose master goes to the console socket',
      },
    );
  }
  const ns = ociNamespaces(spec);
  const namespaces = ns.make;
  if (!namespaces.includes('mnt')) throw notYet('linux.namespaces', 'a container without its own mount namespace');
  const idmap = ociIdmap(spec);
  const ctx: MountContext = {
    bundle: f.bundle,
    cgroups: f.cgroupMounts,
    make: namespaces,
    joined: ns.join.map(([type]) => type),
    system: f.system,
  };
  // lxcfs's files go over a /proc and a /sys the spec mounts (never into the root's own dirs)
  const mounted = (type: string, dest: string) => spec.mounts.some((m) => m.type === type && m.destination === dest);
  const sysctls = ociSysctls(spec.linux.sysctl, {
    make: namespaces,
    join: ctx.joined,
    procMounted: mounted('proc', '/proc'),
  });
  const ops: MountOp[] = [
    ...spec.mounts.flatMap((m, i) => mountOp(m, i, ctx)),
    ...ociDeviceOps(spec.linux.devices, { userns: namespaces.includes('user'), hostNodes: f.hostNodes }),
    ...(mounted('proc', '/proc') ? lxcfsBinds(f.system?.lxcfs, 'proc') : []),
    ...(mounted('sysfs', '/sys') ? lxcfsBinds(f.system?.lxcfs, 'sys') : []),
    // before the masks and read-only paths (Docker's spec has /proc/sys read-only)
    ...sysctls.ops,
    ...(spec.mounts.some((m) => m.destination === '/dev' && m.type === 'tmpfs') ? DEV_LINKS : []),
    ...spec.linux.maskedPaths.map((dest): MountOp => ({ op: 'mask', dest })),
    ...spec.linux.readonlyPaths.map((dest): MountOp => ({ op: 'rebind', dest, options: 'ro,nosuid,nodev,noexec' })),
    // a bind of the root onto itself made read-only (MS_BIND): never a remount of its
    // filesystem, which is the host's
    ...(spec.root.readonly ? [{ op: 'rebind', dest: '/', options: 'ro' } as MountOp] : []),
    // a terminal: a pty of the container's own devpts, its slave on /dev/console and the stdio
    ...(p.terminal ? [{ op: 'console', dest: '/dev/console' } as MountOp] : []),
  ];
  // a hostname without a uts namespace of its own would be the host's (a joined one is the pod's)
  const hostname = spec.hostname !== null && namespaces.includes('uts') ? ['--hostname', spec.hostname] : [];
  const hooks = HELPER_HOOKS.flatMap((k) => spec.hooks[k].flatMap((h) => hookArgs(k, h)));
  return [
    '--unshare',
    namespaces.join(','),
    ...ns.join.flatMap(([type, path]) => ['--setns', type, path]),
    ...sysctls.joined.flatMap((j) => ['--sysctl-joined', ...j]),
    ...(hooks.length ? ['--hook-state', f.hookState, ...hooks] : []),
    ...(idmap ? ['--idmap', String(idmap.base), String(idmap.count)] : []),
    ...(f.system?.stageDir ? ['--rootfs-idmapped', `${f.system.stageDir}/root`] : []),
    ...(f.system?.stageDir && f.system.rootOverlay
      ? ['--rootfs-overlay', overlayLayers(f.system.rootOverlay).data]
      : []),
    ...f.cgroupProcs.flatMap((c) => ['--cgroup-procs', c]),
    '--propagation',
    spec.linux.rootfsPropagation === 'private' || spec.linux.rootfsPropagation === 'rprivate' ? 'rprivate' : 'rslave',
    '--rootfs',
    abs(f.bundle, spec.root.path),
    ...ops.flatMap(mountArgs),
    ...hostname,
    '--caps-keep',
    ociCaps(p.capabilities, f.availableCaps).join(','),
    ...(p.noNewPrivileges ? ['--no-new-privs'] : []),
    // the spec's value, not the caller's (a shim's -998 would make the OOM killer spare it)
    ...(p.oomScoreAdj === null ? [] : ['--oom-score-adj', String(p.oomScoreAdj)]),
    // a limit past 2^53 is RLIM_INFINITY as Go writes it (oci-spec.ts reads it so)
    ...p.rlimits.flatMap((r) => [
      '--rlimit',
      r.type,
      ...[r.soft, r.hard].map((v) => (v >= Number.MAX_SAFE_INTEGER ? 'unlimited' : String(v))),
    ]),
    // the spec's environment is the whole of it, even empty: never berth-oci's own
    '--clear-env',
    ...p.env.flatMap((e) => ['--env', e]),
    ...userArgs(p),
    '--cwd',
    p.cwd,
    '--exec-fifo',
    f.execFifo,
    // the caller's stdio (the shim's pipes) are the process's own, as runc hands them on; or
    // the terminal, whose master goes to the caller
    ...(f.consoleSocket === null ? ['--inherit-stdio'] : ['--console-socket', f.consoleSocket]),
    '--seccomp-fd',
    String(SECCOMP_FD),
    '--status-fd',
    String(STATUS_FD),
    '--',
    ...p.args,
  ];
}

/**
 * linux.resources (config.json, or `update --resources`) in berth's terms, whose cgroup writes
 * berth already makes for v1 and v2 (core/limits.ts): memory.limit is the RAM, memory.swap
 * (memory and swap together, as runc reads it) less that is the swap, pids.limit the process
 * count, cpu.quota/period the percent of one CPU, cpu.shares the weight (berth's cpuunits are
 * shares x 1000/1024), and cpu.cpus, a list, its number of CPUs. -1 and absent: no limit.
 */
export function ociResources(res: Record<string, unknown>): Resources {
  const obj = (k: string): Record<string, unknown> => {
    const v = res[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw badResource(k, 'must be an object');
    return v as Record<string, unknown>;
  };
  const num = (o: Record<string, unknown>, k: string, where: string): number | null => {
    const v = o[k];
    if (v === undefined || v === null || v === -1 || v === 0) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw badResource(`${where}.${k}`, 'must be a whole number');
    return v;
  };
  const memory = obj('memory');
  const pids = obj('pids');
  const cpu = obj('cpu');
  const ram = num(memory, 'limit', 'memory');
  const total = num(memory, 'swap', 'memory');
  const quota = num(cpu, 'quota', 'cpu');
  const period = num(cpu, 'period', 'cpu') ?? 100_000;
  const shares = num(cpu, 'shares', 'cpu');
  const cpus = cpu['cpus'];
  if (cpus !== undefined && cpus !== null && (typeof cpus !== 'string' || !/^[\d,-]{0,256}$/.test(cpus)))
    throw badResource('cpu.cpus', 'must be a CPU list such as "0-3,5"');
  return {
    ram,
    swap: ram !== null && total !== null && total >= ram ? total - ram : null,
    cpus: typeof cpus === 'string' && cpus ? parseCpuList(cpus).length || null : null,
    cpulimit: quota === null ? null : Math.max(1, Math.round((quota / period) * 100)),
    cpuunits: shares === null ? null : Math.round((shares * 1000) / 1024),
    numproc: num(pids, 'limit', 'pids'),
  };
}

/**
 * `update`'s document over the current limits, as runc applies one: what it names changes (-1:
 * no limit), what it does not name stays.
 */
export function ociResourcesOver(current: Resources, res: Record<string, unknown>): Resources {
  const given = ociResources(res);
  const has = (group: string, key: string) => {
    const o = res[group];
    return typeof o === 'object' && o !== null && (o as Record<string, unknown>)[key] !== undefined;
  };
  const ram = has('memory', 'limit') ? given.ram : current.ram;
  // swap is the total less the RAM: a new total, or the old total over a new RAM
  const total = has('memory', 'swap')
    ? ociResources({ memory: { limit: (res['memory'] as Record<string, unknown>)['swap'] } }).ram
    : current.ram !== null && current.swap !== null
      ? current.ram + current.swap
      : null;
  return {
    ram,
    swap: ram !== null && total !== null && total >= ram ? total - ram : null,
    cpus: has('cpu', 'cpus') ? given.cpus : current.cpus,
    cpulimit: has('cpu', 'quota') ? given.cpulimit : current.cpulimit,
    cpuunits: has('cpu', 'shares') ? given.cpuunits : current.cpuunits,
    numproc: has('pids', 'limit') ? given.numproc : current.numproc,
  };
}

const badResource = (field: string, why: string) =>
  new BerthError('BAD_VALUE', `linux.resources.${field}: ${why}`, {
    hint: 'see the OCI runtime spec (config-linux.md)',
  });
