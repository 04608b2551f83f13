// Bridged (veth) interfaces on a managed bridge, inside a throwaway network namespace that plays
// the host: L2 reachability, stable MACs across restarts, bad input, a missing bridge, cleanup.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, sandbox } from './harness.ts';

const NS = `berth-it-br-${process.pid}`;
const inNs = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${NS}`, ...cmd], { encoding: 'utf8' });
const must = (cmd: string[]) => {
  const r = inNs(cmd);
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('bridged interfaces: managed bridge, L2 reachability, stable MACs, errors', { skip: ROOT_SKIP }, (t) => {
  // the sandbox first: its cleanup (stop, destroy) must run before the namespace goes
  const s = sandbox(t);
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  must(['ip', 'link', 'set', 'lo', 'up']);
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];

  s.ok(['net', 'create', 'br0', '--subnet', '10.89.0.0/24', '--subnet', 'fd00:89::/64']);
  assert.match(must(['ip', 'addr', 'show', 'br0']), /inet 10\.89\.0\.1\/24/);
  s.ok(['create', 'x']);
  s.ok(['create', 'y']);
  s.ok(['set', 'x', '--netif_add', 'eth0,,,,br0', '--save']);
  s.ok([
    'set',
    'x',
    '--ifname',
    'eth0',
    '--ipadd',
    '10.89.0.2/24',
    '--ipadd',
    'fd00:89::2/64',
    '--gw',
    '10.89.0.1',
    '--save',
  ]);
  s.ok(['set', 'y', '--netif_add', 'eth0,02:00:5e:00:89:03,,,br0', '--save']);
  s.ok(['set', 'y', '--ifname', 'eth0', '--ipadd', '10.89.0.3/24', '--save']);
  const xMac = /mac=([0-9a-f:]{17})/.exec(readFileSync(join(s.root, 'etc/berth/ct/x.conf'), 'utf8'))?.[1];
  assert.ok(xMac, 'a MAC was generated and saved');

  // bad input: clear errors, documented codes
  for (const [args, code, msg] of [
    [['--netif_add', 'eth0123456789abc'], 21, /invalid interface name "eth0123456789abc"/],
    [['--netif_add', 'eth0'], 21, /interface eth0 already exists/],
    [['--netif_add', 'eth1,01:00:5e:00:00:01'], 21, /invalid MAC address/],
    [['--ifname', 'eth0', '--ipadd', '10.89.0.300/24'], 71, /invalid address/],
    [['--ifname', 'eth9', '--gw', '10.89.0.1'], 21, /no interface eth9/],
    [['--netif_add', 'eth1'], 20, /need --save/],
  ] as Array<[string[], number, RegExp]>) {
    const r = s.berth(['set', 'y', ...args, ...(args.includes('eth1') && code === 20 ? [] : ['--save'])]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
  }

  s.ok(['start', 'x']);
  s.ok(['start', 'y']);
  const ping = (ct: string, dst: string) => s.ping(ct, dst);
  for (const [ct, dst] of [
    ['x', '10.89.0.1'],
    ['x', '10.89.0.3'],
    ['y', '10.89.0.2'],
    ['x', 'fd00:89::1'],
  ] as const) {
    const r = ping(ct, dst);
    assert.equal(r.code, 0, `${ct} -> ${dst}: ${r.out}${r.err}`);
  }
  must(['busybox', 'ping', '-c1', '-W2', '10.89.0.2']);
  assert.equal(s.ok(['exec', 'x', '--', 'cat', '/sys/class/net/eth0/address']).trim(), xMac);
  assert.equal(s.ok(['exec', 'y', '--', 'cat', '/sys/class/net/eth0/address']).trim(), '02:00:5e:00:89:03');
  assert.match(must(['ip', 'link', 'show', 'vethx.0']), /master br0/);
  // live (with --save): a new interface on a running container, changed, then removed
  s.ok(['set', 'x', '--netif_add', 'eth1,,,,br0', '--save']);
  s.ok(['set', 'x', '--ifname', 'eth1', '--ipadd', '10.89.0.12/24', '--save']);
  assert.equal(ping('y', '10.89.0.12').code, 0, 'live interface reachable');
  assert.match(s.ok(['exec', 'x', '--', 'cat', '/etc/hosts']), /10\.89\.0\.12 x/);
  s.ok(['set', 'x', '--netif_del', 'eth1', '--save']);
  assert.equal(s.ok(['exec', 'x', '--', 'ls', '/sys/class/net']).trim().split(/\s+/).join(' '), 'eth0 lo');
  assert.equal(ping('y', '10.89.0.2').code, 0, 'eth0 untouched');
  s.ok(['restart', 'x']);
  assert.equal(s.ok(['exec', 'x', '--', 'cat', '/sys/class/net/eth0/address']).trim(), xMac, 'same MAC after restart');

  // a bridge that does not exist: clear error, nothing started
  s.ok(['create', 'z']);
  s.ok(['set', 'z', '--netif_add', 'eth0,,,,nobr0', '--save']);
  const z = s.berth(['start', 'z']);
  assert.equal(z.code, 151, z.err);
  assert.match(z.err, /bridge nobr0 does not exist\nberth: hint: create it/);
  assert.match(s.ok(['status', 'z']), /down|stopped|exist unmounted/);

  const list = JSON.parse(s.ok(['net', 'list', '--json']));
  assert.deepEqual(list[0].users, ['x', 'y']);
  assert.equal(s.berth(['net', 'destroy', 'br0']).code, 21, 'refused while containers use it');

  s.ok(['stop', '--fast', 'x']);
  s.ok(['stop', '--fast', 'y']);
  for (let i = 0; i < 100 && /vethx|vethy/.test(must(['ip', '-br', 'link'])); i++) spawnSync('sleep', ['0.05']);
  assert.doesNotMatch(must(['ip', '-br', 'link']), /vethx|vethy/, 'host ends gone');
  for (const ct of ['x', 'y', 'z']) s.ok(['destroy', ct]);
  s.ok(['net', 'destroy', 'br0']);
  assert.doesNotMatch(must(['ip', '-br', 'link']), /br0/);
});
