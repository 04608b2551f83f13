import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PE_LAZY, PE_PARENT, PE_PRESENT, presentBytes, splitLazy } from '../../../src/core/criu-pagemap.ts';
import type { BerthError } from '../../../src/core/errors.ts';

const PS = 4096;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function u32(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
}

/** a pagemap entry as CRIU 4 writes it: vaddr (1), compat_nr_pages (2), flags (4), nr_pages (5) */
function entry(vaddr: number, nr: number, flags: number | null): number[] {
  return [
    0x08,
    ...varint(vaddr),
    0x10,
    ...varint(nr),
    ...(flags === null ? [] : [0x20, ...varint(flags)]),
    0x28,
    ...varint(nr),
  ];
}

function image(pagesId: number, entries: number[][]): Buffer {
  const msgs = [[0x08, ...varint(pagesId)], ...entries];
  return Buffer.from([...u32(0x54564319), ...u32(0x56084025), ...msgs.flatMap((m) => [...u32(m.length), ...m])]);
}

/** what CRIU's reader makes of an image: each entry's flags and nr_pages, in order */
function read(img: Buffer): Array<{ flags: number; nr: number }> {
  const out: Array<{ flags: number; nr: number }> = [];
  let pos = 8;
  let first = true;
  while (pos < img.length) {
    const len = img.readUInt32LE(pos);
    const msg = img.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    if (first) {
      first = false;
      continue;
    }
    const f: Record<number, number> = {};
    for (let i = 0; i < msg.length; ) {
      const tag = msg[i++] as number;
      let v = 0;
      let scale = 1;
      for (;;) {
        const b = msg[i++] as number;
        v += (b & 0x7f) * scale;
        scale *= 128;
        if (b < 0x80) break;
      }
      f[tag >> 3] = v;
    }
    out.push({ flags: f[4] ?? -1, nr: f[5] ?? 0 });
  }
  return out;
}

test('lazy ranges leave the pages file and lose PE_PRESENT; the rest stays at offsets CRIU computes', () => {
  const img = image(7, [
    entry(0x400000, 2, PE_PRESENT), // [0, 8K) kept
    entry(0x7f0000000000, 3, PE_PRESENT | PE_LAZY), // [8K, 20K) lazy
    entry(0x7f0000100000, 1, PE_PARENT), // no bytes
    entry(0x7f0000200000, 1, PE_PRESENT), // [20K, 24K) kept
    entry(0x7f0000300000, 4, PE_PRESENT), // [24K, 40K) kept, merged with the one before
    entry(0x7ffff0000000, 5, PE_PRESENT | PE_LAZY), // lazy
  ]);
  const s = splitLazy(img, PS);
  assert.equal(s.pagesId, 7);
  assert.deepEqual(s.keep, [
    { start: 0, length: 2 * PS },
    { start: 5 * PS, length: 5 * PS },
  ]);
  assert.equal(s.lazyBytes, 8 * PS);
  assert.equal(s.keptBytes, 7 * PS);
  assert.equal(presentBytes(s), 15 * PS);
  assert.ok(s.pagemap);
  assert.deepEqual(read(s.pagemap), [
    { flags: PE_PRESENT, nr: 2 },
    { flags: PE_LAZY, nr: 3 },
    { flags: PE_PARENT, nr: 1 },
    { flags: PE_PRESENT, nr: 1 },
    { flags: PE_PRESENT, nr: 4 },
    { flags: PE_LAZY, nr: 5 },
  ]);
  // the non-lazy entries are the same bytes
  assert.ok(s.pagemap.includes(Buffer.from(entry(0x400000, 2, PE_PRESENT))));
  // twice: nothing lazy is present any more, nothing changes
  const again = splitLazy(s.pagemap, PS);
  assert.equal(again.pagemap, null);
  assert.equal(again.lazyBytes, 0);
  assert.equal(again.keptBytes, 7 * PS);
});

test('no lazy entry: the pagemap goes as it is; entries without flags are never lazy', () => {
  const s = splitLazy(image(1, [entry(0x1000, 2, PE_PRESENT), entry(0x9000, 1, null)]), PS);
  assert.equal(s.pagemap, null);
  assert.deepEqual(s.keep, [{ start: 0, length: 3 * PS }]);
});

test('a damaged pagemap is refused', () => {
  const good = image(1, [entry(0x1000, 2, PE_PRESENT | PE_LAZY)]);
  const cases = [
    Buffer.alloc(0),
    Buffer.from([...u32(0x54564319), ...u32(0x64413049)]), // another image's magic
    Buffer.from([...u32(0x54564319), ...u32(0x56084025)]), // no head
    good.subarray(0, good.length - 2), // truncated
    image(1, [[0x08, 0xff]]), // a varint past its message
    image(1, [[0x0b]]), // wire type 3
  ];
  for (const c of cases)
    assert.throws(
      () => splitLazy(c, PS),
      (e: BerthError) => e.code === 'CHKPNT',
      String(c.length),
    );
});
