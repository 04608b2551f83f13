// berth console: an admin's terminal on a container's console through its keeper: output and
// keystrokes both ways, window size, detach keys, one admin at a time, attaches in turn, the
// terminal restored, and a debian-12 boot's messages and getty prompt.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DEBIAN_SKIP, useDebian } from './debian-cache.ts';
import { BERTH, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';

const PY = spawnSync('python3', ['--version']).status === 0;
const skip = ROOT_SKIP || (PY ? false : 'needs python3 for a terminal');

/**
 * A terminal of 30x100 for argv (python3's pty): what we write to the driver's stdin is typed,
 * what the terminal shows comes out: first a line "@@ pid=N" (argv's), at its exit a line
 * "@@ rc=N restored=1|0" (whether the terminal's modes are what they were before).
 */
const DRIVER = `
import fcntl, os, pty, select, struct, sys, termios, time
m, s = pty.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
before = termios.tcgetattr(s)
pid = os.fork()
if pid == 0:
    os.setsid(); fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for k in range(3): os.dup2(s, k)
    os.close(m); os.execvp(sys.argv[1], sys.argv[1:])
print('@@ pid=%d' % pid, flush=True)
# never blocked writing while berth writes to us (a terminal takes both ways at once)
os.set_blocking(m, False)
inp, rc, typed = True, None, b''
while rc is None:
    r, w, _ = select.select([m] + ([0] if inp and len(typed) < 65536 else []), [m] if typed else [], [], 0.05)
    if m in r:
        try: os.write(1, os.read(m, 65536))
        except BlockingIOError: pass
    if m in w:
        try: typed = typed[os.write(m, typed):]
        except BlockingIOError: pass
    if 0 in r:
        b = os.read(0, 65536)
        if b: typed += b
        else: inp = False
    p, st = os.waitpid(pid, os.WNOHANG)
    if p: rc = os.waitstatus_to_exitcode(st)
try:
    while True: os.write(1, os.read(m, 65536))
except OSError: pass
print('\\n@@ rc=%d restored=%d' % (rc, termios.tcgetattr(s) == before), flush=True)
`;

interface Term {
  child: ChildProcess;
  shown: () => string;
  type: (s: string) => void;
  /** waits until the terminal has shown text matching re */
  see: (re: RegExp, what?: string, ms?: number) => Promise<void>;
  /** waits for the end; returns berth's exit code and whether the terminal's modes came back */
  done: () => Promise<{ rc: number; restored: boolean }>;
}

/** Opens `berth ARGS` on terminals of their own, each killed when the test ends. */
function terminals(t: TestContext, s: Sandbox): (args: string[]) => Term {
  const open: ChildProcess[] = [];
  t.after(() => {
    for (const c of open) c.kill('SIGKILL');
  });
  return (args) => {
    const term = onTerm(s, args);
    open.push(term.child);
    return term;
  };
}

function onTerm(s: Sandbox, args: string[]): Term {
  const child = spawn('python3', ['-c', DRIVER, BERTH, '--root', s.root, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const t: Term = {
    child,
    shown: () => out,
    type: (x) => child.stdin?.write(x),
    see: (re, what = String(re), ms = 10_000) =>
      waitFor(`the terminal to show ${what}; it shows:\n${JSON.stringify(out.slice(-600))}`, () => re.test(out), ms),
    done: async () => {
      await t.see(/@@ rc=\d+ restored=\d/, 'the end of berth console');
      await exited;
      const m = /@@ rc=(\d+) restored=(\d)/.exec(out) as RegExpExecArray;
      return { rc: Number(m[1]), restored: m[2] === '1' };
    },
  };
  return t;
}

test('console: output and input both ways, window size, detach keys, one admin at a time, attaches in turn', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const s = sandbox(t);
  const term = terminals(t, s);
  s.ok(['create', 'con', '--ostemplate', 'busybox']);
  const stopped = s.berth(['console', 'con'], { input: '' });
  assert.equal(stopped.code, 31, stopped.err);
  assert.match(stopped.err, /berth: console con: container is not running/);
  s.ok(['start', 'con']);

  const a = term(['console', 'con']);
  await a.see(/Attached to the console of container con \(Esc \. to detach\)/);
  // what the container writes to its console reaches the admin
  s.ok(['exec', 'con', '--', 'sh', '-c', 'echo hi-from-the-container > /dev/console']);
  await a.see(/hi-from-the-container/);
  // the admin's terminal size, forwarded to the console
  assert.equal(s.ok(['exec', 'con', '--', 'stty', '-F', '/dev/console', 'size']).trim(), '30 100');
  // what the admin types reaches a reader on the console inside
  s.ok(['exec', 'con', '--', 'sh', '-c', '(read l </dev/console; echo "got:$l" >/tmp/got) >/dev/null 2>&1 &']);
  a.type('typed-by-the-admin\r');
  await waitFor('the line typed to reach the container', () =>
    s.berth(['exec', 'con', '--', 'cat', '/tmp/got']).out.includes('got:typed-by-the-admin'),
  );

  // a second admin at the same time is refused, with the first one's pid
  const second = s.berth(['console', 'con'], { input: '' });
  assert.equal(second.code, 9, second.err);
  assert.match(second.err, /berth: console con: already attached \(berth console, pid \d+\)/);
  assert.match(second.err, /hint: one admin at a time/);

  // Esc then "." detaches (Esc followed by another key was sent as typed: an arrow key)
  a.type('\x1b[A');
  a.type('\x1b.');
  const endA = await a.done();
  assert.deepEqual(endA, { rc: 0, restored: true });
  assert.match(a.shown(), /detached from the console of container con/);
  assert.match(s.ok(['status', 'con']), /running/);

  // attach again, with another detach key; the container's output reaches the new admin
  const b = term(['console', '-e', '^a', 'con']);
  await b.see(/\(\^A \. to detach\)/);
  s.ok(['exec', 'con', '--', 'sh', '-c', 'echo second-attach > /dev/console']);
  await b.see(/second-attach/);
  b.type('\x1b.'); // not the key any more: sent as typed
  b.type('\x01.');
  assert.deepEqual(await b.done(), { rc: 0, restored: true });
  assert.equal(s.berth(['console', '-e', '.', 'con'], { input: '' }).code, 21);

  // without a terminal: a byte pipe until stdin ends
  s.ok(['exec', 'con', '--', 'sh', '-c', '(read l </dev/console; echo "pipe:$l" >/tmp/pipe) >/dev/null 2>&1 &']);
  const piped = s.berth(['console', 'con'], { input: 'through-a-pipe\n' });
  assert.equal(piped.code, 0, piped.err);
  await waitFor('the piped line to reach the container', () =>
    s.berth(['exec', 'con', '--', 'cat', '/tmp/pipe']).out.includes('through-a-pipe'),
  );

  // a signal to the attach (the helper under berth) restores the terminal too
  const d = term(['console', 'con']);
  await d.see(/Attached/);
  const berthPid = (/@@ pid=(\d+)/.exec(d.shown()) as RegExpExecArray)[1] as string;
  const helper = spawnSync('pgrep', ['-P', berthPid], { encoding: 'utf8' }).stdout.trim();
  assert.match(helper, /^\d+$/);
  // the admin's terminal stays with that helper: neither the keeper nor init holds it
  const fileId = (p: string) => {
    const st = statSync(p);
    return `${st.dev}:${st.ino}`;
  };
  const adminTty = fileId(`/proc/${helper}/fd/0`);
  const state = JSON.parse(readFileSync(join(s.root, 'run/berth/con/state.json'), 'utf8'));
  for (const pid of [state.keeper.pid, state.pid]) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) assert.notEqual(fileId(`/proc/${pid}/fd/${fd}`), adminTty);
  }
  process.kill(Number(helper), 'SIGTERM');
  assert.deepEqual(await d.done(), { rc: 0, restored: true });

  // a flood of keys nobody inside reads: the detach keys still work
  const e = term(['console', 'con']);
  await e.see(/Attached/);
  e.type('x'.repeat(400_000));
  e.type('\x1b.');
  assert.deepEqual(await e.done(), { rc: 0, restored: true });
  assert.match(s.ok(['status', 'con']), /running/);

  // attached while the container stops: its last words, then berth says so and exits 0
  const c = term(['console', 'con']);
  await c.see(/Attached/);
  s.ok(['stop', 'con']);
  assert.deepEqual(await c.done(), { rc: 0, restored: true });
  assert.match(c.shown(), /is going down/);
  assert.match(c.shown(), /container con stopped/);
  // the log has had it all
  const log = readFileSync(join(s.root, 'var/log/berth/con.console.log'), 'utf8');
  for (const w of ['hi-from-the-container', 'second-attach', 'is going down']) assert.ok(log.includes(w), w);
});

test('console: a debian-12 boot shows systemd messages and a getty login prompt', {
  skip: DEBIAN_SKIP || skip,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  const term = terminals(t, s);
  useDebian(s);
  s.ok(['create', 'dcon', '--ostemplate', 'debian-12', '--hostname', 'deb-console']);
  s.ok(['start', 'dcon']);
  s.ok(['set', 'dcon', '--userpasswd', 'root:console-pw']);
  const a = term(['console', 'dcon']);
  await a.see(/Attached/);
  const log = join(s.root, 'var/log/berth/dcon.console.log');
  // systemd's boot messages, on the console (in the log, as they came before the attach)
  await waitFor(
    'systemd to reach its getty',
    () => /Reached target.*Login Prompts|Started.*Console Getty/.test(readFileSync(log, 'utf8')),
    90_000,
  );
  assert.match(readFileSync(log, 'utf8'), /Welcome to .*Debian/);
  // Enter: the getty prompts again, on this terminal; root logs in and runs a command
  a.type('\r');
  await a.see(/deb-console login: /, 'a login prompt', 30_000);
  a.type('root\r');
  await a.see(/Password: /);
  a.type('console-pw\r');
  await a.see(/root@deb-console:~# /, 'a root shell', 30_000);
  a.type('touch /root/via-console; exit\r');
  await waitFor('the command typed on the console to run', () =>
    s.berth(['exec', 'dcon', '--', 'ls', '/root']).out.includes('via-console'),
  );
  a.type('\x1b.');
  assert.deepEqual(await a.done(), { rc: 0, restored: true });
});
