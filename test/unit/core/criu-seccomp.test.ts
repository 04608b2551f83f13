import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notifyToAllow } from '../../../src/core/criu-seccomp.ts';
import type { BerthError } from '../../../src/core/errors.ts';

/** a protobuf varint */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** one BPF instruction: code, jt, jf, k (little-endian) */
function insn(code: number, k: number): number[] {
  return [code & 0xff, code >> 8, 0, 0, k & 0xff, (k >> 8) & 0xff, (k >> 16) & 0xff, (k >>> 24) & 0xff];
}

/** seccomp.img: magics, then one seccomp_entry of FILTERS (each a list of instructions) */
function image(filters: number[][]): Uint8Array {
  const entry: number[] = [];
  for (const prog of filters) {
    // seccomp_filter { bytes filter = 1; uint32 prev = 2; }
    const f = [0x0a, ...varint(prog.length), ...prog, 0x10, 0x01];
    entry.push(0x0a, ...varint(f.length), ...f);
  }
  const head = [0x19, 0x43, 0x56, 0x54, 0x49, 0x30, 0x41, 0x64];
  const size = [entry.length & 0xff, (entry.length >> 8) & 0xff, 0, 0];
  return Uint8Array.from([...head, ...size, ...entry]);
}

const NOTIFY = 0x7fc00000;
const ALLOW = 0x7fff0000;
const ERRNO_EPERM = 0x00050001;

test("the restored filters' sysinfo notification becomes allow, the rest untouched; twice is a no-op", () => {
  // a ld (0x20) whose k happens to equal the notify action must not be touched
  const ours = [...insn(0x20, NOTIFY), ...insn(0x06, NOTIFY), ...insn(0x06, ERRNO_EPERM), ...insn(0x06, ALLOW)];
  const theirs = [...insn(0x06, ERRNO_EPERM), ...insn(0x06, ALLOW)];
  const img = image([ours, theirs, ours]);
  const before = Uint8Array.from(img);
  assert.equal(notifyToAllow(img), 2);
  const changed = [...img.keys()].filter((i) => img[i] !== before[i]);
  // only the k of the two "ret NOTIFY": its two high bytes (0xc0 0x7f -> 0xff 0x7f)
  assert.equal(changed.length, 2);
  assert.equal(notifyToAllow(img), 0);
});

test('anything but a seccomp image is refused', () => {
  const good = image([[...insn(0x06, NOTIFY)]]);
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    good.slice(0, good.length - 3), // truncated
    (() => {
      const b = Uint8Array.from(good);
      b[13] = 0x7f; // the filter's length past the entry
      return b;
    })(),
    image([[1, 2, 3]]), // not whole instructions
  ];
  for (const c of cases) {
    assert.throws(
      () => notifyToAllow(c),
      (e: BerthError) => e.code === 'RESTORE',
    );
  }
});
