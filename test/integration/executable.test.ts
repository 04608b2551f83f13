// The shipped bin/berth is one executable (bun build --compile): it runs where no node is
// reachable, and what Bun does differently from Node (signals, exit codes, a terminal) holds.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, REPO, ROOT_SKIP, sandbox } from './harness.ts';

test('bin/berth is a compiled executable, not a script', () => {
  const fd = openSync(BERTH, 'r');
  const head = Buffer.alloc(4);
  readSync(fd, head, 0, 4, 0);
  closeSync(fd);
  assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46], 'ELF magic (build it with `npm run compile`)');
});

test('a bunfig.toml or .env in the working directory changes nothing (Bun would load them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cwd-'));
  try {
    const marker = join(dir, 'preloaded');
    writeFileSync(join(dir, 'evil.js'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');`);
    writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./evil.js"]\n');
    writeFileSync(join(dir, '.env'), 'BERTH_TRACE=1\n');
    const r = spawnSync(BERTH, ['version'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(marker), false, "bunfig.toml's preload ran");
    assert.doesNotMatch(r.stderr, /berth-trace/, '.env set BERTH_TRACE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with no node reachable: version, list, and a container end to end', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  // a mount namespace of its own (slave: nothing goes back to the host) where every node
  // binary is /dev/null; the whole run stays in it, since start's host mounts live there
  const nodes = [
    ...new Set([process.execPath, spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim()]),
  ]
    .filter(Boolean)
    .map((n) => realpathSync(n));
  const script = `set -e
for n in ${nodes.join(' ')}; do mount --bind /dev/null "$n"; done
if node -e 0 2>/dev/null; then echo "node still runs"; exit 99; fi
b() { "${BERTH}" --root "${s.root}" "$@"; }
b version
b create 301
b start 301
b exec 301 -- echo "inside $(echo up)"
b list -H -o ctid,status
b stop 301
b destroy 301
b list -a -H`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'slave', 'sh', '-c', script], {
    encoding: 'utf8',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^berth \d+\.\d+\.\d+\n/);
  assert.match(r.stdout, /^inside up$/m);
  assert.match(r.stdout, /^\s*301 running$/m);
});

test('exec: ^C reaches the command, berth waits for it and passes on its status', { skip: ROOT_SKIP }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '302']);
  s.ok(['start', '302']);
  // the terminal's ^C goes to the whole foreground group: berth, the helper, and (through it) CMD
  const child = spawn(
    BERTH,
    ['--root', s.root, 'exec', '302', '--', 'sh', '-c', 'trap "echo got INT; exit 5" INT; echo ready; sleep 20 & wait'],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((r) =>
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) r();
    }),
  );
  process.kill(-(child.pid as number), 'SIGINT');
  assert.equal(await exited, 5, out);
  assert.match(out, /got INT/);
  // a command killed by a signal: 128 + its number, as from a shell
  assert.equal(s.berth(['exec', '302', '--', 'sh', '-c', 'kill -TERM $$']).code, 143);
  assert.equal(s.berth(['exec', '302', '--', 'sh', '-c', 'exit 7']).code, 7);
  assert.equal(s.berth(['exec', '302', '--', 'cat'], { input: 'through stdin\n' }).out, 'through stdin\n');
});

test('exec -t: the command gets a terminal of the container and its exit status', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  s.ok(['create', '303']);
  s.ok(['start', '303']);
  // util-linux script(1) gives berth a pty
  const r = spawnSync('script', ['-qec', `${BERTH} --root ${s.root} exec -t 303 -- sh -c 'tty; exit 4'`, '/dev/null'], {
    cwd: REPO,
    input: '',
    encoding: 'utf8',
    timeout: 20_000,
  });
  // the console has a devpts of its own: the command gets the first pty of /dev/pts
  assert.match(r.stdout, /\/dev\/pts\/0\b/, r.stdout + r.stderr);
  assert.equal(r.status, 4);
});
