// A routed container's addresses are announced on the host's uplinks when they appear there (a
// start, a restore: a migration's destination): a neighbour that cached another MAC for them
// (the source host's) takes the uplink's at once. A namespace plays the host, another its LAN
// neighbour, joined by a veth pair: no frame leaves them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox, waitFor } from './harness.ts';

const NS = `berth-it-ann-${process.pid}`;
const NC = `berth-it-annc-${process.pid}`;
const must = (ns: string, cmd: string[]) => {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, ...cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${ns}: ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const skip =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);
const OLD_MAC = '02:00:00:00:00:99';

test("a started container's addresses are announced on the uplink: a neighbour's stale entry moves", {
  skip,
}, async (t) => {
  const s = sandbox(t);
  for (const ns of [NS, NC]) {
    assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
    t.after(() => spawnSync('ip', ['netns', 'del', ns]));
    must(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  must(NS, ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'c0']);
  must(NS, ['ip', 'link', 'set', 'c0', 'netns', NC]);
  // no DAD: the uplink's link-local address is the advertisement's source at once
  must(NS, ['sysctl', '-qw', 'net.ipv6.conf.up0.accept_dad=0']);
  must(NC, ['sysctl', '-qw', 'net.ipv6.conf.c0.accept_dad=0']);
  must(NC, ['ip', 'link', 'set', 'c0', 'up']);
  must(NS, ['ip', 'link', 'set', 'up0', 'up']);
  const mac = /link\/ether (\S+)/.exec(must(NS, ['ip', 'link', 'show', 'up0']))?.[1];
  assert.ok(mac);
  // the neighbour once learnt the addresses at another host's MAC
  must(NC, ['ip', 'neigh', 'replace', '10.250.7.2', 'lladdr', OLD_MAC, 'dev', 'c0', 'nud', 'stale']);
  must(NC, ['ip', '-6', 'neigh', 'replace', 'fd00:250:7::2', 'lladdr', OLD_MAC, 'dev', 'c0', 'nud', 'stale']);

  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\n');
  s.ok(['create', '501']);
  s.ok(['set', '501', '--ipadd', '10.250.7.2', '--ipadd', 'fd00:250:7::2', '--save']);
  s.ok(['start', '501']);
  for (const ip of ['10.250.7.2', 'fd00:250:7::2']) {
    const entry = () => must(NC, ['ip', 'neigh', 'show', ip, 'dev', 'c0']);
    await waitFor(`${ip}'s entry to move`, () => entry().includes(mac), 3000).catch(() => {});
    assert.match(entry(), new RegExp(`lladdr ${mac}`), `${ip}: ${entry()}`);
  }
  s.ok(['stop', '501']);
});
