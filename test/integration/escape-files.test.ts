// A container's files on the host, tried as an unprivileged host user (nobody): the private
// area, the running root, the template layers and cache, snapshots and their views, backups
// (done and in progress), the console log, berth's state, and the view of `berth mount`. The
// container plants a setuid-root program (built here with gcc -static) that creates a file only
// euid 0 can create; the host checks that every path is refused (EACCES) and that the file never
// appears, in every layout, while setuid programs still work inside the container.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, GCC_SKIP, mountOptions, ROOT_SKIP, Sandbox, sandbox, staticProgram, waitFor } from './harness.ts';

const NOBODY = 65534;

// prints its euid; with a path, creates that file (only euid 0 can: the test's canary directory
// is root's); with "as UID PROG", drops to UID and execs PROG (a setuid test inside a container)
const PROBE_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 3 && strcmp(argv[1], "as") == 0) {
    unsigned u = (unsigned)atoi(argv[2]);
    if (setgroups(0, NULL) || setresgid(u, u, u) || setresuid(u, u, u)) { perror("drop"); return 126; }
    execv(argv[3], argv + 3);
    perror("execv");
    return 127;
  }
  printf("euid %u\\n", (unsigned)geteuid());
  if (argc > 1) {
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) printf("created %s\\n", argv[1]);
  }
  return 0;
}
`;

// run as nobody: each [op, path] attempt, with the error code or what an exec printed
const ATTEMPT_JS = `
const fs = require('node:fs'), cp = require('node:child_process');
const [list, canary] = JSON.parse(process.argv[1]);
const out = list.map(([op, p]) => {
  try {
    if (op === 'exec') {
      const r = cp.spawnSync(p, [canary], { encoding: 'utf8' });
      if (r.error) throw r.error;
      return [op, p, 'ran', r.stdout.trim()];
    }
    if (op === 'list') fs.readdirSync(p);
    else fs.closeSync(fs.openSync(p, 'r'));
    return [op, p, 'ok', ''];
  } catch (e) {
    return [op, p, e.code || String(e), ''];
  }
});
process.stdout.write(JSON.stringify(out));
`;

type Attempt = [op: 'exec' | 'list' | 'read', path: string];
type Outcome = [op: string, path: string, result: string, output: string];

function asNobody(attempts: Attempt[], canary: string): Outcome[] {
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      '--',
      process.execPath,
      '-e',
      ATTEMPT_JS,
      JSON.stringify([attempts, canary]),
    ],
    { encoding: 'utf8', cwd: '/' },
  );
  assert.equal(r.status, 0, `the attempts ran as nobody: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome[];
}

const skip =
  ROOT_SKIP || GCC_SKIP || (spawnSync('setpriv', ['--version']).status !== 0 ? 'needs setpriv (util-linux)' : false);

const plant = (s: Sandbox, ct: string, probe: string) => s.copyIn(ct, probe, '/x', '4755');

/** setuid programs still work inside: an ordinary user running /x is root there. */
function assertSetuidInside(s: Sandbox, ct: string, when: string): void {
  const out = s.ok(['exec', ct, '--', '/x', 'as', '1000', '/x']);
  assert.match(out, /^euid 0$/m, `${ct} ${when}: a setuid program works inside: ${out}`);
}

const CASES = [
  { ct: 'fo', layout: 'overlay', privileged: 'no' },
  { ct: 'fd', layout: 'dir', privileged: 'no' },
  { ct: 'fi', layout: 'image', privileged: 'no' },
  { ct: 'fp', layout: 'overlay', privileged: 'yes' },
] as const;

test("a host user reaches no container's files, and a planted setuid program never runs as root", {
  skip,
}, async (t) => {
  const s = sandbox(t);
  const probe = staticProgram(t, s, 'suid', { text: PROBE_C });
  if (!probe) return;
  // only berth's own modes stand in the way: the sandbox root is as open as / is
  chmodSync(s.root, 0o755);
  const canaryDir = join(s.root, 'canary');
  mkdirSync(canaryDir, { mode: 0o755 });
  const lib = join(s.root, 'var/lib/berth');
  const table: Outcome[] = [];
  const failures: string[] = [];
  const judge = (what: string, outcomes: Outcome[], allowed: (o: Outcome) => boolean) => {
    for (const o of outcomes) {
      table.push([what, ...o.slice(1)] as Outcome);
      if (!allowed(o)) failures.push(`${what}: ${o[0]} ${o[1]}: ${o[2]} ${o[3]}`);
    }
  };
  const refused = (o: Outcome) => o[2] === 'EACCES';
  const nosuid = (what: string, path: string) => {
    const opts = mountOptions(path) ?? 'not mounted';
    table.push([what, path, opts, '']);
    if (!/\bnosuid\b/.test(opts) || !/\bnodev\b/.test(opts)) failures.push(`${what}: ${path} is ${opts}`);
  };

  for (const { ct, layout, privileged } of CASES) {
    const mode = `${layout}, ${privileged === 'yes' ? 'privileged' : 'unprivileged'}`;
    const canary = join(canaryDir, ct);
    s.ok([
      'create',
      ct,
      '--layout',
      layout,
      '--privileged',
      privileged,
      ...(layout === 'image' ? ['--diskspace', '128M'] : []),
    ]);
    s.ok(['start', ct]);
    plant(s, ct, probe);
    assertSetuidInside(s, ct, 'running');
    s.ok(['snapshot', ct, '--name', 'snap']);
    const view = join(s.root, `view-${ct}`);
    mkdirSync(view, { mode: 0o755 });
    s.ok(['snapshot-mount', ct, '--name', 'snap', '--target', view]);
    const archive = join(s.root, `${ct}.tar`);
    s.ok(['backup', ct, '-o', archive]);
    s.ok(['backup', ct]);
    const layer = /^LAYER="([^"]+)"/m.exec(readFileSync(join(s.root, 'etc/berth/ct', `${ct}.conf`), 'utf8'))?.[1];
    const own = join(lib, 'private', ct);
    const snapFs = join(lib, 'snapshots', ct, 'snap', 'fs');
    const attempts: Attempt[] = [
      ['list', join(lib, 'private')],
      ['list', own],
      layout === 'overlay'
        ? ['exec', join(own, 'upper/x')]
        : layout === 'dir'
          ? ['exec', join(own, 'x')]
          : ['read', join(own, 'root.img')],
      ['exec', join(lib, 'root', ct, 'x')],
      ['list', join(lib, 'template/layers')],
      ['read', join(lib, 'template/cache/busybox.tar.zst')],
      ...(layer ? [['read', join(lib, 'template/layers', layer, 'bin/busybox')] as Attempt] : []),
      layout === 'image' ? ['read', join(snapFs, 'root.img')] : ['exec', join(snapFs, 'x')],
      ['list', join(lib, 'backup')],
      ['read', archive],
      ['read', join(s.root, 'var/log/berth', `${ct}.console.log`)],
      ['list', join(s.root, 'run/berth', ct)],
      ['list', join(lib, 'lock')],
    ];
    judge(mode, asNobody(attempts, canary), refused);
    // the snapshot's view is where the admin put it, open to all: it may be read, but it is
    // nosuid, so the planted program runs as nobody
    judge(
      `${mode}, snapshot-mount view`,
      asNobody([['exec', join(view, 'x')]], canary),
      (o) => o[2] === 'ran' && o[3] === `euid ${NOBODY}`,
    );
    nosuid(`${mode}, snapshot-mount view`, view);
    s.ok(['snapshot-umount', ct, '--name', 'snap']);

    // berth mount: the admin's view is nosuid,nodev too; a start mounts the root afresh without
    s.ok(['stop', ct]);
    s.ok(['mount', ct]);
    const veRoot = join(lib, 'root', ct);
    nosuid(`${mode}, berth mount`, veRoot);
    judge(`${mode}, berth mount`, asNobody([['exec', join(veRoot, 'x')]], canary), refused);
    s.ok(['start', ct]);
    assert.doesNotMatch(mountOptions(veRoot) ?? 'none', /nosuid/, `${ct}'s running root is not nosuid`);
    assertSetuidInside(s, ct, 'started after berth mount');
    s.ok(['stop', '--fast', ct]);
    if (existsSync(canary)) failures.push(`${mode}: the planted program ran as root on the host (${canary} exists)`);
  }

  // a backup in progress: its work directory and its archive are root's from the first byte
  s.ok(['start', 'fd']);
  s.ok(['exec', 'fd', '--', 'dd', 'if=/dev/urandom', 'of=/big', 'bs=1M', 'count=48']);
  const outDir = join(s.root, 'out');
  mkdirSync(outDir, { mode: 0o755 });
  const child = spawn(BERTH, ['--root', s.root, 'backup', 'fd', '-o', join(outDir, 'fd.tar')], { stdio: 'ignore' });
  const done = new Promise<number | null>((r) => child.once('exit', r));
  const seen = new Map<string, number>();
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  await waitFor(
    'the backup to finish',
    () => {
      for (const n of readdirSync(outDir)) {
        try {
          seen.set(n, seen.get(n) ?? statSync(join(outDir, n)).mode & 0o777);
        } catch {}
      }
      return finished;
    },
    120_000,
  );
  assert.equal(await done, 0, 'the backup succeeded');
  const work = [...seen].filter(([n]) => n.startsWith('.berth-backup-fd-'));
  const tmp = [...seen].filter(([n]) => n.startsWith('fd.tar.tmp-'));
  assert.ok(work.length > 0 || tmp.length > 0, `saw the backup at work: ${[...seen.keys()].join(' ')}`);
  for (const [n, m] of [...work, ...tmp, ['fd.tar', statSync(join(outDir, 'fd.tar')).mode & 0o777] as const]) {
    table.push(['backup in progress', join(outDir, n), m.toString(8), '']);
    if (m & 0o077) failures.push(`backup in progress: ${n} has mode ${m.toString(8)}`);
  }
  s.ok(['stop', '--fast', 'fd']);

  const rel = (p: string) => (p.startsWith(s.root) ? p.slice(s.root.length) : p);
  const rows = table.map(([what, path, result, output]) => [what, rel(path), result, output.replace(/\n/g, '; ')]);
  const widths = [0, 1, 2].map((k) => Math.max(...rows.map((r) => r[k]?.length ?? 0)));
  for (const r of rows) t.diagnostic(r.map((c, k) => (k < 3 ? c.padEnd(widths[k] ?? 0) : c)).join('  '));
  assert.deepEqual(failures, [], 'every path of container data is refused to a host user');
  assert.deepEqual(readdirSync(canaryDir), [], 'no planted program ran with euid 0 on the host');
});

test('berth closes too-open directories of an older tree before it touches a container', { skip }, () => {
  const s = new Sandbox();
  try {
    s.template();
    const lib = join(s.root, 'var/lib/berth');
    const own = ['private', 'root', 'template', 'snapshots', 'backup', 'lock'].map((d) => join(lib, d));
    const all = [...own, join(s.root, 'var/log/berth'), join(s.root, 'run/berth')];
    for (const d of all) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o755);
    }
    const r = s.berth(['create', '1', '--layout', 'dir']);
    assert.equal(r.code, 0, r.err);
    for (const d of all) assert.equal(statSync(d).mode & 0o777, 0o700, `${d} is 0700 after create`);
    assert.match(r.err, /tightened to 700/, 'the repair is said');
    chmodSync(join(lib, 'private'), 0o711);
    s.ok(['start', '1']);
    assert.equal(statSync(join(lib, 'private')).mode & 0o777, 0o700, 'start repairs it too');
  } finally {
    const leaks = s.cleanup();
    assert.deepEqual(leaks, []);
  }
});
