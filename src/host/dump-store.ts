// berthd's store of checkpoints uploaded by a migration's source (/var/lib/berth/dump-in/NAME,
// root's, 0700): a tar streamed in, bounded, then unpacked by our own reader, which takes only
// regular files and directories (no links of any kind, no devices) with names inside NAME. The
// archive is hostile: restore-dump.ts checks berth-meta.json and CRIU checks its images.
import { closeSync, constants, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { type CtId, parseCtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import type { Paths } from './paths.ts';
import { parseHeader, type TarEntry } from './tar.ts';
import { receiveUpload } from './upload.ts';

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

/** The tar in BODY, unpacked into the store as NAME (replacing an earlier upload of it). */
export async function storeDumpUpload(p: Paths, name: string, body: Readable): Promise<{ name: string; size: number }> {
  const dir = dumpUploadDir(p, name);
  mkdirSync(dumpInDir(p), { recursive: true, mode: 0o700 });
  const tar = `${dir}.tar.part`;
  const partial = `${dir}.partial`;
  rmSync(tar, { force: true });
  rmSync(partial, { recursive: true, force: true });
  try {
    await receiveUpload(body, tar, (why) => bad(name, why), DUMP_MAX_BYTES);
    const size = unpackTar(name, tar, partial);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return { name, size };
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(tar, { force: true });
  }
}

export function removeDumpUpload(p: Paths, name: string): void {
  rmSync(dumpUploadDir(p, name), { recursive: true, force: true });
}

/**
 * Unpacks ustar FILE into the new directory INTO (0700): regular files (at most 0644) and
 * directories (0700) only, made with O_EXCL|O_NOFOLLOW under directories this function made, so nothing
 * can point outside. Returns the bytes written.
 */
export function unpackTar(name: string, file: string, into: string): number {
  mkdirSync(into, { mode: 0o700 });
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  const h = Buffer.alloc(512);
  const chunk = Buffer.alloc(1 << 20);
  let pos = 0;
  let total = 0;
  try {
    for (let entries = 0; ; entries++) {
      if (entries > MAX_ENTRIES) throw bad(name, `more than ${MAX_ENTRIES} entries`);
      if (readSync(fd, h, 0, 512, pos) !== 512) throw bad(name, 'the archive ends without its end blocks');
      let e: TarEntry | null;
      try {
        e = parseHeader(h, pos);
      } catch (err) {
        throw bad(name, `not a ustar archive (${(err as Error).message})`);
      }
      pos += 512;
      if (!e) return total;
      const { size, type } = e;
      const path = e.path.replace(/^(\.\/)+/, '');
      const parts = path.split('/').filter((s, i, a) => !(s === '' && i === a.length - 1));
      if (path !== '' && (path.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..')))
        throw bad(name, `${JSON.stringify(path)}: a name outside the dump`);
      total += size;
      if (total > DUMP_MAX_BYTES) throw bad(name, `larger than ${DUMP_MAX_BYTES} bytes`);
      const to = join(into, ...parts);
      if (type === '5') {
        if (size !== 0) throw bad(name, `${JSON.stringify(path)}: a directory with data`);
        if (path !== '') mkdirSync(to, { mode: 0o700 });
        continue;
      }
      if ((type !== '0' && type !== '\0') || path === '')
        throw bad(name, `${JSON.stringify(path)}: only regular files and directories are taken`);
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      // CRIU's own modes (0644 images: the restored tasks read some as uid BASE through the
      // directory's group), never more: no exec, setuid or write bits for others
      const mode = e.mode & 0o644;
      const out = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
      try {
        for (let left = size; left > 0; ) {
          const got = readSync(fd, chunk, 0, Math.min(left, chunk.length), pos);
          if (got <= 0) throw bad(name, `${JSON.stringify(path)}: the archive ends inside it`);
          writeSync(out, chunk, 0, got);
          pos += got;
          left -= got;
        }
      } finally {
        closeSync(out);
      }
      pos += (512 - (size % 512)) % 512;
    }
  } finally {
    closeSync(fd);
  }
}
