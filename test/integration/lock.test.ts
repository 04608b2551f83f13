// Per-container locks: a second mutating command is refused at once (exit 9, naming the holder),
// commands that take no lock still work, and a lock left by a killed berth is broken.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const pidNs = () => readlinkSync('/proc/self/ns/pid');

test('locks: refused while held, broken when the holder is gone', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101']);
  s.ok(['start', '101']);
  const lock = join(s.root, 'var/lib/berth/lock/101.lck');

  // a clean stop of busybox init takes about 2 s: long enough to collide with
  const stop = s.spawn(['stop', '101']);
  const exited = new Promise((r) => stop.on('exit', r));
  let held = '';
  for (let i = 0; i < 200 && !held; i++) {
    try {
      held = readlinkSync(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  assert.match(held, new RegExp(`^berth-lock:${stop.pid}:`), 'the stop holds the lock');
  const r = s.berth(['set', '101', '--cpus', '1', '--save']);
  assert.equal(r.code, 9, r.err);
  assert.match(r.err, new RegExp(`^berth: set 101: locked by pid ${stop.pid} \\(berth stop 101\\)\\nberth: hint: `));
  assert.equal(s.berth(['status', '101']).code, 0, 'status takes no lock');
  await exited;
  assert.throws(() => readlinkSync(lock), /ENOENT/, 'released');

  // a holder that is gone (as after SIGKILL): the next command breaks the lock and goes on
  symlinkSync(`berth-lock:999999999:1:${bootId()}:${pidNs()}:start 101`, lock);
  s.ok(['set', '101', '--cpus', '1', '--save']);
  // while another command breaks a stale lock (it holds the guard for milliseconds), this one
  // waits for the guard instead of giving up with "locked" on a lock nobody holds
  const guard = spawn('flock', [join(s.root, 'var/lib/berth/lock/.break.lck'), 'sleep', '0.4'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
  symlinkSync(`berth-lock:999999999:1:${bootId()}:${pidNs()}:start 101`, lock);
  const waited = s.berth(['set', '101', '--cpus', '1', '--save']);
  assert.equal(waited.code, 0, waited.err);
  await new Promise((r) => (guard.exitCode === null ? guard.on('exit', r) : r(null)));
  // a holder from a previous boot, even with a live pid
  symlinkSync(`berth-lock:1:1:not-this-boot:${pidNs()}:start 101`, lock);
  s.ok(['set', '101', '--cpus', '2', '--save']);
  // another pid namespace: berth cannot tell, and says how to resolve it
  symlinkSync(`berth-lock:1:1:${bootId()}:pid:[1]:start 101`, lock);
  const other = s.berth(['start', '101']);
  assert.equal(other.code, 9, other.err);
  assert.match(other.err, /locked by pid 1 \(berth start 101\) in another pid namespace\nberth: hint: if no berth/);
  rmSync(lock); // what the hint says to do (cleanup needs the lock)

  // addresses are checked free and taken under one lock across containers: a set that adds one
  // waits while another command (here a live stand-in) holds it, then goes on
  s.ok(['create', '102']);
  const holder = spawn('sleep', ['0.5'], { stdio: 'ignore' });
  const start = readFileSync(`/proc/${holder.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  const addresses = join(s.root, 'var/lib/berth/lock/addresses.lck');
  symlinkSync(`berth-lock:${holder.pid}:${start}:${bootId()}:${pidNs()}:set 101`, addresses);
  holder.on('exit', () => rmSync(addresses, { force: true }));
  const t0 = Date.now();
  s.ok(['set', '102', '--ipadd', '10.77.9.2', '--save']);
  assert.ok(Date.now() - t0 >= 250, 'the set waited for the holder of the address lock');
});
