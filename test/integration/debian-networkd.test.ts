// systemd-networkd in a debian-12 container takes every interface berth set up as "configured"
// (routed venet0 and a bridged eth0 with a /24), at boot and after live address and interface
// changes, and the addresses are there as seen from the host side.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { booted, DEBIAN_SKIP, debianInNetns } from './debian-cache.ts';
import { type Sandbox, waitFor } from './harness.ts';

const NS = `berth-it-nwd-${process.pid}`;

/** `networkctl list` as link -> setup state */
function setupStates(s: Sandbox, ct: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of s.berth(['exec', ct, '--', 'networkctl', 'list', '--no-legend']).out.split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+\S+\s+\S+\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) states.set(m[1], m[2]);
  }
  return states;
}

/** Waits until networkd has settled every link, then asserts berth's are "configured". */
async function assertConfigured(s: Sandbox, ct: string, links: string[], when: string): Promise<void> {
  let states = new Map<string, string>();
  await waitFor(
    `networkd to settle ${when}`,
    () => {
      states = setupStates(s, ct);
      return (
        links.every((l) => states.has(l)) &&
        ![...states.values()].some((v) => /pending|initialized|configuring/.test(v))
      );
    },
    30_000,
  ).catch(() => {});
  const journal = s.berth(['exec', ct, '--', 'journalctl', '-u', 'systemd-networkd', '-o', 'cat', '--no-pager']).out;
  const failures = journal.split('\n').filter((l) => /Failed to (configure|set)|: Failed$/.test(l));
  for (const l of links) {
    assert.equal(
      states.get(l),
      'configured',
      `${when}: ${l} is ${states.get(l)}; networkd said:\n${failures.join('\n')}`,
    );
  }
  assert.deepEqual(
    [...states].filter(([, v]) => v === 'failed' || v === 'configuring'),
    [],
    when,
  );
  assert.deepEqual(failures, [], `${when}: networkd logged failures`);
}

/** The container's addresses as the host sees them (its network namespace, entered from outside). */
function hostSideAddrs(s: Sandbox, ct: string, dev: string): string {
  const pid = JSON.parse(s.ok(['status', ct, '--json'])).pid as number;
  const r = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-br', 'addr', 'show', 'dev', dev], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('debian-12: networkd shows venet0 and bridged interfaces configured, at boot and after live changes', {
  skip: DEBIAN_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = debianInNetns(t, NS);
  assert.equal(spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']).status, 0);
  s.ok(['net', 'create', 'br0', '--subnet', '10.88.0.0/24', '--subnet', 'fd00:88::/64']);
  s.ok(['create', '510', '--ostemplate', 'debian-12', '--hostname', 'nwd-test']);
  s.ok(['set', '510', '--ipadd', '10.62.0.2', '--ipadd', 'fd00:62::2', '--save']);
  s.ok(['set', '510', '--netif_add', 'eth0,,,,br0', '--save']);
  s.ok(['set', '510', '--ifname', 'eth0', '--ipadd', '10.88.0.2/24', '--ipadd', 'fd00:88::2/64', '--save']);
  s.ok(['set', '510', '--ifname', 'eth0', '--gw', '10.88.0.1', '--save']);
  s.ok(['start', '510']);
  await booted(s, '510');
  await assertConfigured(s, '510', ['venet0', 'eth0'], 'at boot');
  assert.match(hostSideAddrs(s, '510', 'venet0'), /10\.62\.0\.2\/32 fd00:62::2\/128/);
  assert.match(hostSideAddrs(s, '510', 'eth0'), /10\.88\.0\.2\/24 fd00:88::2\/64/);

  // live: routed addresses moved, then a new bridged interface with an address
  const started = Date.now();
  s.ok(['set', '510', '--ipadd', '10.62.0.3', '--ipdel', '10.62.0.2', '--save']);
  t.diagnostic(`live --ipadd/--ipdel with the networkd reload took ${Date.now() - started} ms`);
  await assertConfigured(s, '510', ['venet0', 'eth0'], 'after a live --ipadd/--ipdel');
  assert.match(hostSideAddrs(s, '510', 'venet0'), /^\S+\s+UP\s+10\.62\.0\.3\/32 fd00:62::2\/128 /);
  s.ok(['set', '510', '--netif_add', 'eth1,,,,br0', '--save']);
  s.ok(['set', '510', '--ifname', 'eth1', '--ipadd', '10.88.0.12/24', '--save']);
  await assertConfigured(s, '510', ['venet0', 'eth0', 'eth1'], 'after a live --netif_add');
  assert.match(hostSideAddrs(s, '510', 'eth1'), /10\.88\.0\.12\/24/);
  assert.match(hostSideAddrs(s, '510', 'eth0'), /10\.88\.0\.2\/24 fd00:88::2\/64/);

  // and a networkd restart takes the same units again
  s.ok(['exec', '510', '--', 'systemctl', 'restart', 'systemd-networkd']);
  await assertConfigured(s, '510', ['venet0', 'eth0', 'eth1'], 'after a networkd restart');
  assert.match(hostSideAddrs(s, '510', 'venet0'), /10\.62\.0\.3\/32/);

  s.ok(['stop', '--fast', '510']);
  s.ok(['destroy', '510']);
  s.ok(['net', 'destroy', 'br0']);
  assert.deepEqual(s.leaks(), []);
});
