// Known ways out of a container, tried from inside one (test/escape/probe.c, built here with
// gcc -static), in an unprivileged container (the default) and in a privileged one; plus the
// symlink attack on berth's own host-side writes. Prints the table of attempts and outcomes.
// The probe does no harm when an attempt works (see its header); nothing leaves the machine:
// the network attempts aim at the host's loopback, which a container cannot reach.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { GCC_SKIP, REPO, ROOT_SKIP, sandbox, staticProgram } from './harness.ts';

const PROBE_SRC = join(REPO, 'test/escape/probe.c');

/**
 * What a privileged container can do by design: its root is the host's root, with the
 * CAP_SYS_ADMIN systemd needs, so it can mount a procfs of its own and reach host sysctls, and
 * unmount berth's masks over host-sensitive /proc files (docs/security.md). Every other attempt must fail in both modes.
 */
const PRIVILEGED_BY_DESIGN = new Set(['host sysctl (core_pattern)', 'unmask /proc/timer_list']);

function listen(server: Server, where: number | string): Promise<void> {
  return new Promise((done) => server.listen(where, () => done()));
}

const skip = ROOT_SKIP || GCC_SKIP;

test('escape attempts from inside fail, unprivileged and privileged; the table of outcomes', { skip }, async (t) => {
  const s = sandbox(t);
  const probe = staticProgram(t, s, 'probe', { file: PROBE_SRC });
  if (!probe) return;
  // host-only things the probe tries to reach: a TCP port and an abstract socket on the host's
  // loopback, a file on the host's root, the test's own pid
  const tcp = createServer((c) => c.end('host'));
  const abstract = `berth-escape-${process.pid}`;
  const unix = createServer((c) => c.end('host'));
  await listen(tcp, 0);
  await listen(unix, `\0${abstract}`);
  t.after(() => {
    tcp.close();
    unix.close();
  });
  const port = (tcp.address() as { port: number }).port;
  const marker = `/tmp/berth-escape-marker-${process.pid}`;
  writeFileSync(marker, 'host\n');
  t.after(() => rmSync(marker, { force: true }));
  const dev = statSync('/').dev;
  const [major, minor] = [Math.floor(dev / 256) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00)];
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
  t.after(() => {
    // the probe writes a sysctl only with the value it has; should that ever differ, undo it
    if (readFileSync('/proc/sys/kernel/core_pattern', 'utf8') !== pattern)
      writeFileSync('/proc/sys/kernel/core_pattern', pattern);
  });

  const table: string[][] = [];
  const failures: string[] = [];
  for (const [ct, privileged] of [
    ['esc-u', 'no'],
    ['esc-p', 'yes'],
  ] as const) {
    const mode = privileged === 'yes' ? 'privileged' : 'unprivileged';
    s.ok(['create', ct, '--privileged', privileged]);
    s.ok(['start', ct]);
    s.copyIn(ct, probe, '/probe');
    const out = s.ok([
      'exec',
      ct,
      '--',
      '/probe',
      String(process.pid),
      String(major),
      String(minor),
      String(port),
      abstract,
      marker,
    ]);
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.ok(rows.length >= 15, `the probe ran every attempt:\n${out}`);
    for (const [name = '', outcome = '', detail = ''] of rows) {
      const expected = privileged === 'yes' && PRIVILEGED_BY_DESIGN.has(name) ? 'ESCAPED' : 'blocked';
      table.push([mode, name, outcome === expected ? outcome : `${outcome} (expected ${expected})`, detail]);
      if (outcome !== expected) failures.push(`${mode}: ${name}: ${outcome}: ${detail}`);
    }

    // berth's own host-side writes: the container swaps its files for symlinks to host paths
    const canary = `/tmp/berth-escape-canary-${process.pid}-${ct}`;
    t.after(() => {
      for (const f of ['resolv', 'hosts', 'hostname']) rmSync(`${canary}-${f}`, { force: true });
    });
    s.ok([
      'exec',
      ct,
      '--',
      'sh',
      '-c',
      `ln -sf ${canary}-resolv /etc/resolv.conf && ln -sf ${canary}-hosts /etc/hosts && ln -sf ${canary}-hostname /etc/hostname`,
    ]);
    s.ok(['set', ct, '--nameserver', '192.0.2.53', '--hostname', 'swapped', '--save']);
    s.ok(['restart', ct]); // a start writes /etc/hostname and /etc/hosts too
    const landed = ['resolv', 'hosts', 'hostname'].filter((f) => existsSync(`${canary}-${f}`));
    const outcome = landed.length ? 'ESCAPED' : 'blocked';
    table.push([mode, 'symlinked /etc files vs berth set/start', outcome, landed.join(' ') || 'written inside']);
    if (landed.length) failures.push(`${mode}: berth wrote through a symlink to ${landed.join(', ')}`);
    s.ok(['stop', '--fast', ct]);
  }
  const widths = [0, 1, 2].map((k) => Math.max(...table.map((r) => (r[k] ?? '').length)));
  for (const r of table) t.diagnostic(r.map((c, k) => (k < 3 ? c.padEnd(widths[k] ?? 0) : c)).join('  '));
  assert.deepEqual(failures, [], 'every attempt fails (privileged: except what docs/security.md names)');
});
