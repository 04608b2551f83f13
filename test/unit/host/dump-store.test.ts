import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BerthError } from '../../../src/core/errors.ts';
import { unpackUpload } from '../../../src/host/dump-store.ts';

/** FILE unpacked as an upload arrives: in small chunks, so that headers and data straddle them. */
const unpackTar = (name: string, file: string, into: string) =>
  unpackUpload(name, createReadStream(file, { highWaterMark: 777 }), into);

function tarOf(t: { after(fn: () => void): void }, fill: (dir: string) => void, args: string[] = []) {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-dump-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const src = join(tmp, 'src');
  mkdirSync(src);
  fill(src);
  const file = join(tmp, 'd.tar');
  const r = spawnSync('tar', ['--format=ustar', '-cf', file, '-C', src, ...args, '.']);
  assert.equal(r.status, 0, r.stderr?.toString());
  return { file, into: join(tmp, 'out') };
}

const refused = (why: RegExp) => (e: BerthError) => e.code === 'BAD_VALUE' && why.test(e.message);

test('a checkpoint upload: regular files and directories unpacked, modes at most 0644', async (t) => {
  const { file, into } = tarOf(t, (d) => {
    writeFileSync(join(d, 'inventory.img'), 'inv', { mode: 0o4755 });
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub', 'pages-1.img'), Buffer.alloc(70_000, 7));
  });
  assert.equal(await unpackTar('n', file, into), 70_003);
  assert.equal(readFileSync(join(into, 'inventory.img'), 'utf8'), 'inv');
  assert.equal(statSync(join(into, 'inventory.img')).mode & 0o7777, 0o644);
  assert.equal(statSync(join(into, 'sub/pages-1.img')).size, 70_000);
  assert.equal(statSync(into).mode & 0o777, 0o700);
});

test('a checkpoint upload with a symlink, a hard link or a name outside is refused', async (t) => {
  const link = tarOf(t, (d) => symlinkSync('/etc/shadow', join(d, 'x.img')));
  await assert.rejects(unpackTar('n', link.file, link.into), refused(/only regular files and directories/));
  const hard = tarOf(t, (d) => {
    writeFileSync(join(d, 'a'), 'a');
    spawnSync('ln', [join(d, 'a'), join(d, 'b')]);
  });
  await assert.rejects(unpackTar('n', hard.file, hard.into), refused(/only regular files and directories/));
  const out = tarOf(t, (d) => writeFileSync(join(d, 'a'), 'a'), ['--transform=s,^\\./a,../../a,']);
  await assert.rejects(unpackTar('n', out.file, out.into), refused(/a name outside the dump/));
  const junk = tarOf(t, () => {});
  writeFileSync(junk.file, Buffer.alloc(1024, 1));
  await assert.rejects(unpackTar('n', junk.file, junk.into), refused(/not a ustar archive/));
});

test('a checkpoint upload that ends early is refused, inside a file or before the end blocks', async (t) => {
  const { file, into } = tarOf(t, (d) => writeFileSync(join(d, 'pages-1.img'), Buffer.alloc(10_000, 7)));
  const whole = readFileSync(file);
  const cut = (n: number, to: string) => {
    writeFileSync(`${file}.${n}`, whole.subarray(0, n));
    return unpackTar('n', `${file}.${n}`, `${into}.${to}`);
  };
  await assert.rejects(cut(512 * 3 + 100, 'a'), refused(/pages-1.img.*ends inside it/));
  await assert.rejects(cut(512 * 2 + 10_240, 'b'), refused(/ends without its end blocks/));
});
