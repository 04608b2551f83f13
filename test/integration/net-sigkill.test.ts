// SIGKILL of berth at many points of a start and a stop of a container with routed addresses,
// NAT, a port forward and a neighbour proxy (in a throwaway network namespace playing the host):
// after the next command, nothing of the container remains in the host's network.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { killAfter, ROOT_SKIP, sandbox } from './harness.ts';

const NS = `berth-it-netkill-${process.pid}`;
const DELAYS_MS = [10, 30, 50, 70, 90, 110, 140, 180, 240];
const inNs = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${NS}`, ...cmd], { encoding: 'utf8' });
const skip =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

/** What the container left in the host's network, once it is stopped. */
function leftovers(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    if (!/bv-k/.test(inNs(['ip', '-br', 'link']).stdout)) break;
    spawnSync('sleep', ['0.05']); // a dead network namespace goes a moment later
  }
  if (/bv-k/.test(inNs(['ip', '-br', 'link']).stdout)) out.push('link bv-k');
  if (/10\.250\.9\./.test(inNs(['ip', 'route']).stdout)) out.push('route');
  if (/10\.250\.9\./.test(inNs(['ip', 'neigh', 'show', 'proxy']).stdout)) out.push('proxy');
  if (/10\.250\.9\./.test(inNs(['nft', 'list', 'table', 'inet', 'berth']).stdout)) out.push('nft element');
  return out;
}

test('SIGKILL during a networked start and stop leaves nothing in the host network', {
  skip,
  timeout: 300_000,
}, async (t) => {
  // the sandbox first: its cleanup (stop, destroy) must run before the namespace goes
  const s = sandbox(t);
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  inNs(['ip', 'link', 'set', 'lo', 'up']);
  inNs(['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p']);
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\n');
  s.ok(['create', 'k']);
  s.ok([
    'set',
    'k',
    '--ipadd',
    '10.250.9.2',
    '--ipadd',
    'fd00:250:9::2',
    '--nat',
    'on',
    '--portfwd',
    'tcp:9090:90',
    '--save',
  ]);
  for (const ms of DELAYS_MS) {
    await killAfter(s, ['start', 'k'], ms);
    s.ok(['status', 'k']);
    const r = s.berth(['stop', '--fast', 'k']);
    assert.ok(r.code === 0 || r.code === 31, `start@${ms}: stop gave ${r.code}: ${r.err}`);
    assert.deepEqual(leftovers(), [], `start@${ms}`);
    // and a killed stop: the next command finishes the cleanup
    s.ok(['start', 'k']);
    await killAfter(s, ['stop', 'k'], ms);
    const again = s.berth(['stop', '--fast', 'k']);
    assert.ok(again.code === 0 || again.code === 31, `stop@${ms}: ${again.code}: ${again.err}`);
    assert.deepEqual(leftovers(), [], `stop@${ms}`);
  }
  s.ok(['start', 'k']);
  assert.match(inNs(['ip', 'neigh', 'show', 'proxy']).stdout, /10\.250\.9\.2 dev up0/, 'a clean start still works');
});
