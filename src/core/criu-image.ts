// CRIU's image files, read just enough for berth's few rewrites (criu-seccomp.ts,
// criu-pagemap.ts): a u32 IMG_COMMON_MAGIC and the image's own magic, then protobuf messages,
// each after its u32 length (all little-endian). A damaged image is refused, never guessed at.

export const IMG_COMMON_MAGIC = 0x54564319;

/** how a caller names a damaged image in its own error */
export type ImageFault = (why: string) => Error;

/** A protobuf varint at OFF of BUF (below END): [value (exact below 2^53), next offset]. */
export function varint(buf: Uint8Array, off: number, end: number, bad: ImageFault): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (off >= end) throw bad('a field runs past its message');
    const b = buf[off++] as number;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, off];
  }
  throw bad('a varint longer than 10 bytes');
}

export function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

export interface PbField {
  no: number;
  wire: number;
  /** a varint's value (wire type 0), else 0 */
  value: number;
  /** the whole field, tag included: [start, end) */
  start: number;
  end: number;
  /** a length-delimited field's bytes: [dataStart, end) */
  dataStart: number;
}

/** The fields of the message in [start, end) of BUF, in their order. */
export function pbFields(buf: Uint8Array, start: number, end: number, bad: ImageFault): PbField[] {
  const out: PbField[] = [];
  let off = start;
  while (off < end) {
    const at = off;
    const [tag, next] = varint(buf, off, end, bad);
    const wire = tag % 8;
    let value = 0;
    let dataStart = next;
    if (wire === 0) [value, off] = varint(buf, next, end, bad);
    else if (wire === 1) off = next + 8;
    else if (wire === 5) off = next + 4;
    else if (wire === 2) {
      const [len, p] = varint(buf, next, end, bad);
      dataStart = p;
      off = p + len;
    } else throw bad(`wire type ${wire}`);
    if (off > end) throw bad('a field runs past its message');
    out.push({ no: Math.floor(tag / 8), wire, value, start: at, end: off, dataStart });
  }
  return out;
}

/** The bounds of every message of IMG, an image with MAGIC; anything else is refused. */
export function imageMessages(img: Uint8Array, magic: number, bad: ImageFault): Array<[number, number]> {
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (img.length < 8 || v.getUint32(0, true) !== IMG_COMMON_MAGIC || v.getUint32(4, true) !== magic)
    throw bad('not the CRIU image it should be (its magic)');
  const out: Array<[number, number]> = [];
  let off = 8;
  while (off < img.length) {
    if (off + 4 > img.length) throw bad('a truncated entry');
    const end = off + 4 + v.getUint32(off, true);
    if (end > img.length) throw bad('a truncated entry');
    out.push([off + 4, end]);
    off = end;
  }
  return out;
}

/** A message as an image stores it: its u32 length, then its bytes. */
export function framed(msg: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(msg.length);
  return Buffer.concat([len, msg]);
}
