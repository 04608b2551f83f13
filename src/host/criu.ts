// CRIU as berth runs it (issue 17): the argv comes from core/criu.ts, the log goes beside the
// images, a failure quotes the log's last lines, and the host's cgroup2 flags are put back
// after every run (CRIU mounts cgroup2 in the host's cgroup namespace, which resets them).
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { type CheckpointMeta, META_FILE, parseMeta, ttyKey } from '../core/criu.ts';
import { notifyToAllow } from '../core/criu-seccomp.ts';
import { BerthError, type ErrorCode } from '../core/errors.ts';
import { errText, writeFileAtomic } from './fs-util.ts';
import type { Host } from './host.ts';
import { restoreCgroup2 } from './lxcfs.ts';
import { cgroup2Flags, readMountinfo } from './mountinfo.ts';

/** setup-criu.sh's CRIU (4.2.1+: 4.1.1 cannot dump a TCP socket on Linux 6.16+); BERTH_CRIU for tests */
export function criuBinary(): string {
  return process.env['BERTH_CRIU'] || '/usr/local/lib/berth/criu/sbin/criu';
}

/** "4.2.1", or null when berth's CRIU is not installed (or does not run) */
export function criuVersion(host: Host): string | null {
  if (!existsSync(criuBinary())) return null;
  const r = host.tool(criuBinary(), ['--version']);
  return /^Version: (\S+)/m.exec(r.stdout)?.[1] ?? null;
}

/** Runs FN (a CRIU run, by berth or by the helper), then gives cgroup2 its flags back. */
export async function keepingCgroup2<T>(host: Host, log: (m: string) => void, fn: () => Promise<T> | T): Promise<T> {
  const before = cgroup2Flags(readMountinfo(host));
  try {
    return await fn();
  } finally {
    restoreCgroup2(host, before, log, 'criu');
  }
}

/** The end of a CRIU log: its error lines, else its last lines (what the admin needs first). */
export function criuLogTail(logFile: string, lines = 6): string {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return `(no log at ${logFile})`;
  }
  // not the cause: every run logs the RLIMIT_NOFILE one (no CAP_SYS_RESOURCE here) and, on
  // restore, ip's "Address already assigned" for lo; a VMA line naming libgpg-error is no error
  const noise = /RLIMIT_NOFILE|[Aa]ddress already assigned/;
  const all = text.split('\n').filter((l) => l.trim() !== '');
  const errors = all.filter((l) => /\bError\b/.test(l) && !noise.test(l));
  // one line: berth's messages are single lines; CRIU's "(00.089171)" timestamps go
  return (errors.length ? errors : all)
    .slice(-lines)
    .map((l) => l.replace(/^\(\s*[\d.]+\)\s*/, '').trim())
    .join('; ');
}

/**
 * Whether a failed dump's LOGFILE names a state that passes by itself: a netlink socket with
 * messages not yet read (CRIU cannot dump its queue: sk-netlink.c). Anything else is final.
 */
export function retryableDump(logFile: string): boolean {
  try {
    return /sk-netlink\.c.*The socket has data to read/.test(readFileSync(logFile, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs berth's CRIU with ARGS (its log in LOGFILE); a failure is CODE with the log's end. */
export async function runCriu(
  host: Host,
  log: (m: string) => void,
  args: readonly string[],
  logFile: string,
  code: ErrorCode,
  what: string,
): Promise<void> {
  const bin = criuBinary();
  if (!existsSync(bin)) {
    throw new BerthError(code, `${what}: CRIU is not installed at ${bin}`, { hint: 'run ./setup-criu.sh' });
  }
  const r = await keepingCgroup2(host, log, () => host.tool(bin, [...args]));
  if (r.status !== 0) {
    throw new BerthError(code, `${what}: criu ${args[0]} failed: ${criuLogTail(logFile)}`, {
      hint: `the whole log is ${logFile}`,
    });
  }
}

export const kernelRelease = (): string => release();

/** CRIU's key of the console of container init PID: its /dev/console, else its stdio. */
export function consoleTtyKey(pid: number): string {
  // the console itself, as the container sees it (agetty of a systemd guest holds it; systemd as
  // init has /dev/null on its stdio), then init's stdio (busybox init's is the console); a pty
  // slave either way (Unix98 majors 136-143): the container may have replaced its /dev/console,
  // which only breaks its own checkpoint
  const isPtySlave = (rdev: number) => ((rdev >> 8) & 0xfff) >= 136 && ((rdev >> 8) & 0xfff) <= 143;
  for (const path of [`/proc/${pid}/root/dev/console`, `/proc/${pid}/fd/0`]) {
    try {
      const st = path.endsWith('console') ? lstatSync(path) : statSync(path);
      if (st.isCharacterDevice() && isPtySlave(st.rdev)) return ttyKey(st.rdev, st.dev);
    } catch {
      // the next place
    }
  }
  throw new BerthError('CHKPNT', `chkpnt: init ${pid}: neither /dev/console nor its stdio is the console's pty`, {
    hint: 'the container replaced its /dev/console; a restart gives it back',
  });
}

/** What CRIU and berth write into a dump directory (stats-dump, stats-restore too). */
const DUMP_FILE = /^(.*\.(img|log|pid)|.*\.img\.tmp-\d+|stats-.*|berth-meta\.json(\.tmp.*)?)$/;

/**
 * The dump directory, 0700, empty: made if absent; what a previous checkpoint (or a failed
 * one) left there is replaced; a directory with anything else is refused, never emptied.
 */
export function prepareDumpDir(dir: string, what: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BerthError('CHKPNT', `${what}: ${dir}: ${errText(err)}`, { cause: err });
    }
  }
  if (!entries.every((e) => DUMP_FILE.test(e))) {
    throw new BerthError('CHKPNT', `${what}: ${dir} is not empty and holds no berth checkpoint`, {
      hint: 'give an empty or new directory with --dumpfile',
    });
  }
  for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * CRIU writes stats-dump last, only after a dump that succeeded (and once it killed the tree);
 * berth writes its meta before CRIU runs, so that a chkpnt killed while CRIU finishes leaves a
 * checkpoint that restores. Whole: both are there.
 */
const DUMP_DONE = 'stats-dump';

export function isWholeDump(dir: string): boolean {
  return existsSync(join(dir, META_FILE)) && existsSync(join(dir, DUMP_DONE));
}

export function writeMeta(dir: string, meta: CheckpointMeta): void {
  writeFileAtomic(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`, 0o600);
}

/** The meta of the checkpoint in DIR; a missing or damaged one is RESTORE with the reason. */
export function readMeta(dir: string): CheckpointMeta {
  let text: string;
  try {
    text = readFileSync(join(dir, META_FILE), 'utf8');
  } catch (err) {
    throw new BerthError('RESTORE', `restore: ${dir}: no berth checkpoint there (${errText(err)})`, {
      hint: 'berth chkpnt CTID --dumpfile DIR makes one',
    });
  }
  const meta = parseMeta(text, dir);
  if (!existsSync(join(dir, 'inventory.img'))) {
    throw new BerthError('RESTORE', `restore: ${dir}: CRIU's images are missing (no inventory.img)`);
  }
  if (!existsSync(join(dir, DUMP_DONE))) {
    throw new BerthError('RESTORE', `restore: ${dir}: the checkpoint is not whole (CRIU did not finish it)`, {
      hint: 'its dump failed or was killed; if the container runs, berth chkpnt makes a new one',
    });
  }
  return meta;
}

/**
 * Makes DIR (maskDirPath) if it is not there, and checks that it is berth's: a directory (not a
 * link), root's, mode 000, empty. Anything else there is refused, never used or changed.
 */
export function ensureMaskDir(dir: string): string {
  try {
    mkdirSync(dir, { mode: 0 });
    chmodSync(dir, 0); // the umask may not have taken every bit off
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new BerthError('RESTORE', `restore: ${dir}: ${errText(err)}`, { cause: err });
    }
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o7777) !== 0 || readdirSync(dir).length > 0) {
    throw new BerthError('RESTORE', `restore: ${dir} is not berth's empty directory (root's, mode 000, empty)`, {
      hint: 'remove it: berth makes it again',
    });
  }
  return dir;
}

/**
 * The restored tasks open images through CRIU's fd of DIR, first as host root in a user
 * namespace with no maps yet (the time namespace's offsets: the owner's bits serve, as no
 * capability does over an unmapped owner), later as host uid BASE (the tty's: the group's bits
 * serve). So DIR is root:BASE 0750 during the restore only; the returned function puts back
 * root:root 0700. No-op for a privileged container (BASE null).
 */
export function lendDumpDir(dir: string, base: number | null): () => void {
  if (base === null) return () => {};
  chownSync(dir, 0, base);
  chmodSync(dir, 0o750);
  return () => {
    chmodSync(dir, 0o700);
    chownSync(dir, 0, 0);
  };
}

/**
 * The checkpoint's filters without their sysinfo notification (core/criu-seccomp.ts), before
 * CRIU restores them; idempotent (a second restore of the same images finds none).
 */
export function allowNotified(dir: string): void {
  const file = join(dir, 'seccomp.img');
  let img: Buffer;
  try {
    img = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // no task had a filter
    throw new BerthError('RESTORE', `restore: ${file}: ${errText(err)}`, { cause: err });
  }
  // with CRIU's mode (0644): the restored tasks, host uid BASE, open it too
  if (notifyToAllow(img) > 0) writeFileAtomic(file, img, statSync(file).mode & 0o777);
}
