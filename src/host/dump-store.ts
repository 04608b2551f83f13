// berthd's store of checkpoints uploaded by a migration's source (/var/lib/berth/dump-in/NAME,
// root's, 0700): a tar streamed in, bounded, and unpacked as it arrives by our own reader, which takes only
// regular files and directories (no links of any kind, no devices) with names inside NAME. The
// archive is hostile: restore-dump.ts checks berth-meta.json and CRIU checks its images.
import { constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { type CtId, parseCtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { listDir } from './fs-util.ts';
import type { Paths } from './paths.ts';
import { parseHeader, type TarEntry } from './tar.ts';

const NAME = /^migrate-[A-Za-z0-9_.-]{1,80}-[0-9a-f]{16}$/;
/** a busybox dump is a few MB, a large one some GB: the upload is cut beyond this */
export const DUMP_MAX_BYTES = 16 * 1024 ** 3;
const MAX_ENTRIES = 100_000;

export const dumpInDir = (p: Paths) => join(p.lib, 'dump-in');

/** NAME as a directory of the store, or a 400 (a path, another form). */
export function dumpUploadDir(p: Paths, name: string): string {
  return join(dumpInDir(p), checkedName(name));
}

function checkedName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new BerthError('BAD_VALUE', `dump ${JSON.stringify(name.slice(0, 80))}: not a migration dump name`, {
      hint: 'migrate-CTID-<16 hex>, as berth migrate --online names it',
    });
  }
  return name;
}

/** The container a migration dump NAME is of (migrate-CTID-<16 hex>). */
export function dumpCtId(name: string): CtId {
  return parseCtId(checkedName(name).slice('migrate-'.length, -17));
}

const bad = (name: string, why: string) =>
  new BerthError('BAD_VALUE', `dump ${name}: ${why}`, { hint: 'the upload is refused and nothing of it kept' });

/**
 * The tar in BODY, unpacked into the store as NAME (replacing an earlier upload of it) while it
 * arrives: no copy of the archive on disk, and berthd's event loop free between its chunks.
 */
export async function storeDumpUpload(p: Paths, name: string, body: Readable): Promise<{ name: string; size: number }> {
  const dir = dumpUploadDir(p, name);
  mkdirSync(dumpInDir(p), { recursive: true, mode: 0o700 });
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  try {
    const size = await unpackUpload(name, body, partial);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return { name, size };
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Checkpoints a killed daemon left half unpacked (NAME.partial): the caller holds the daemon
 * lock, so no upload is under way.
 */
export function removeDeadDumpParts(p: Paths): void {
  for (const n of listDir(dumpInDir(p))) {
    if (n.endsWith('.partial')) rmSync(join(dumpInDir(p), n), { recursive: true, force: true });
  }
}

export function removeDumpUpload(p: Paths, name: string): void {
  rmSync(dumpUploadDir(p, name), { recursive: true, force: true });
}

/**
 * Unpacks the ustar archive BODY into the new directory INTO (0700) as it arrives: regular files
 * (at most 0644) and directories (0700) only, made with O_EXCL|O_NOFOLLOW under directories this
 * function made, so nothing can point outside. Resolves with the bytes written. A body that ends
 * early, fails, or holds more than DUMP_MAX_BYTES is refused; the rest of it is then read and
 * dropped, so that the client still gets its answer. The caller removes INTO after a failure.
 */
export function unpackUpload(name: string, body: Readable, into: string): Promise<number> {
  mkdirSync(into, { mode: 0o700 });
  const u = new Unpacker(name, into);
  return new Promise<number>((resolve, reject) => {
    let failed = false;
    // each chunk waits for the one before it ('end' may come while the last one is written)
    let chain = Promise.resolve();
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      body.removeListener('data', onData);
      body.resume();
      u.abandon();
      reject(err);
    };
    const onData = (c: Buffer) => {
      body.pause();
      chain = chain
        .then(() => u.push(c))
        .then(() => {
          if (!failed) body.resume();
        }, fail);
    };
    body.on('data', onData);
    body.on('end', () => {
      chain = chain
        .then(() => u.finish())
        .then((n) => {
          if (!failed) resolve(n);
        }, fail);
    });
    body.on('error', fail);
    body.on('aborted', () => fail(bad(name, 'the upload ended early')));
  });
}

/** The archive's parser, fed chunk by chunk: a header, its file's data, the padding, and so on. */
class Unpacker {
  private head = Buffer.alloc(512);
  private headLen = 0;
  /** the file being written, and how many of its bytes are still to come */
  private file: { fh: FileHandle; path: string; left: number } | null = null;
  private pad = 0;
  private entries = 0;
  private received = 0;
  private total = 0;
  private ended = false;

  private readonly name: string;
  private readonly into: string;

  constructor(name: string, into: string) {
    this.name = name;
    this.into = into;
  }

  async push(chunk: Buffer): Promise<void> {
    this.received += chunk.length;
    // the data and its headers; past the end blocks only padding is left
    if (this.received > DUMP_MAX_BYTES + MAX_ENTRIES * 1024)
      throw bad(this.name, `larger than ${DUMP_MAX_BYTES} bytes`);
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.file) {
        const n = Math.min(this.file.left, chunk.length - at);
        await this.file.fh.write(chunk, at, n);
        at += n;
        this.file.left -= n;
        if (this.file.left === 0) await this.closeFile();
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, chunk.length - at);
        at += n;
        this.pad -= n;
      } else {
        const n = Math.min(512 - this.headLen, chunk.length - at);
        chunk.copy(this.head, this.headLen, at, at + n);
        at += n;
        this.headLen += n;
        if (this.headLen === 512) {
          this.headLen = 0;
          await this.entry();
        }
      }
    }
  }

  /** The end of the body: the bytes written, or why the archive is not whole. */
  async finish(): Promise<number> {
    if (this.file) throw bad(this.name, `${JSON.stringify(this.file.path)}: the archive ends inside it`);
    if (!this.ended) throw bad(this.name, 'the archive ends without its end blocks');
    return this.total;
  }

  abandon(): void {
    this.file?.fh.close().catch(() => {});
    this.file = null;
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = null;
    await f?.fh.close();
  }

  /** The header just read: a directory made, a file opened for its data, or the end. */
  private async entry(): Promise<void> {
    const name = this.name;
    if (++this.entries > MAX_ENTRIES) throw bad(name, `more than ${MAX_ENTRIES} entries`);
    let e: TarEntry | null;
    try {
      e = parseHeader(this.head, 0);
    } catch (err) {
      throw bad(name, `not a ustar archive (${(err as Error).message})`);
    }
    if (!e) {
      this.ended = true;
      return;
    }
    const { size, type } = e;
    const path = e.path.replace(/^(\.\/)+/, '');
    const parts = path.split('/').filter((s, i, a) => !(s === '' && i === a.length - 1));
    if (path !== '' && (path.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..')))
      throw bad(name, `${JSON.stringify(path)}: a name outside the dump`);
    this.total += size;
    if (this.total > DUMP_MAX_BYTES) throw bad(name, `larger than ${DUMP_MAX_BYTES} bytes`);
    const to = join(this.into, ...parts);
    if (type === '5') {
      if (size !== 0) throw bad(name, `${JSON.stringify(path)}: a directory with data`);
      if (path !== '') mkdirSync(to, { mode: 0o700 });
      return;
    }
    if ((type !== '0' && type !== '\0') || path === '')
      throw bad(name, `${JSON.stringify(path)}: only regular files and directories are taken`);
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    // CRIU's own modes (0644 images: the restored tasks read some as uid BASE through the
    // directory's group), never more: no exec, setuid or write bits for others
    const fh = await open(
      to,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      e.mode & 0o644,
    );
    this.pad = (512 - (size % 512)) % 512;
    this.file = { fh, path, left: size };
    if (size === 0) await this.closeFile();
  }
}
