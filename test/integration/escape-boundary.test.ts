// The boundary between a container and the admin who runs berth: the caller's fds and terminal
// never cross (CVE-2024-21626, TIOCSTI), the helper binary is never reachable from a privileged
// container (CVE-2019-5736), the console log is bounded, sysinfo(2) tells the container's
// figures, and a hostile /etc/hostname or a dead init cannot hang or fake a start. Each check
// looks at the host side: a file that the injected keystrokes would create, the fds of host
// processes, the cgroup's own limit, the log's size on disk.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  BERTH,
  GCC_SKIP,
  onTerminal,
  REPO,
  ROOT_SKIP,
  type Sandbox,
  sandbox,
  staticProgram,
  TERMINAL_SKIP,
  waitFor,
} from './harness.ts';

const PROBE_SRC = join(REPO, 'test/escape/boundary.c');
const HELPER = join(REPO, 'helper/berth-nsexec');

const skip = ROOT_SKIP || GCC_SKIP || TERMINAL_SKIP;

function probeIn(t: TestContext, s: Sandbox, ...cts: string[]): void {
  const out = staticProgram(t, s, 'boundary', { file: PROBE_SRC });
  if (out) for (const ct of cts) s.copyIn(ct, out, '/bnd');
}

const initPid = (s: Sandbox, ct: string) => JSON.parse(s.ok(['status', ct, '--json'])).pid as number;

/** Host pids of the container's processes whose command line is argv. */
function pidsRunning(s: Sandbox, ct: string, argv: string[]): number[] {
  const want = `${argv.join('\0')}\0`;
  const procs = readFileSync(join(s.layoutPath('pids', ct), 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const walk = (dir: string): string[] => [
    ...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean),
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => walk(join(dir, e.name))),
  ];
  return [...new Set([...procs, ...walk(s.layoutPath('pids', ct))])].map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8') === want;
    } catch {
      return false;
    }
  });
}

/** What a host process's fds point at, as `fd -> target`. */
function fdsOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
    } catch {
      return `${fd} -> ?`;
    }
  });
}

test('exec, start and restart never hand the caller fds or terminal to the container', { skip }, async (t) => {
  const s = sandbox(t);
  const table: string[] = [];
  for (const [ct, privileged] of [
    ['b-u', 'no'],
    ['b-p', 'yes'],
  ] as const) {
    s.ok(['create', ct, '--privileged', privileged]);
    s.ok(['start', ct]);
    probeIn(t, s, ct);
    const mode = privileged === 'yes' ? 'privileged' : 'unprivileged';

    // fds: a shell's open directory (fd 200) and file (fd 201) stay with the shell
    const shellFds = `exec 200</ 201>>${join(s.root, 'fd201')};`;
    const bg: ChildProcess = spawn(
      'bash',
      ['-c', `${shellFds} exec ${BERTH} --root ${s.root} exec ${ct} -- sleep 30`],
      {
        stdio: 'ignore',
      },
    );
    t.after(() => bg.kill('SIGKILL'));
    await waitFor('the exec to run', () => pidsRunning(s, ct, ['sleep', '30']).length > 0);
    const [sleeper = 0] = pidsRunning(s, ct, ['sleep', '30']);
    const execFds = fdsOf(sleeper);
    assert.deepEqual(
      execFds.map((l) => l.split(' -> ')[0]).sort(),
      ['0', '1', '2'],
      `${mode}: exec'd command has only its stdio: ${execFds}`,
    );
    for (const l of execFds) assert.match(l, / -> pipe:\[\d+\]$/, `${mode}: stdio are the helper's pipes: ${l}`);
    // no inheritable capabilities: a file's +i bits grant nothing (runc CVE-2022-29162)
    assert.match(readFileSync(`/proc/${sleeper}/status`, 'utf8'), /^CapInh:\s+0+$/m, `${mode}: exec's CapInh`);
    bg.kill('SIGTERM');
    s.ok(['exec', ct, '--', 'sh', '-c', 'kill $(pidof sleep) 2>/dev/null; true']);

    const r = spawnSync('bash', ['-c', `${shellFds} exec ${BERTH} --root ${s.root} restart ${ct}`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const init = initPid(s, ct);
    const initFds = fdsOf(init);
    assert.match(readFileSync(`/proc/${init}/status`, 'utf8'), /^CapInh:\s+0+$/m, `${mode}: init's CapInh`);
    assert.deepEqual(initFds.map((l) => l.split(' -> ')[0]).sort(), ['0', '1', '2'], `${mode}: init: ${initFds}`);
    const keeper = JSON.parse(readFileSync(join(s.root, 'run/berth', ct, 'state.json'), 'utf8')).keeper.pid as number;
    for (const l of [...initFds, ...fdsOf(keeper)]) {
      assert.doesNotMatch(l, / -> \/$|fd201/, `${mode}: init and its keeper hold nothing of the shell's: ${l}`);
    }
    table.push(`${mode}  fds of exec and restart  blocked: only stdio (pipes, the console pty)`);

    // TIOCSTI: keystrokes pushed into the command's terminal never reach the admin's shell,
    // neither at once, with -T (pipes from a terminal), nor from a process left behind
    const pwned = join(s.root, `pwned-${ct}`);
    const push = { STI: `touch ${pwned}\n` };
    const berth = `${BERTH} --root ${s.root} exec`;
    for (const [how, cmd] of [
      ['pty', `${berth} ${ct} -- /bnd sti "$STI"; read -t 1 L; echo "GOT=$L"`],
      ['-T', `${berth} -T ${ct} -- /bnd sti "$STI"; read -t 1 L; echo "GOT=$L"`],
      ['left behind, pty', `${berth} ${ct} -- /bnd sti "$STI" 1; sleep 2; read -t 1 L; echo "GOT=$L"`],
      ['left behind, -T', `${berth} -T ${ct} -- /bnd sti "$STI" 1; sleep 2; read -t 1 L; echo "GOT=$L"`],
    ] as const) {
      const shown = onTerminal(cmd, push);
      await new Promise((done) => setTimeout(done, 200));
      assert.ok(!existsSync(pwned), `${mode} ${how}: the admin's shell ran the pushed command:\n${shown}`);
      assert.match(shown, /GOT=\r?$/m, `${mode} ${how}: nothing reached the shell's input:\n${shown}`);
      table.push(
        `${mode}  TIOCSTI (${how})  blocked: ${shown.includes('pushed') ? 'into its own pty only' : 'refused'}`,
      );
    }
  }
  for (const row of table) t.diagnostic(row);
});

test('a privileged container never reaches the helper binary through /proc/PID/exe', { skip }, async (t) => {
  const s = sandbox(t);
  const before = createHash('sha256').update(readFileSync(HELPER)).digest('hex');
  const st = statSync(HELPER);
  for (const [ct, privileged] of [
    ['x-p', 'yes'],
    ['x-u', 'no'],
  ] as const) {
    s.ok(['create', ct, '--privileged', privileged]);
    s.ok(['start', ct]);
    probeIn(t, s, ct);
    // the watcher looks at every new process while berth execs into the container
    const watcher = spawn(BERTH, [
      '--root',
      s.root,
      'exec',
      ct,
      '--',
      '/bnd',
      'exe',
      String(st.dev),
      String(st.ino),
      '3',
    ]);
    let seen = '';
    watcher.stdout?.on('data', (d) => {
      seen += String(d);
    });
    const done = new Promise((r) => watcher.on('close', r));
    for (let i = 0; i < 10; i++) s.ok(['exec', ct, '--', 'true']);
    await done;
    assert.match(seen, /exe watch done: none/, `${ct}: the helper binary was reachable:\n${seen}`);
    t.diagnostic(`${privileged === 'yes' ? 'privileged' : 'unprivileged'}  /proc/PID/exe of the helper  blocked`);
  }
  assert.equal(createHash('sha256').update(readFileSync(HELPER)).digest('hex'), before, 'the helper is unchanged');
});

test('sysinfo(2) tells the container its own memory, processes and uptime', { skip }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', 'si', '--privileged', 'no']);
  s.ok(['set', 'si', '--ram', '256M', '--swap', '0', '--save']);
  // init's own filter too: busybox init runs this at boot and it lands in the console log
  s.ok(['start', 'si']);
  probeIn(t, s, 'si');
  s.ok(['exec', 'si', '--', 'sh', '-c', 'echo "::sysinit:/bnd sysinfo" >> /etc/inittab']);
  s.ok(['restart', 'si']);
  const limit = Number(readFileSync(join(s.layoutPath('memory', 'si'), 'memory.limit_in_bytes'), 'utf8'));
  assert.equal(limit, 256 * 1024 * 1024);
  const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const check = (line: string | undefined, who: string) => {
    const [, total = '', swap = '', , procs = '', uptime = ''] = (line ?? '').split(' ');
    assert.equal(Number(total), limit, `${who}: totalram is the cgroup's limit: ${line}`);
    assert.equal(Number(swap), 0, `${who}: no swap with --swap 0: ${line}`);
    assert.ok(Number(procs) >= 1 && Number(procs) < 50, `${who}: procs counts the container's tasks: ${line}`);
    assert.ok(Number(uptime) < Math.min(60, hostUptime - 1), `${who}: uptime is the container's: ${line}`);
  };
  const log = join(s.root, 'var/log/berth/si.console.log');
  await waitFor('init to run the probe', () => /^native /m.test(readFileSync(log, 'utf8')));
  check(/^native .*$/m.exec(readFileSync(log, 'utf8'))?.[0]?.trim(), 'a child of init');
  const out = s.ok(['exec', 'si', '--', '/bnd', 'sysinfo']);
  check(/^native .*$/m.exec(out)?.[0], 'an exec');
  const i386 = /^i386 .*$/m.exec(out)?.[0] ?? '';
  if (i386 === 'i386 unavailable') t.diagnostic('the i386 entry (int $0x80) is refused by this kernel: not checked');
  else check(i386, 'the i386 entry');
  assert.match(s.ok(['exec', 'si', '--', 'free']), /Mem:\s+262144\s/, "busybox free shows the container's RAM");

  // SYSINFO="no": the kernel's answer, the host's
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'SYSINFO="no"\n', { flag: 'a' });
  s.ok(['restart', 'si']);
  const host = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
  const plain = /^native (\d+)/m.exec(s.ok(['exec', 'si', '--', '/bnd', 'sysinfo']))?.[1];
  assert.equal(Number(plain), host, 'SYSINFO="no" leaves sysinfo to the kernel');
});

test('the console log is bounded: the oldest output goes', { skip }, async (t) => {
  const s = sandbox(t);
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'CONSOLE_LOG_SIZE="64K"\n', { flag: 'a' });
  s.ok(['create', 'con']);
  s.ok(['start', 'con']);
  s.ok([
    'exec',
    'con',
    '--',
    'sh',
    '-c',
    'dd if=/dev/zero of=/dev/console bs=64k count=64 conv=notrunc 2>/dev/null; echo LAST-WORDS >> /dev/console',
  ]);
  const log = join(s.root, 'var/log/berth/con.console.log');
  await waitFor('the keeper to write the last words', () => readFileSync(log, 'utf8').includes('LAST-WORDS'));
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  const total = size(log) + size(`${log}.1`);
  assert.ok(total <= 64 * 1024, `log and its older half hold at most 64K: ${total}`);
  t.diagnostic(`4 MiB written to the console; the log holds ${total} bytes`);
  s.ok(['stop', 'con']);
});

test('a fifo at /etc/hostname fails the start at once, cleanly', { skip }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', 'h', '--layout', 'dir']);
  const priv = join(s.root, 'var/lib/berth/private/h');
  rmSync(join(priv, 'etc/hostname'), { force: true });
  assert.equal(spawnSync('mkfifo', [join(priv, 'etc/hostname')]).status, 0);
  const t0 = Date.now();
  const r = s.berth(['start', 'h'], { timeoutMs: 30_000 });
  assert.equal(r.code, 7, `a fifo at /etc/hostname fails the start: ${r.err}`);
  assert.match(r.err, /\/etc\/hostname is not a regular file/);
  assert.ok(Date.now() - t0 < 20_000, 'and does not hang');
  assert.match(s.ok(['status', 'h']), / down/);
  assert.ok(!existsSync(s.layoutPath('pids', 'h')), 'its cgroups are gone');
  rmSync(join(priv, 'etc/hostname'));
  s.ok(['start', 'h']);
  assert.equal(readFileSync(join(priv, 'etc/hostname'), 'utf8'), 'h\n');
});

test("device nodes in a container's own files never open as devices (its root is nodev)", { skip }, async (t) => {
  const s = sandbox(t);
  // a host block device with known content: a loop device over a canary file
  const canary = join(s.root, 'canary.img');
  writeFileSync(canary, Buffer.alloc(1 << 20, 'BERTH-CANARY-'));
  const attach = spawnSync('losetup', ['-f', '--show', canary], { encoding: 'utf8' });
  if (attach.status !== 0) {
    t.skip(`losetup: ${attach.stderr.trim()}`);
    return;
  }
  const loop = attach.stdout.trim();
  try {
    checkNodes(t, s, loop, canary);
  } finally {
    spawnSync('losetup', ['-d', loop]); // before the sandbox's leak check
  }
});

function checkNodes(t: TestContext, s: Sandbox, loop: string, canary: string): void {
  const rdev = statSync(loop).rdev;
  const [major, minor] = [Math.floor(rdev / 256) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)];
  const before = createHash('sha256').update(readFileSync(canary)).digest('hex');
  for (const [ct, privileged] of [
    ['n-u', 'no'],
    ['n-p', 'yes'],
  ] as const) {
    s.ok(['create', ct, '--layout', 'dir', '--privileged', privileged]);
    // planted in its files as a template or an archive could carry it
    const node = join(s.root, 'var/lib/berth/private', ct, 'canary-node');
    assert.equal(spawnSync('mknod', ['-m', '666', node, 'b', String(major), String(minor)]).status, 0);
    s.ok(['start', ct]);
    const read = s.berth(['exec', ct, '--', 'dd', 'if=/canary-node', 'bs=512', 'count=1']);
    assert.doesNotMatch(read.out, /BERTH-CANARY/, `${ct}: the host device was read through the planted node`);
    s.berth(['exec', ct, '--', 'sh', '-c', 'echo X | dd of=/canary-node conv=notrunc']);
    t.diagnostic(
      `${privileged === 'yes' ? 'privileged' : 'unprivileged'}  planted block device node  blocked: ${read.err.trim().split('\n')[0]}`,
    );
    s.ok(['stop', '--fast', ct]);
  }
  assert.equal(createHash('sha256').update(readFileSync(canary)).digest('hex'), before, 'the device is unchanged');
}
