// berth's own lxcfs (core/lxcfs.ts), unless the distribution's runs: started on the first
// start that needs it, left running for every container after (each one's /proc files are
// binds of its files, so it must outlive them all; a host reboot ends it). It runs in the
// foreground of a process of its own, with its output in the log directory and its pid in the
// run directory.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { LXCFS_PROC, LXCFS_SYS, type LxcfsView } from '../core/lxcfs.ts';
import { errCode } from './fs-util.ts';
import type { Host } from './host.ts';
import { acquireLock } from './lock.ts';
import { cgroup2Flags, readMountinfo } from './mountinfo.ts';
import { unmountRoot } from './mounts.ts';
import type { Paths } from './paths.ts';
import { pause } from './proc.ts';
import { childProcess } from './spawn.ts';

const SYSTEM_LXCFS = '/var/lib/lxcfs';
export const lxcfsDir = (p: Paths) => join(p.run, 'lxcfs');
export const lxcfsPidFile = (p: Paths) => join(p.run, 'lxcfs.pid');

/** lxcfs answers on DIR (not: not mounted, or its process is gone and the mount is dead). */
function answers(dir: string): boolean {
  try {
    return statSync(join(dir, 'proc/meminfo')).isFile();
  } catch {
    return false;
  }
}

function binary(): string | null {
  for (const d of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    if (d && existsSync(join(d, 'lxcfs'))) return join(d, 'lxcfs');
  }
  return null;
}

function view(dir: string): LxcfsView {
  // one readdir, not a stat per file: each is a round trip through the FUSE daemon, at every start
  let served: string[] = [];
  try {
    served = readdirSync(join(dir, 'proc'));
  } catch {}
  return {
    dir,
    proc: LXCFS_PROC.filter((f) => served.includes(f)),
    sys: LXCFS_SYS.filter((f) => existsSync(join(dir, 'sys', f))),
  };
}

/**
 * The running lxcfs, started if needed; null (and a warning) where lxcfs is not installed or
 * does not come up: the container then sees the host's figures, as without lxcfs.
 */
export function ensureLxcfs(host: Host, p: Paths, helper: string, log: (m: string) => void): LxcfsView | null {
  // the distribution's lxcfs (lxcfs.service, where systemd runs the host) serves as well
  if (answers(SYSTEM_LXCFS)) return view(SYSTEM_LXCFS);
  const dir = lxcfsDir(p);
  if (answers(dir)) return view(dir);
  const bin = binary();
  if (!bin) {
    log(
      "warning: lxcfs is not installed: /proc inside shows the host's memory, CPUs and uptime (apt-get install lxcfs)",
    );
    return null;
  }
  // two starts at once: one starts it, the other waits and finds it running
  const lock = acquireLock(host, helper, join(p.lockDir, 'lxcfs.lck'), 'start lxcfs', { waitMs: 10_000 });
  let flags: ReturnType<typeof cgroup2Flags> = null;
  try {
    if (answers(dir)) return view(dir);
    // a dead instance's mount ("transport endpoint is not connected") goes first
    try {
      statSync(join(dir, 'proc'));
    } catch (err) {
      if (errCode(err) === 'ENOTCONN') unmountRoot(host, helper, dir);
    }
    mkdirSync(dir, { recursive: true });
    mkdirSync(p.log, { recursive: true });
    flags = cgroup2Flags(readMountinfo(host));
    const out = openSync(join(p.log, 'lxcfs.log'), 'a', 0o600);
    // -l: loadavg; --enable-cfs: CPU figures from the quota too; --enable-pidfd: no pid reuse
    const child = childProcess().spawn(
      bin,
      ['-f', '-l', '--enable-cfs', '--enable-pidfd', '-p', lxcfsPidFile(p), dir],
      {
        detached: true,
        stdio: ['ignore', out, out],
      },
    );
    child.unref();
    closeSync(out);
    const end = Date.now() + 5000;
    while (!answers(dir) && Date.now() < end) pause(10);
    if (!answers(dir)) {
      throw new BerthError('SYSTEM', `lxcfs did not come up on ${dir}`, {
        hint: `see ${join(p.log, 'lxcfs.log')}, or set LXCFS="no" in berth.conf`,
      });
    }
    return view(dir);
  } finally {
    restoreCgroup2(host, flags, log, 'lxcfs');
    lock.release();
  }
}

/**
 * A cgroup2 mount made in the host's cgroup namespace (lxcfs's own, lxc/lxcfs#681; CRIU's, to
 * read and restore cgroup properties) resets the host's cgroup2 flags: favordynmods (setup's
 * tuning: every start and exec pays for its loss), nsdelegate and the memory ones of a systemd
 * host. Put back those the host had BEFORE (cgroup2Flags read before WHO ran).
 */
export function restoreCgroup2(
  host: Host,
  before: ReturnType<typeof cgroup2Flags>,
  log: (m: string) => void,
  who: string,
): void {
  if (!before?.flags.length) return;
  const now = cgroup2Flags(readMountinfo(host));
  if (!now || before.flags.every((f) => now.flags.includes(f))) return;
  const r = host.tool('mount', ['-o', `remount,${before.flags.join(',')}`, before.target]);
  if (r.status !== 0)
    log(`warning: ${who} reset cgroup2's ${before.flags.join(',')} on ${before.target}: ${r.stderr.trim()}`);
}
