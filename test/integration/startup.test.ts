// Start-up discipline (docs/performance.md): each verb reads what it needs and no more, seen by
// strace on the real CLI: status, exec and start touch no other container, list reads each
// config once, berth.conf and mountinfo are read at most once per command.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const STRACE = spawnSync('sh', ['-c', 'command -v strace'], { stdio: 'ignore' }).status === 0;

/**
 * The paths berth opened, stat'ed or read a link of, for one command; with its helper's when
 * `children` (not for start: strace would wait for the container's init and keeper).
 */
function touched(s: Sandbox, args: string[], children = true): string[] {
  const log = join(s.root, 'strace.log');
  const calls = 'trace=openat,open,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,readlink,readlinkat';
  s.wrap = ['strace', ...(children ? ['-f'] : []), '-qq', '-e', calls, '-o', log];
  try {
    s.ok(args);
  } finally {
    s.wrap = [];
  }
  const text = readFileSync(log, 'utf8');
  rmSync(log);
  return [...text.matchAll(/"(\/[^"]*)"/g)].map((m) => m[1] ?? '');
}

/** Paths that belong to container `id`: its config, state, private area, root, log, cgroups. */
const ofCt = (paths: string[], id: string) => paths.filter((p) => new RegExp(`/${id}(\\.[a-z.]+)?(/|$)`).test(p));
const count = (paths: string[], file: string) => paths.filter((p) => p === file).length;

test('status, exec, list and start read only what they need', {
  skip: ROOT_SKIP || (!STRACE && 'needs strace'),
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'one']);
  s.ok(['create', 'two']);
  s.ok(['start', 'two']);
  s.ok(['start', 'one']);
  const conf = (id: string) => join(s.root, 'etc/berth/ct', `${id}.conf`);
  const global = join(s.root, 'etc/berth/berth.conf');

  for (const args of [
    ['status', 'one'],
    ['exec', 'one', '--', '/bin/true'],
  ]) {
    const seen = touched(s, args);
    assert.deepEqual(ofCt(seen, 'two'), [], `${args.join(' ')} touches another container`);
    assert.ok(count(seen, global) <= 1, `${args.join(' ')} reads berth.conf once at most`);
    assert.ok(count(seen, '/proc/self/mountinfo') <= 1, `${args.join(' ')} reads mountinfo once at most`);
  }
  // exec needs the state of a running container, not its config
  assert.equal(count(touched(s, ['exec', 'one', '--', '/bin/true']), conf('one')), 0);

  const list = touched(s, ['list', '-a']);
  assert.equal(count(list, conf('one')), 1);
  assert.equal(count(list, conf('two')), 1);
  assert.ok(count(list, global) <= 1, 'list reads berth.conf once at most');
  assert.ok(count(list, '/proc/self/mountinfo') <= 1, 'list reads mountinfo once');

  s.ok(['stop', '--fast', 'one']);
  const start = touched(s, ['start', 'one'], false);
  assert.deepEqual(ofCt(start, 'two'), [], 'start touches another container');
  assert.ok(count(start, global) <= 1, 'start reads berth.conf once at most');
});
