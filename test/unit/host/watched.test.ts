// berthd's memo of watched files (host/watched.ts): a value stays until inotify hears a change
// of one of its files, a listing until anything in its directory changes; what cannot be
// watched is read every time.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WatchedReads } from '../../../src/host/watched.ts';

/** inotify's events reach the watcher on a later turn of the event loop */
const heard = () => new Promise((r) => setTimeout(r, 50));

test('a value is kept until one of its files changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-watched-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const memo = new WatchedReads();
  t.after(() => memo.close());
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  writeFileSync(a, '1');
  writeFileSync(b, '1');
  let loads = 0;
  const get = () => memo.get('k', [a], () => ++loads);
  assert.equal(get(), 1);
  assert.equal(get(), 1, 'kept');
  writeFileSync(b, '2'); // another file of the same directory
  await heard();
  assert.equal(get(), 1, 'a file it did not read changes nothing');
  writeFileSync(a, '2');
  await heard();
  assert.equal(get(), 2, 'read again after a write');
  writeFileSync(`${a}.tmp`, '3');
  renameSync(`${a}.tmp`, a);
  await heard();
  assert.equal(get(), 3, 'read again after an atomic replace');
  assert.equal(
    memo.get('k', [a, b], () => ++loads),
    4,
    'other files under the same key: read again',
  );
});

test('a listing is kept until anything in its directory changes; a removed directory is forgotten', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-watched-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const memo = new WatchedReads();
  t.after(() => memo.close());
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  let loads = 0;
  const list = () => memo.get('l', [`${sub}/`], () => ++loads);
  assert.equal(list(), 1);
  assert.equal(list(), 1);
  mkdirSync(join(sub, 'child'));
  await heard();
  assert.equal(list(), 2, 'a new entry');
  const inSub = () => memo.get('f', [join(sub, 'x')], () => ++loads);
  assert.equal(inSub(), 3);
  rmSync(sub, { recursive: true });
  await heard();
  mkdirSync(sub); // the same path again (a container's cgroup after a restart)
  assert.equal(inSub(), 4, 'what read a removed directory is read again');
  assert.equal(list(), 5);
});

test('what cannot be watched is read every time', () => {
  const memo = new WatchedReads();
  let loads = 0;
  const get = () => memo.get('k', ['/nonexistent-berth-dir/x'], () => ++loads);
  assert.equal(get(), 1);
  assert.equal(get(), 2);
  memo.close();
});
