// host/tar.ts against archives GNU tar writes (its default format, as berth's backups are, and
// ustar, as dumps are) and against damaged ones.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { members, memberText } from '../../../src/host/archive.ts';
import { parseHeader, tarIndex } from '../../../src/host/tar.ts';

function archive(t: { after(fn: () => void): void }, format: string, fill: (dir: string) => string[]) {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-tar-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const names = fill(tmp);
  const file = join(tmp, 'a.tar');
  const r = spawnSync('tar', [`--format=${format}`, '-cf', file, '-C', tmp, ...names]);
  assert.equal(r.status, 0, r.stderr?.toString());
  return file;
}

for (const format of ['gnu', 'ustar']) {
  test(`${format}: every member's name, type, size and offset; small ones read in place`, (t) => {
    const file = archive(t, format, (d) => {
      writeFileSync(join(d, 'berth-backup.json'), '{"a":1}\n');
      writeFileSync(join(d, 'fs.tar.zst'), Buffer.alloc(1500, 9));
      symlinkSync('/etc/shadow', join(d, 'ct.conf'));
      return ['berth-backup.json', 'fs.tar.zst', 'ct.conf'];
    });
    const all = tarIndex(file, 10);
    assert.deepEqual(
      all?.map((e) => [e.path, e.type, e.size]),
      [
        ['berth-backup.json', '0', 8],
        ['fs.tar.zst', '0', 1500],
        ['ct.conf', '2', 0],
      ],
    );
    const bytes = readFileSync(file);
    const fs = all?.[1];
    assert.ok(fs);
    assert.deepEqual(bytes.subarray(fs.data, fs.data + fs.size), Buffer.alloc(1500, 9));
    assert.deepEqual(members(file), ['berth-backup.json', 'fs.tar.zst', 'ct.conf (type 2)']);
    assert.equal(memberText(file, 'berth-backup.json', 100), '{"a":1}\n');
    assert.equal(memberText(file, 'berth-backup.json', 7), null, 'larger than asked: none');
    assert.equal(memberText(file, 'ct.conf', 100), null, 'a symlink is no member to read');
    assert.equal(memberText(file, 'missing', 100), null);
    assert.equal(tarIndex(file, 2), null, 'more entries than allowed: no archive of ours');
  });
}

test('a truncated archive, a bad checksum or no tar at all: no index', (t) => {
  const file = archive(t, 'gnu', (d) => {
    writeFileSync(join(d, 'f'), Buffer.alloc(5000, 1));
    return ['f'];
  });
  const whole = readFileSync(file);
  truncateSync(file, 3000);
  assert.equal(tarIndex(file, 10), null, 'cut inside a member');
  const bad = Buffer.from(whole);
  bad[10] = (bad[10] ?? 0) ^ 1;
  writeFileSync(file, bad);
  assert.equal(tarIndex(file, 10), null, 'a header whose checksum does not match');
  writeFileSync(file, 'not a tar archive at all'.repeat(100));
  assert.equal(tarIndex(file, 10), null);
  assert.equal(tarIndex(join(file, 'nope'), 10), null);
});

test("GNU's base-256 size (8 GiB and more) is read, a negative or huge one refused", () => {
  const h = Buffer.alloc(512);
  h.write('big', 0);
  h.write('0000644\0', 100);
  h.write('ustar  \0', 257);
  h[156] = '0'.charCodeAt(0);
  const sign = (b: Buffer) => {
    b.fill(32, 148, 156);
    let sum = 0;
    for (const x of b) sum += x;
    b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  };
  h[124] = 0x80;
  h.writeUIntBE(9 * 2 ** 30, 130, 6);
  sign(h);
  assert.equal(parseHeader(h, 0)?.size, 9 * 2 ** 30);
  h.fill(0xff, 124, 136);
  sign(h);
  assert.throws(() => parseHeader(h, 0), /bad mode or size/);
});
