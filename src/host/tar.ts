// Reading tar headers without tar: the dump store's unpacker and the backup reader's index of
// an archive's members (where each one's bytes are, so a member streams from its offset to the
// tool that reads it instead of through another tar). Headers are hostile input: a bad
// checksum, magic, size or type is an error, never a guess.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export interface TarEntry {
  /** the stored name (ustar's prefix joined), as `tar -t` prints it */
  path: string;
  /** the type flag: '0' (or '\0') a file, '5' a directory, ... */
  type: string;
  mode: number;
  size: number;
  /** where the entry's bytes start in the archive */
  data: number;
}

const field = (h: Buffer, at: number, len: number) => {
  const b = h.subarray(at, at + len);
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? len : z).toString('utf8');
};

const octal = (h: Buffer, at: number, len: number) => {
  const t = field(h, at, len).trim();
  return /^[0-7]+$/.test(t) ? Number.parseInt(t, 8) : Number.NaN;
};

/** A size: octal, or GNU's base-256 (high bit set) for 8 GiB and more; NaN if neither fits. */
function sizeOf(h: Buffer): number {
  if (((h[124] ?? 0) & 0x80) === 0) return octal(h, 124, 12);
  let n = (h[124] ?? 0) & 0x7f;
  for (let i = 125; i < 136; i++) n = n * 256 + (h[i] ?? 0);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * The entry whose 512-byte header H was read at POS (null: an end block). Throws the reason
 * when the header is not a sound ustar or GNU one.
 */
export function parseHeader(h: Buffer, pos: number): TarEntry | null {
  if (h.every((b) => b === 0)) return null;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
  const magic = h.subarray(257, 263).toString('latin1');
  // POSIX ustar ("ustar\0") has a name prefix; GNU's format ("ustar ") keeps times there
  if (octal(h, 148, 8) !== sum || !magic.startsWith('ustar')) throw new Error('not a tar archive');
  const mode = octal(h, 100, 8);
  const size = sizeOf(h);
  if (Number.isNaN(mode) || !Number.isSafeInteger(size)) throw new Error('a header with a bad mode or size');
  const prefix = magic === 'ustar\0' ? field(h, 345, 155) : '';
  const name = field(h, 0, 100);
  return {
    path: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(h[156] ?? 0),
    mode,
    size,
    data: pos + 512,
  };
}

/** Where the entry after E's header starts (its data rounded up to whole blocks). */
export const nextHeader = (e: TarEntry): number => e.data + Math.ceil(e.size / 512) * 512;

/**
 * The entries of the plain tar FILE (at most MAX), null when it is not a whole archive: a bad
 * header, an entry that runs past the file's end, no end block, or more than MAX entries.
 * FILE is the admin's (a symlink to an archive is followed, as tar follows it).
 */
export function tarIndex(file: string, max: number): TarEntry[] | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch {
    return null;
  }
  const h = Buffer.alloc(512);
  const out: TarEntry[] = [];
  try {
    const end = fstatSync(fd).size;
    for (let pos = 0; out.length <= max; ) {
      if (readSync(fd, h, 0, 512, pos) !== 512) return null;
      const e = parseHeader(h, pos);
      if (!e) return out;
      if (e.data + e.size > end) return null;
      out.push(e);
      pos = nextHeader(e);
    }
    return null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
