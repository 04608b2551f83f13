// Checkpoint and restore (CRIU, issue 17): the time namespace every container gets, chkpnt, restore.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const TIMENS = (() => {
  try {
    return readlinkSync('/proc/self/ns/time') !== '';
  } catch {
    return false;
  }
})();

function initPid(s: Sandbox, id: string): number {
  return JSON.parse(readFileSync(join(s.root, `run/berth/${id}/state.json`), 'utf8')).pid;
}

test('a container has a time namespace of its own; exec and enter join it', {
  skip: ROOT_SKIP || (!TIMENS && 'needs time namespaces (Linux 5.6+)'),
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', '701']);
  s.ok(['start', '701']);
  const init = readlinkSync(`/proc/${initPid(s, '701')}/ns/time`);
  assert.notEqual(init, readlinkSync('/proc/self/ns/time'), "init is not in the host's time namespace");
  // the exec'd shell reads its own link (a host path through the container's /proc: the same inode)
  const mine = s.ok(['exec', '701', '--', 'readlink', '/proc/self/ns/time']).trim();
  assert.equal(mine, init, "an exec'd process shares init's time namespace");
  // enter wants a terminal: script(1) gives it one
  const entered = spawnSync('script', ['-qec', `${BERTH} --root ${s.root} enter 701`, '/dev/null'], {
    input: 'readlink /proc/self/ns/time; exit\n',
    encoding: 'utf8',
    timeout: 30_000,
  }).stdout;
  assert.ok(entered.includes(init), `an enter session shares init's time namespace: ${entered}`);
  // a background process started by exec keeps it (CRIU dumps one tree, one time namespace)
  s.ok(['exec', '701', '--', 'sh', '-c', 'sleep 600 </dev/null >/dev/null 2>&1 &']);
  const sleeper = s.ok(['exec', '701', '--', 'sh', '-c', 'readlink /proc/$(pidof sleep)/ns/time']).trim();
  assert.equal(sleeper, init);
  s.ok(['stop', '701']);
});
