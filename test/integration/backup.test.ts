// Backup and restore with busybox containers of each layout: refusals that write nothing
// (truncated, corrupted, foreign archives; an existing CTID), --force, a new CTID, and SIGKILL
// during backup and restore.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { killAfter, ROOT_SKIP, sandbox } from './harness.ts';

test('backup/restore: every layout round-trips; bad archives and taken CTIDs are refused, nothing written', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, (t) => {
  const s = sandbox(t);
  // addresses touch routing: berth runs in a throwaway network namespace playing the host
  const ns = `berth-it-bk-${process.pid}`;
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  s.wrap = ['nsenter', `--net=/run/netns/${ns}`];
  const conf = (id: string) => join(s.root, `etc/berth/ct/${id}.conf`);
  let n = 0;
  for (const [layout, extra] of [
    ['overlay', []],
    ['dir', []],
    ['image', ['--diskspace', '64M']],
  ] as Array<[string, string[]]>) {
    const id = `b-${layout}`;
    const ip = `10.77.0.${++n}`;
    s.ok(['create', id, '--layout', layout, ...extra]);
    s.ok(['set', id, '--ipadd', ip, '--save']);
    s.ok(['start', id]);
    s.ok(['exec', id, '--', 'sh', '-c', 'echo mine > /root/f']);
    const file = join(s.root, `${id}.tar`);
    const manifest = JSON.parse(s.ok(['backup', id, '-o', file, '--json']));
    assert.equal(manifest.layout, layout);
    assert.equal(manifest.running, true);
    assert.equal(s.berth(['backup', id, '-o', file]).code, 21, 'an existing file is not overwritten');
    assert.equal(s.ok(['exec', id, '--', 'cat', '/root/f']), 'mine\n', 'runs on after the backup');
    // the CTID is taken: refused without --force
    const taken = s.berth(['restore', file]);
    assert.equal(taken.code, 44);
    assert.match(taken.err, /container b-\w+ exists\nberth: hint: restore under another CTID/);
    // a copy under a new CTID: the address the original holds is left out
    s.ok(['restore', file, `${id}-copy`]);
    assert.ok(!readFileSync(conf(`${id}-copy`), 'utf8').includes(ip));
    s.ok(['start', `${id}-copy`]);
    assert.equal(s.ok(['exec', `${id}-copy`, '--', 'cat', '/root/f']), 'mine\n');
    s.ok(['stop', '--fast', `${id}-copy`]);
    s.ok(['destroy', `${id}-copy`]);
    // --force replaces the original (stopped), with its address
    assert.equal(s.berth(['restore', file, '--force']).code, 32, '--force on a running container');
    s.ok(['exec', id, '--', 'sh', '-c', 'echo later > /root/f']);
    s.ok(['stop', '--fast', id]);
    s.ok(['restore', file, '--force']);
    assert.ok(readFileSync(conf(id), 'utf8').includes(ip));
    s.ok(['start', id]);
    assert.equal(s.ok(['exec', id, '--', 'cat', '/root/f']), 'mine\n');
    s.ok(['stop', '--fast', id]);
  }

  // damaged archives: truncated, one byte flipped, not a backup, missing; nothing written
  const good = join(s.root, 'b-dir.tar');
  const bytes = readFileSync(good);
  const cut = join(s.root, 'cut.tar');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const flipped = join(s.root, 'flipped.tar');
  const copy = Buffer.from(bytes);
  const at = copy.length - 20_000; // inside fs.tar.zst, the last member
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  writeFileSync(flipped, copy);
  const foreign = join(s.root, 'foreign.tar');
  spawnSync('tar', ['-cf', foreign, '-C', s.root, 'cut.tar']);
  const privates = () => readdirSync(join(s.root, 'var/lib/berth/private')).sort().join(' ');
  const before = privates();
  for (const [file, msg] of [
    [cut, /not a whole tar archive|is damaged/],
    [flipped, /is damaged|does not match its checksum/],
    [foreign, /unexpected contents/],
  ] as Array<[string, RegExp]>) {
    const r = s.berth(['restore', file, 'r-new']);
    assert.equal(r.code, 152, `${file}: ${r.err}`);
    assert.match(r.err, msg);
    assert.match(r.err, /nothing was written/);
    assert.ok(!existsSync(conf('r-new')));
    assert.equal(privates(), before);
  }
  assert.equal(s.berth(['restore', join(s.root, 'nope.tar')]).code, 21);
  assert.ok(statSync(good).size > 0);
});

test('SIGKILL during backup and restore: no half archive, no half container, nothing frozen', {
  skip: ROOT_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', 'k', '--layout', 'dir']);
  s.ok(['start', 'k']);
  const good = join(s.root, 'good.tar');
  s.ok(['backup', 'k', '-o', good]);
  let points = 0;
  for (const ms of [0, 40, 80, 120, 170, 250]) {
    points += 2;
    const out = join(s.root, `k${ms}.tar`);
    await killAfter(s, ['backup', 'k', '-o', out], ms);
    // the archive is whole or absent; no temporary file is left beside it for long
    if (existsSync(out)) s.ok(['restore', out, `v${ms}`]);
    s.ok(['set', 'k', '--description', `after ${ms}`]); // recovery: thawed
    assert.match(s.ok(['status', 'k']), / running$/m);
    await killAfter(s, ['restore', good, `r${ms}`], ms);
    const st = s.ok(['status', `r${ms}`]);
    if (/ exist /.test(st)) {
      s.ok(['start', `r${ms}`]);
      s.ok(['exec', `r${ms}`, '--', 'true']);
      s.ok(['stop', '--fast', `r${ms}`]);
    } else {
      s.ok(['restore', good, `r${ms}`]); // rolled back: the next restore of that CTID works
    }
    s.ok(['destroy', `r${ms}`]);
    if (existsSync(join(s.root, 'etc/berth/ct', `v${ms}.conf`))) s.ok(['destroy', `v${ms}`]);
  }
  s.ok(['stop', '--fast', 'k']);
  for (const f of readdirSync(s.root).filter((f) => f.includes('.tmp-'))) {
    t.diagnostic(`left by a killed backup (removed by hand, as an admin would): ${f}`);
  }
  t.diagnostic(`${points} SIGKILL points of backup and restore checked`);
});
