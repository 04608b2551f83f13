// crun for the benches, on berth's busybox rootfs: a bundle whose init is busybox's, run in a
// private mount namespace without the cgroup2 mount on hybrid hosts (crun refuses those whose
// cgroup2 holds a controller; the nsenter in front of each call, about 1 ms, counts as crun's).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a command and returns its wall time. stderr goes to a file, not a pipe: a detached
 * container's init inherits it and would keep a pipe open forever. */
export function sh(cmd: string, args: string[], check = true): number {
  const errFile = join(tmpdir(), `berth-bench-stderr-${process.pid}`);
  const fd = openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', fd], timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  const err = readFileSync(errFile, 'utf8');
  rmSync(errFile, { force: true });
  if (check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${err}`);
  return ms;
}

export interface Crun {
  bundle: string;
  /** crun ARGS (with --root), timed */
  run: (args: string[]) => number;
  cleanup: (ids: string[]) => void;
}

export function setupCrun(work: string, tarball: string): Crun {
  const bundle = join(work, 'crun');
  const mntns = join('/run', `berth-bench-mntns-${process.pid}`);
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  sh('tar', ['--zstd', '-xpf', tarball, '-C', join(bundle, 'rootfs')]);
  sh('crun', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.args = ['/sbin/init'];
  spec.process.terminal = false;
  spec.root.readonly = false;
  spec.hostname = 'c1';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const cmd: string[] = [];
  if (spawnSync('findmnt', ['-n', '/sys/fs/cgroup/unified']).status === 0) {
    writeFileSync(mntns, '');
    sh('unshare', [`--mount=${mntns}`, '--propagation', 'private', 'umount', '/sys/fs/cgroup/unified']);
    cmd.push('nsenter', `--mount=${mntns}`, 'crun');
  } else cmd.push('crun');
  cmd.push('--root', join(work, 'crun-state'));
  return {
    bundle,
    run: (args) => sh(cmd[0] ?? 'crun', [...cmd.slice(1), ...args]),
    cleanup: (ids) => {
      for (const id of ids) spawnSync(cmd[0] ?? 'crun', [...cmd.slice(1), 'delete', '-f', id]);
      spawnSync('umount', [mntns]);
      rmSync(mntns, { force: true });
    },
  };
}
