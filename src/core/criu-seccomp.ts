// CRIU's seccomp.img, read just enough to change one return action of the filters it holds.
//
// berth's filter sends sysinfo(2) to the container's keeper (SECCOMP_RET_USER_NOTIF). CRIU
// restores the filters but cannot hand their listener to a new keeper, and a notify filter
// without a listener answers ENOSYS: systemd's physical_memory() asserts on that and aborts
// (systemd-logind died on every restart after a restore). Restored filters answer sysinfo
// from the kernel instead, with the host's figures, as SYSINFO=no does.
import { BerthError } from './errors.ts';

const IMG_COMMON_MAGIC = 0x54564319;
const SECCOMP_MAGIC = 0x64413049;
/** BPF_RET | BPF_K: return the constant k */
const BPF_RET_K = 0x06;
const RET_USER_NOTIF = 0x7fc00000;
const RET_ALLOW = 0x7fff0000;
/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k */
const INSN = 8;

function bad(why: string): BerthError {
  return new BerthError('RESTORE', `restore: seccomp.img: ${why}`, { hint: 'the checkpoint is damaged' });
}

/** A protobuf varint at OFF of BUF (below END): [value, next offset]. */
function varint(buf: Uint8Array, off: number, end: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (off >= end) throw bad('a field runs past its message');
    const b = buf[off++] as number;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, off];
  }
  throw bad('a varint longer than 5 bytes');
}

/** Calls FN with the bounds of every length-delimited field number FIELD of the message in [start, end). */
function eachBytes(buf: Uint8Array, start: number, end: number, field: number, fn: (a: number, b: number) => void) {
  let off = start;
  while (off < end) {
    const [tag, next] = varint(buf, off, end);
    off = next;
    const wire = tag & 7;
    if (wire === 0) off = varint(buf, off, end)[1];
    else if (wire === 1) off += 8;
    else if (wire === 5) off += 4;
    else if (wire === 2) {
      const [len, at] = varint(buf, off, end);
      if (at + len > end) throw bad('a field runs past its message');
      if (tag >>> 3 === field) fn(at, at + len);
      off = at + len;
    } else throw bad(`wire type ${wire}`);
  }
  if (off !== end) throw bad('a field runs past its message');
}

/**
 * Turns every "return USER_NOTIF" of the filters in IMG (the whole seccomp.img, changed in
 * place) into "return ALLOW"; returns how many. Anything but CRIU's seccomp image is refused.
 */
export function notifyToAllow(img: Uint8Array): number {
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (img.length < 8 || v.getUint32(0, true) !== IMG_COMMON_MAGIC || v.getUint32(4, true) !== SECCOMP_MAGIC)
    throw bad('not a CRIU seccomp image');
  let n = 0;
  let off = 8;
  while (off < img.length) {
    if (off + 4 > img.length) throw bad('a truncated entry');
    const end = off + 4 + v.getUint32(off, true);
    if (end > img.length) throw bad('a truncated entry');
    // seccomp_entry.seccomp_filters (1) -> seccomp_filter.filter (1): the BPF program
    eachBytes(img, off + 4, end, 1, (fa, fb) =>
      eachBytes(img, fa, fb, 1, (pa, pb) => {
        if ((pb - pa) % INSN) throw bad('a filter is no whole number of instructions');
        for (let i = pa; i < pb; i += INSN) {
          if (v.getUint16(i, true) === BPF_RET_K && v.getUint32(i + 4, true) === RET_USER_NOTIF) {
            v.setUint32(i + 4, RET_ALLOW, true);
            n++;
          }
        }
      }),
    );
    off = end;
  }
  return n;
}
