// Container plans -> berth-nsexec argv (pure, golden-tested). The argv is the helper's whole API.
import { type KeeperPlan, keeperArgs } from './keeper.ts';
import type { MountOp } from './mounts.ts';

export const STATUS_FD = 3;
export const SECCOMP_FD = 4;
/** --winsize-fd: a caller's window sizes (berthd's websockets), after the status and seccomp fds */
export const WINSIZE_FD = 5;

export interface StartPlan {
  rootfs: string;
  namespaces: readonly string[];
  /** the user namespace's maps (0 -> base, count ids); null without one */
  idmap: { base: number; count: number } | null;
  cgroupProcs: readonly string[];
  mounts: readonly MountOp[];
  hostname: string;
  caps: readonly string[];
  env: readonly string[];
  init: readonly string[];
  /** the host process that holds the console and answers sysinfo (null: none) */
  keeper: KeeperPlan | null;
}

export interface JoinPlan {
  pid: number;
  namespaces: readonly string[];
  cgroupProcs: readonly string[];
  caps: readonly string[];
  env: readonly string[];
  cwd: string;
  pty: boolean;
  argv: readonly string[];
  /** the container's keeper, which takes the command's seccomp listener (null: none) */
  keeperSocket: string | null;
  /** window sizes come on WINSIZE_FD (a pty with no terminal on the caller's side) */
  winsize?: boolean;
  /** an enter session a checkpoint may carry: the helper records it as DIR/NAME */
  session?: { dir: string; name: string } | undefined;
}

export function mountArgs(op: MountOp): string[] {
  switch (op.op) {
    case 'mount':
      return ['--mount', op.fstype, op.source, op.dest, op.options];
    case 'bind':
      return ['--bind', op.source, op.dest, op.options];
    case 'bind-idmapped':
      return [op.loose ? '--bind-idmapped-loose' : '--bind-idmapped', op.source, op.stage, op.dest, op.options];
    case 'mount-staged':
      return ['--mount-staged', op.fstype, op.stage, op.dest, op.options];
    case 'rebind':
      return ['--rebind', op.dest, op.options];
    case 'remount':
      return ['--remount', op.dest, op.options];
    case 'mask':
      return ['--mask', op.dest];
    case 'symlink':
      return ['--symlink', op.target, op.dest];
    case 'mkdir':
      return ['--mkdir', op.dest, op.mode];
    case 'write':
      return ['--write', op.dest, op.content];
    case 'mknod':
      return ['--mknod', op.dest, op.node];
    case 'block':
      return ['--block', op.dest, op.content];
    case 'console':
      return [op.own ? '--console-own' : '--console', op.dest];
  }
}

/** `net`: the --net operations (netArgs of core/net.ts), run by the helper around the clone. */
export function startArgs(p: StartPlan, net: readonly string[] = []): string[] {
  return [
    '--unshare',
    p.namespaces.join(','),
    ...(p.idmap ? ['--idmap', String(p.idmap.base), String(p.idmap.count)] : []),
    ...p.cgroupProcs.flatMap((c) => ['--cgroup-procs', c]),
    '--propagation',
    'rslave',
    '--rootfs',
    p.rootfs,
    ...p.mounts.flatMap(mountArgs),
    ...net,
    '--hostname',
    p.hostname,
    '--caps-keep',
    p.caps.join(','),
    ...p.env.flatMap((e) => ['--env', e]),
    ...(p.keeper ? keeperArgs(p.keeper) : []),
    '--seccomp-fd',
    String(SECCOMP_FD),
    '--status-fd',
    String(STATUS_FD),
    '--',
    ...p.init,
  ];
}

export function joinArgs(p: JoinPlan): string[] {
  return [
    '--join',
    String(p.pid),
    '--unshare',
    p.namespaces.join(','),
    ...p.cgroupProcs.flatMap((c) => ['--cgroup-procs', c]),
    '--caps-keep',
    p.caps.join(','),
    ...p.env.flatMap((e) => ['--env', e]),
    '--cwd',
    p.cwd,
    ...(p.pty ? ['--pty'] : []),
    ...(p.keeperSocket ? ['--keeper-sock', p.keeperSocket] : []),
    ...(p.winsize ? ['--winsize-fd', String(WINSIZE_FD)] : []),
    ...(p.session ? ['--session-record', p.session.dir, p.session.name] : []),
    '--seccomp-fd',
    String(SECCOMP_FD),
    '--status-fd',
    String(STATUS_FD),
    '--',
    ...p.argv,
  ];
}

/** --tree-sync: bring DST up to date with what changed in SRC since SINCE (ns since the epoch). */
export function treeSyncArgs(src: string, dst: string, since: bigint): string[] {
  const ns = String(since % 1_000_000_000n).padStart(9, '0');
  return ['--tree-sync', src, dst, '--since', `${since / 1_000_000_000n}.${ns}`];
}

export function lockArgs(file: string, watchPid: number): string[] {
  return ['--lock', file, '--watch-pid', String(watchPid), '--status-fd', String(STATUS_FD)];
}
