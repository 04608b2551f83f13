// berth list shows what runs (vzlist): a live set without --save changes what a running
// container lists, --saved shows the config; CTIDs pick containers; every vzlist field set can set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

type Row = Record<string, unknown>;

test('list: live limits of a running container, --saved, CTIDs, config fields', { skip: ROOT_SKIP }, (t) => {
  const s = sandbox(t);
  const row = (args: string[]) => (JSON.parse(s.ok(['list', '--json', ...args])) as Row[])[0] ?? {};
  const limits = 'ctid,physpages,swappages,cpus,cpulimit,cpuunits,numproc';
  s.ok(['create', '301']);
  s.ok(['create', '302']);
  s.ok(['set', '301', '--ram', '256M', '--swap', '0', '--numproc', '500', '--save']);
  s.ok(['start', '301']);

  s.ok(['set', '301', '--ram', '128M', '--numproc', '300']);
  assert.match(s.ok(['list', '-H', '-o', 'physpages,numproc']), /^128M\s+300\n$/);
  assert.deepEqual(row(['-o', 'physpages,swappages,numproc']), { physpages: '128M', swappages: '0', numproc: '300' });
  assert.deepEqual(row(['-o', 'physpages,numproc', '--saved']), { physpages: '256M', numproc: '500' });
  // every field without -o carries the live value too
  assert.equal(row([])['physpages'], '128M');

  s.ok(['set', '301', '--cpus', '1', '--cpuunits', '500']);
  const live = row(['-o', limits]);
  assert.equal(live['cpus'], '1');
  assert.equal(live['cpuunits'], '500');
  assert.equal(row(['-o', limits, '--saved'])['cpus'], 'unlimited');
  // a live set changes only what it names: the live --ram and --numproc above still hold
  assert.equal(live['physpages'], '128M');
  assert.equal(live['numproc'], '300');

  // CTIDs: those containers whatever their status; one without a container fails after the others
  assert.match(s.ok(['list', '-H', '-o', 'ctid,status', '302']), /^\s*302 stopped\n$/);
  const some = s.berth(['list', '-H', '-o', 'ctid', '302', '301', '999']);
  assert.equal(some.code, 14);
  assert.deepEqual(some.out.trim().split(/\s+/), ['302', '301']);
  assert.match(some.err, /^berth: list: container 999 does not exist$/m);

  // the config keys set can set, listed under vzlist's names
  s.ok(['set', '302', '--description', 'db server', '--bootorder', '5', '--onboot', 'yes', '--save']);
  s.ok(['set', '302', '--nameserver', '192.0.2.53', '--searchdomain', 'example.org', '--save']);
  assert.deepEqual(row(['-o', 'description,bootorder,onboot,nameserver,searchdomain,ostemplate', '302']), {
    description: 'db server',
    bootorder: 5,
    onboot: 'yes',
    nameserver: '192.0.2.53',
    searchdomain: 'example.org',
    ostemplate: 'busybox',
  });
  assert.match(s.ok(['list', '-H', '-o', 'description', '302']), /^db server\n$/);
  assert.equal(typeof row(['-o', 'uptime', '301'])['uptime'], 'number');
  assert.match(s.ok(['list', '-L']), /^description +DESCRIPTION$/m);
  s.ok(['stop', '--fast', '301']);
  // stopped: the saved values
  assert.deepEqual(row(['-o', 'physpages,numproc', '301']), { physpages: '256M', numproc: '500' });
});

const NS = `berth-it-list-${process.pid}`;
const skipNet =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

test('list: the addresses a running container has after a live --ipdel and --ipadd', { skip: skipNet }, (t) => {
  const s = sandbox(t); // before the namespace: its cleanup must run first
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  spawnSync('nsenter', [`--net=/run/netns/${NS}`, 'ip', 'link', 'set', 'lo', 'up']);
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="none"\n');
  s.ok(['create', 'a']);
  s.ok(['set', 'a', '--ipadd', '10.251.1.2', '--save']);
  s.ok(['start', 'a']);
  const ip = (...more: string[]) => s.ok(['list', '-H', '-o', 'ip', ...more]).trim();
  assert.equal(ip(), '10.251.1.2');
  s.ok(['set', 'a', '--ipdel', '10.251.1.2']);
  assert.equal(ip(), '-');
  assert.equal(ip('--saved'), '10.251.1.2');
  s.ok(['set', 'a', '--ipadd', '10.251.1.5']);
  assert.equal(ip(), '10.251.1.5');
  assert.equal(ip('--saved'), '10.251.1.2');
  s.ok(['stop', '--fast', 'a']);
  assert.equal(ip('-a'), '10.251.1.2');
});
