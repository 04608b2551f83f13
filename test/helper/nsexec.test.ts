// berth-nsexec on its own: the contract of helper/PROTOCOL.md (argv, status records, exit codes).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { treeSyncArgs } from '../../src/core/helper-args.ts';
import { anonymousFile, readAll } from '../../src/host/helper.ts';

const HELPER = new URL('../../../helper/berth-nsexec', import.meta.url).pathname;
const ROOT = process.getuid?.() === 0 ? false : 'needs root';

/** Status records on fd 3 go to a file read at the exit, as berth does (src/host/helper.ts). */
function run(args: string[]) {
  const fd = anonymousFile();
  const r = spawnSync(HELPER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd] });
  const status = readAll(fd);
  closeSync(fd);
  return {
    code: r.status,
    err: r.stderr,
    records: status
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

test('bad argv: exit 1 and a usage message, no status record', () => {
  for (const args of [
    ['--frob'],
    ['--rootfs'],
    ['--rootfs', '/x'],
    ['--join', 'abc', '--', 'true'],
    ['--mount', 'proc'],
    // pivot_root in the host's mount namespace, or shared propagation, would reach the host
    ['--unshare', 'pid', '--rootfs', '/', '--', '/bin/true'],
    ['--unshare', 'mnt', '--propagation', 'shared', '--rootfs', '/', '--', '/bin/true'],
  ]) {
    const r = run([...args, '--status-fd', '3']);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^berth-nsexec: usage: /);
  }
});

test('a failing step: exit 2, one status record naming the step and errno', { skip: ROOT }, () => {
  const r = run(['--unshare', 'mnt,pid', '--rootfs', '/nonexistent-berth-root', '--status-fd', '3', '--', '/bin/true']);
  assert.equal(r.code, 2, r.err);
  assert.equal(typeof r.records[0].pid, 'number');
  assert.deepEqual([r.records[1].error, r.records[1].errno], ['mount', 2]);
  assert.match(r.records[1].message, /bind \/nonexistent-berth-root: No such file or directory/);
});

test('a good run: {"pid":N}, then EOF when init is exec\'d; exec failure reports errno', { skip: ROOT }, () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-helper-'));
  try {
    mkdirSync(join(root, 'bin'));
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    const ok = run([
      '--unshare',
      'mnt,pid,uts',
      '--propagation',
      'rslave',
      '--rootfs',
      root,
      '--hostname',
      'h',
      '--status-fd',
      '3',
      '--',
      '/bin/busybox',
      'true',
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.records.length, 1);
    assert.ok(ok.records[0].pid > 1);
    const bad = run(['--unshare', 'mnt,pid', '--rootfs', root, '--status-fd', '3', '--', '/bin/missing']);
    assert.equal(bad.code, 2);
    assert.deepEqual([bad.records[1].error, bad.records[1].errno], ['execve', 2]);
    // a value the child cannot use (a block of over 60000 bytes) is a failed step, reported as
    // such: the parent never takes the child's exit for a running init
    const block = `# begin\n${'x'.repeat(70000)}\n# end\n`;
    const big = run([
      '--unshare',
      'mnt,pid',
      '--rootfs',
      root,
      '--block',
      '/etc/hosts',
      block,
      '--status-fd',
      '3',
      '--',
      '/bin/busybox',
      'true',
    ]);
    assert.equal(big.code, 2, big.err);
    assert.equal(big.records[1].error, 'usage');
    assert.match(big.records[1].message, /--block content/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('lock mode: held for the watched pid, refused to a second taker with EWOULDBLOCK, freed when it dies', {
  skip: ROOT,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  try {
    const file = join(dir, 'x.lck');
    const owner = spawn('sleep', ['30']);
    const first = run(['--lock', file, '--watch-pid', String(owner.pid), '--status-fd', '3']);
    assert.equal(first.code, 0);
    assert.equal(first.records[0].locked, true);
    const second = run(['--lock', file, '--watch-pid', String(process.pid), '--status-fd', '3']);
    assert.deepEqual([second.records[0].error, second.records[0].errno], ['lock', 11]);
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    await new Promise((r) => setTimeout(r, 100));
    const third = run(['--lock', file, '--watch-pid', String(process.pid), '--status-fd', '3']);
    assert.equal(third.records[0].locked, true, 'the lock died with its owner');
    process.kill(third.records[0].pid, 'SIGKILL');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inherited fds never reach init: only its stdio (/dev/null without a console)', { skip: ROOT }, () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-helper-'));
  try {
    mkdirSync(join(root, 'bin'));
    copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
    // fds 5 and 6 stand for what berth's caller left open (a directory of the host, say)
    const args = ['--unshare', 'mnt,pid', '--rootfs', root, '--mount', 'proc', 'proc', '/proc', 'nosuid'];
    const cmd = ['/bin/busybox', 'sh', '-c', 'exec /bin/busybox ls -l /proc/self/fd > /fds'];
    const r = spawnSync(HELPER, [...args, '--status-fd', '3', '--', ...cmd], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ignore', openSync('/', 'r'), openSync('/', 'r')],
    });
    assert.equal(r.status, 0, r.stderr);
    // init runs on after the helper returns: wait for ls to finish its last line (fd 3)
    const done = () =>
      existsSync(join(root, 'fds')) && / 3(?: -> .*)?\n$/.test(readFileSync(join(root, 'fds'), 'utf8'));
    for (let i = 0; i < 250 && !done(); i++) spawnSync('sleep', ['0.02']);
    const fds = readFileSync(join(root, 'fds'), 'utf8');
    // 0 and 2 the host's /dev/null (the container's path: /null), 1 the file, 3 ls's own
    const listed = [...fds.matchAll(/:\d\d (\d+)(?: -> (.*))?$/gm)].map((m) => `${m[1]} ${m[2] ?? ''}`);
    assert.deepEqual(listed, ['0 /null', '1 /fds', '2 /null', '3 '], fds);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--tree-sync: after a first rsync pass, the copy equals the tree (rsync --checksum finds nothing)', {
  skip: ROOT,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-treesync-'));
  try {
    const sh = (script: string) => {
      const r = spawnSync('sh', ['-ec', script], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    sh(`mkdir -p s/d1/d2 s/mv/sub s/gone; echo a > s/a; echo b > s/d1/b; ln s/a s/alink; ln s/d1/b s/blink
      ln -s a s/sym; truncate -s 10M s/sparse; echo x | dd of=s/sparse bs=1 seek=5000000 conv=notrunc 2>/dev/null
      mkfifo s/fifo; echo m > s/mv/sub/f; setfattr -n user.k -v v1 s/a; chown 1000:1000 s/d1/b; chmod 4755 s/d1/b
      echo g > s/gone/g; echo same > s/same; rsync -aHAXS --numeric-ids s/ c/`);
    const since = (BigInt(Date.now()) - 100n) * 1_000_000n;
    // every kind of change a running container makes, one with its mtime set back
    sh(`echo new > s/new; echo A > s/a; setfattr -n user.k -v v2 s/a; setfattr -n user.n -v z s/d1/b
      chmod 700 s/d1; mv s/mv/sub s/moved; rm -rf s/gone; rm s/sym; ln -s d1 s/sym
      m=$(stat -c %Y s/same); echo SAME > s/same; touch -d @$m s/same; mkdir s/newdir; echo n > s/newdir/n
      rm s/fifo; mkdir s/fifo; echo r > s/tmp; mv s/tmp s/blink`);
    const r = run(treeSyncArgs(join(dir, 's'), join(dir, 'c'), since));
    assert.equal(r.code, 0, r.err);
    assert.equal(sh('rsync -nciaHAXS --numeric-ids --delete s/ c/'), '', 'rsync sees no difference');
    const meta = (d: string) => sh(`cd ${d} && find . -printf '%p %m %U %G %s %y %l %n\\n' | sort`);
    assert.equal(meta('c'), meta('s'));
    assert.equal(readFileSync(join(dir, 'c/same'), 'utf8'), 'SAME\n', 'a change with its mtime set back');
    // a bad --since is refused before anything is read
    assert.equal(run(['--tree-sync', join(dir, 's'), join(dir, 'c'), '--since', '12.5']).code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--run-hooks: every poststop hook in order with the state on stdin, a failure a warning, exit 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hooks-'));
  try {
    const out = join(dir, 'out');
    const sh = (script: string) => ['--hook', 'poststop', '0', '3', '0', '/bin/sh', 'sh', '-c', script];
    const r = run([
      '--status-fd',
      '3',
      '--hook-state',
      '{"ociVersion":"1.1.0","id":"c1"',
      ...sh(`echo first >> ${out}; echo bad >&2; exit 9`),
      ...sh(`cat >> ${out}`),
      '--run-hooks',
      'poststop',
      'stopped',
      '42',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      readFileSync(out, 'utf8'),
      'first\n{"ociVersion":"1.1.0","id":"c1","status":"stopped","pid":42}',
      'both ran, in order',
    );
    assert.deepEqual(r.records, [{ warning: 'hook', errno: 0, message: 'poststop hook /bin/sh: exit 9: bad' }]);
    // only the kinds run after the container is built, and only hooks of the kind asked for
    for (const args of [
      [...sh('true'), '--run-hooks', 'prestart', 'creating', '1'],
      [...sh('true'), '--run-hooks', 'poststart', 'running', '1'],
      [...sh('true'), '--run-hooks', 'poststop', 'stop"ped', '1'],
      [...sh('true'), '--run-hooks', 'poststop', 'stopped', '1', '--', '/bin/true'],
    ]) {
      const bad = run(['--status-fd', '3', ...args]);
      assert.equal(bad.code, 1, `${args.join(' ')}: ${bad.err}`);
      assert.match(bad.err, /^berth-nsexec: usage: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
