// CRIU's seccomp.img, read just enough to change one return action of the filters it holds.
//
// berth's filter sends sysinfo(2) to the container's keeper (SECCOMP_RET_USER_NOTIF). CRIU
// restores the filters but cannot hand their listener to a new keeper, and a notify filter
// without a listener answers ENOSYS: systemd's physical_memory() asserts on that and aborts
// (systemd-logind died on every restart after a restore). Restored filters answer sysinfo
// from the kernel instead, with the host's figures, as SYSINFO=no does.
import { imageMessages, pbFields } from './criu-image.ts';
import { BerthError } from './errors.ts';

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

/** Calls FN with the bounds of every length-delimited field number FIELD of the message in [start, end). */
function eachBytes(buf: Uint8Array, start: number, end: number, field: number, fn: (a: number, b: number) => void) {
  for (const f of pbFields(buf, start, end, bad)) if (f.wire === 2 && f.no === field) fn(f.dataStart, f.end);
}

/**
 * Turns every "return USER_NOTIF" of the filters in IMG (the whole seccomp.img, changed in
 * place) into "return ALLOW"; returns how many. Anything but CRIU's seccomp image is refused.
 */
export function notifyToAllow(img: Uint8Array): number {
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  let n = 0;
  for (const [start, end] of imageMessages(img, SECCOMP_MAGIC, bad)) {
    // seccomp_entry.seccomp_filters (1) -> seccomp_filter.filter (1): the BPF program
    eachBytes(img, start, end, 1, (fa, fb) =>
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
  }
  return n;
}
