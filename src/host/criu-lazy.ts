// Post-copy (lazy pages) for berth migrate --online --lazy-pages (docs/migration.md): the
// dump's copy for DEST without its lazy pages, and CRIU's two page processes, each with one end
// of a socketpair that berth relays over the migration's own authenticated connection (criu
// page-server on the source, criu lazy-pages on DEST) instead of a port of CRIU's own.
import {
  closeSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type LazySplit, presentBytes, splitLazy } from '../core/criu-pagemap.ts';
import { BerthError } from '../core/errors.ts';
import { criuBinary } from './criu.ts';
import { readBytes, removeTree, writeFile } from './files.ts';
import { childProcess } from './spawn.ts';

export const PAGE_SERVER_LOG = 'page-server.log';
export const LAZY_PAGES_LOG = 'lazy-pages.log';
/** where `criu lazy-pages` listens for the restore (its work directory: the images') */
export const LAZY_SOCKET = 'lazy-pages.socket';
/** x86-64's and arm64's usual size; checked against each pages file's size */
const PAGE_SIZE = 4096;

/** task pagemaps (pagemap-PID.img): shared memory's (pagemap-shmem-*) is never lazy */
const TASK_PAGEMAP = /^pagemap-[0-9]+\.img$/;

export interface LazyView {
  /** bytes of memory left for the page server */
  lazyBytes: number;
}

/**
 * DIR (a whole dump) as DEST gets it in INTO (made anew, 0700): every file hard-linked,
 * except each task's pagemap and pages files, written without the lazy pages.
 */
export function lazyDumpView(dir: string, into: string): LazyView {
  removeTree(into);
  mkdirSync(into, { mode: 0o700 });
  const names = readdirSync(dir);
  const splits = new Map([...taskSplits(dir, names)].filter(([, s]) => s.pagemap !== null));
  const rewritten = new Set([...splits.values()].map((s) => `pages-${s.pagesId}.img`));
  let lazyBytes = 0;
  for (const n of names) {
    const st = lstatSync(join(dir, n));
    if (!st.isFile() || n === LAZY_SOCKET || rewritten.has(n)) continue;
    const s = splits.get(n);
    if (!s) {
      linkSync(join(dir, n), join(into, n));
      continue;
    }
    const pages = join(dir, `pages-${s.pagesId}.img`);
    const ps = lstatSync(pages);
    if (ps.size !== presentBytes(s))
      throw new BerthError('CHKPNT', `${pages}: ${ps.size} bytes, its pagemap says ${presentBytes(s)}`, {
        hint: 'the checkpoint is damaged',
      });
    writeFile(join(into, n), s.pagemap as Buffer, st.mode & 0o644);
    copyRanges(pages, join(into, `pages-${s.pagesId}.img`), s.keep, ps.mode & 0o644);
    lazyBytes += s.lazyBytes;
  }
  return { lazyBytes };
}

/** Each task pagemap of the dump in DIR (NAMES: its files), split for DEST. */
function taskSplits(dir: string, names: readonly string[]): Map<string, LazySplit> {
  const out = new Map<string, LazySplit>();
  for (const n of names) if (TASK_PAGEMAP.test(n)) out.set(n, splitLazy(readBytes(join(dir, n)), PAGE_SIZE));
  return out;
}

/** The bytes of memory in the dump in DIR that post-copy would leave for the page server. */
export function lazyBytesOf(dir: string): number {
  let n = 0;
  for (const s of taskSplits(dir, readdirSync(dir)).values()) n += s.lazyBytes;
  return n;
}

/**
 * Whether this host can restore a container lazily: Linux 6.1's /dev/userfaultfd, and berth's
 * CRIU built with the patches that make it work unprivileged, without CAP_SYS_RESOURCE, and
 * end when its page stream breaks (setup-criu.sh writes what it applied into BUILDINFO).
 */
export function lazyPagesHere(): boolean {
  if (!existsSync('/dev/userfaultfd')) return false;
  try {
    const info = readFileSync(join(dirname(dirname(criuBinary())), 'BUILDINFO'), 'utf8');
    return LAZY_PATCHES.every((p) => info.includes(p));
  } catch {
    return false;
  }
}

const LAZY_PATCHES = [
  '0001-lazy-pages-in-a-user-namespace.patch',
  '0002-lazy-page-server-pipe-size.patch',
  '0003-restore-failure-reaps-traced-tasks.patch',
];

function copyRanges(from: string, to: string, ranges: LazySplit['keep'], mode: number): void {
  const src = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  const dst = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (const r of ranges) {
      for (let done = 0; done < r.length; ) {
        const n = readSync(src, chunk, 0, Math.min(chunk.length, r.length - done), r.start + done);
        if (n <= 0) throw new BerthError('CHKPNT', `${from}: it ends before its pagemap says`);
        writeSync(dst, chunk, 0, n);
        done += n;
      }
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

export interface PageRelay {
  /** the criu's exit code (null: killed by a signal) once it and the relay are done */
  done: Promise<number | null>;
  kill(): void;
}

/**
 * Runs berth's CRIU with ARGV plus `--ps-socket 3`, its fd 3 one end of a socketpair whose
 * other end is relayed to STREAM both ways. The stream closes when criu ends, and criu's socket
 * when the stream does (it then fails, or has finished).
 */
export function relayCriu(argv: readonly string[], stream: Duplex): PageRelay {
  const child = childProcess().spawn(criuBinary(), [...argv, '--ps-socket', '3'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const sk = child.stdio[3] as Duplex;
  sk.on('error', () => {});
  stream.on('error', () => {});
  sk.pipe(stream);
  stream.pipe(sk);
  stream.on('close', () => sk.destroy());
  const done = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('exit', (code) => {
      stream.end();
      resolve(code);
    });
  });
  return {
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The source's page server: the pages of the whole dump in DIR, on request. */
export const pageServer = (dir: string, stream: Duplex): PageRelay =>
  relayCriu(['page-server', '--lazy-pages', '-D', dir, '-o', PAGE_SERVER_LOG, '-v4'], stream);

/** DEST's lazy-pages daemon for the restore of DIR: fetches the lazy pages through STREAM. */
export const lazyPagesDaemon = (dir: string, stream: Duplex): PageRelay =>
  relayCriu(['lazy-pages', '--page-server', '-D', dir, '-o', LAZY_PAGES_LOG, '-v4'], stream);
