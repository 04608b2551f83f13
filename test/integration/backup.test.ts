// Backup and restore with busybox containers of each layout: refusals that write nothing
// (truncated, corrupted, foreign archives; an existing CTID), --force, a new CTID, SIGKILL
// during backup and restore, and what a full disk or a kill leaves (removed by the next command).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
    assert.equal(statSync(file).mode & 0o777, 0o600, "the archive holds the container's files: root's only");
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
  const backups = join(s.root, 'var/lib/berth/backup');
  const leftovers = () => [
    ...readdirSync(s.root).filter((f) => f.includes('.tmp-')),
    ...(existsSync(backups) ? readdirSync(backups).filter((f) => !f.endsWith('.tar') && f !== '.work') : []),
    // .work itself stays (backups of other containers make their directories in it)
    ...(existsSync(join(backups, '.work')) ? readdirSync(join(backups, '.work')).map((f) => `.work/${f}`) : []),
  ];
  let seen = 0;
  for (const ms of [0, 40, 80, 120, 170, 250]) {
    points += 2;
    // to -o FILE, and to the default directory
    const out = join(s.root, `k${ms}.tar`);
    await killAfter(s, ['backup', 'k', ...(ms % 80 === 0 ? [] : ['-o', out])], ms);
    seen += leftovers().length;
    // the archive is whole or absent
    if (existsSync(out)) s.ok(['restore', out, `v${ms}`]);
    s.ok(['set', 'k', '--description', `after ${ms}`]); // recovery: thawed, leftovers removed
    assert.deepEqual(leftovers(), [], `after a backup killed at ${ms} ms`);
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
  // killed while its tarball is written (work directory), and while the archive is (FILE.tmp-PID)
  s.ok(['exec', 'k', '--', 'dd', 'if=/dev/urandom', 'of=/root/big', 'bs=1M', 'count=60']);
  const work = join(backups, '.work/k');
  for (const [what, out, at] of [
    ['its tarball', join(s.root, 'kw.tar'), () => existsSync(work) && readdirSync(work).length > 0],
    ['the archive', join(s.root, 'ka.tar'), () => readdirSync(s.root).some((f) => f.startsWith('ka.tar.tmp-'))],
  ] as Array<[string, string, () => boolean]>) {
    const child = s.spawn(['backup', 'k', '-o', out]);
    const exited = new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 20_000 && !at(); i++) await new Promise((r) => setTimeout(r, 1));
    assert.ok(at(), `the backup reached ${what}`);
    child.kill('SIGKILL');
    await exited;
    points++;
    seen += leftovers().length;
    assert.ok(leftovers().length > 0 && !existsSync(out), `a backup killed while writing ${what} leaves its work`);
    s.ok(['set', 'k', '--description', `after ${what}`]);
    assert.deepEqual(leftovers(), [], `after a backup killed while writing ${what}`);
    assert.match(s.ok(['status', 'k']), / running$/m, 'thawed');
  }
  s.ok(['stop', '--fast', 'k']);
  t.diagnostic(`${points} SIGKILL points of backup and restore checked; ${seen} leftovers of killed backups removed`);
});

test('a full disk and killed writes leave nothing that the next command or destroy does not remove', {
  skip: ROOT_SKIP,
  timeout: 120_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'f', '--layout', 'dir']);
  const ctDir = join(s.root, 'etc/berth/ct');
  const conf = join(ctDir, 'f.conf');
  const saved = readFileSync(conf, 'utf8');
  const tmps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.includes('.tmp-')) : []);
  // a small full filesystem: the config directory, then a backup's -o directory
  const full = (dir: string, size: string) => {
    mkdirSync(dir, { recursive: true });
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'berth-test-full', dir]).status, 0);
    t.after(() => spawnSync('umount', [dir]));
    return () => {
      for (let i = 0; ; i++) {
        try {
          writeFileSync(join(dir, `filler${i}`), Buffer.alloc(4096));
        } catch {
          return;
        }
      }
    };
  };
  const fillCt = full(ctDir, '64k');
  writeFileSync(conf, saved);
  fillCt();
  const r = s.berth(['set', 'f', '--description', 'x'.repeat(5000), '--save']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /ENOSPC/);
  assert.deepEqual(tmps(ctDir), [], 'no CT.conf.tmp-PID on a full disk');
  assert.equal(readFileSync(conf, 'utf8'), saved);
  assert.equal(spawnSync('umount', [ctDir]).status, 0);
  const small = join(s.root, 'small');
  full(small, '256k')();
  const b = s.berth(['backup', 'f', '-o', join(small, 'f.tar')]);
  assert.notEqual(b.code, 0, 'the archive does not fit');
  assert.deepEqual(tmps(small), [], 'no FILE.tmp-PID beside -o FILE');
  assert.ok(!existsSync(join(s.root, 'var/lib/berth/backup/.work/f')), 'no work directory');
  spawnSync('umount', [small]);

  // what a killed berth (a pid that no longer runs) left, and what a live one is writing
  const dead = spawnSync('true').pid ?? 0;
  const run = join(s.root, 'run/berth/f');
  const work = join(s.root, 'var/lib/berth/backup/.work/f', String(dead));
  const privDir = join(s.root, 'var/lib/berth/private');
  const plant = () => {
    mkdirSync(run, { recursive: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(`${conf}.tmp-${dead}`, 'half');
    writeFileSync(join(run, `thaw-after-copy.tmp-${dead}`), 'half');
    writeFileSync(join(work, 'fs.tar.zst'), Buffer.alloc(1 << 20));
    writeFileSync(join(s.root, `out.tar.tmp-${dead}`), Buffer.alloc(1 << 20));
    writeFileSync(join(work, 'writing'), join(s.root, `out.tar.tmp-${dead}`));
    writeFileSync(join(privDir, `f.switch-to.tmp-${dead}`), 'n1\n'); // a snapshot-switch killed as it began
  };
  plant();
  writeFileSync(`${conf}.tmp-${process.pid}`, 'a live writer'); // this test runs: never removed
  const next = s.berth(['set', 'f', '--description', 'next', '--save']);
  assert.equal(next.code, 0, next.err);
  assert.match(next.err, /removed what an interrupted write left/);
  assert.deepEqual(tmps(ctDir), [`f.conf.tmp-${process.pid}`]);
  assert.deepEqual([...tmps(run), ...tmps(s.root), ...tmps(privDir)], []);
  assert.ok(!existsSync(work));
  rmSync(`${conf}.tmp-${process.pid}`);
  plant();
  s.ok(['destroy', 'f']);
  assert.deepEqual([...tmps(ctDir), ...tmps(s.root), ...tmps(privDir)], []);
  assert.ok(!existsSync(run) && !existsSync(work));
});
