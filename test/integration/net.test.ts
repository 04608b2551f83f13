// Routed (venet-style) networking, inside a throwaway network namespace that plays the host:
// berth runs in it (nsenter --net), so the real host's network is never touched and no packet
// can leave the machine. IPv4 and IPv6, container to container and to the host, live add/del,
// persistence across a restart, source-address filtering, bad input, and cleanup.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, ROOT_SKIP, sandbox } from './harness.ts';

const NS = `berth-it-net-${process.pid}`;
const inNs = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${NS}`, ...cmd], { encoding: 'utf8' });
const must = (cmd: string[]) => {
  const r = inNs(cmd);
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const skip =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

test('routed networking: v4/v6 reachability, live changes, filtering, cleanup', { skip }, (t) => {
  // the sandbox first: its cleanup (stop, destroy) must run before the namespace goes
  const s = sandbox(t);
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  must(['ip', 'link', 'set', 'lo', 'up']);
  must(['ip', 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
  must(['ip', '-6', 'addr', 'add', 'fd00:250::1/128', 'dev', 'lo', 'nodad']);
  // an uplink for the neighbour proxies (a veth pair inside the namespace: nothing goes anywhere)
  must(['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p']);
  must(['ip', 'link', 'set', 'up0', 'up']);

  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\n');
  s.ok(['create', 'a']);
  s.ok(['create', 'b']);
  s.ok(['set', 'a', '--ipadd', '10.250.1.2', '--ipadd', 'fd00:250:1::2', '--save']);
  s.ok(['set', 'b', '--ipadd', '10.250.1.3', '--ipadd', 'FD00:250:1:0::3/128', '--save']);
  assert.match(readFileSync(join(s.root, 'etc/berth/ct/b.conf'), 'utf8'), /IP_ADDRESS="10\.250\.1\.3 fd00:250:1::3"/);

  // bad input: clear error, documented code, config untouched
  const before = readFileSync(join(s.root, 'etc/berth/ct/b.conf'), 'utf8');
  for (const [args, code, msg] of [
    [['--ipadd', '10.250.1.300'], 71, /invalid IP address "10\.250\.1\.300"/],
    [['--ipadd', '127.0.0.5'], 71, /loopback/],
    [['--ipadd', 'fe80::5'], 71, /link-local/],
    [['--ipadd', '10.250.1.2'], 78, /10\.250\.1\.2 is already used by container a/],
    [['--ipadd', 'fd00:250:1:0:0:0:0:2'], 78, /fd00:250:1::2 is already used by container a/],
  ] as Array<[string[], number, RegExp]>) {
    const r = s.berth(['set', 'b', ...args, '--save']);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
    assert.equal(readFileSync(join(s.root, 'etc/berth/ct/b.conf'), 'utf8'), before, 'config unchanged');
  }

  s.ok(['start', 'a']);
  s.ok(['start', 'b']);
  const ping = (ct: string, dst: string, from?: string) => s.ping(ct, dst, from);
  for (const [ct, dst] of [
    ['a', '10.250.1.3'],
    ['a', 'fd00:250:1::3'],
    ['b', '10.250.1.2'],
    ['a', '10.250.0.1'],
    ['b', 'fd00:250::1'],
  ] as const) {
    const r = ping(ct, dst);
    assert.equal(r.code, 0, `${ct} -> ${dst}: ${r.out}${r.err}`);
  }
  must(['busybox', 'ping', '-c1', '-W2', '10.250.1.2']);
  must(['busybox', 'ping', '-6', '-c1', '-W2', 'fd00:250:1::3']);
  const venet = s.ok(['exec', 'a', '--', 'ip', 'addr', 'show', 'venet0']);
  assert.match(venet, /inet 10\.250\.1\.2\/32/);
  // VENET_MTU's default: a 30000-byte echo crosses both pairs unfragmented
  assert.match(venet, /mtu 65535/);
  s.ok(['exec', 'a', '--', 'ping', '-c1', '-W2', '-s', '30000', '10.250.1.3']);
  assert.match(s.ok(['exec', 'a', '--', 'ip', 'route']), /default via 169\.254\.0\.1 dev venet0/);
  assert.match(must(['ip', 'neigh', 'show', 'proxy']), /10\.250\.1\.2 dev up0/);

  // the fast path (VENET_FASTPATH=yes, the default): container to container skips the host's
  // forwarding path, still decrements the TTL, and carries both families
  assert.match(must(['tc', 'filter', 'show', 'dev', 'bv-a', 'ingress']), /berth-fastpath direct-action/);
  assert.match(must(['ip', 'route', 'show', '10.250.1.2']), /dev bv-a .*metric 48711/);
  const forwarded = () =>
    Number(/^Ip: (?:\S+ ){5}(\d+)/m.exec(must(['cat', '/proc/net/snmp']).split('\n')[1] ?? '')?.[1]);
  const fwd0 = forwarded();
  assert.match(s.ok(['exec', 'a', '--', 'ping', '-c3', '-W2', '10.250.1.3']), /ttl=63/);
  assert.match(s.ok(['exec', 'a', '--', 'ping', '-c3', '-W2', 'fd00:250:1::3']), /ttl=63/);
  assert.equal(forwarded(), fwd0, 'container-to-container packets went through the host forwarding path');
  // VENET_FASTPATH=no, read at start: b's end has no program, and b's packets are forwarded
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\nVENET_FASTPATH="no"\n');
  s.ok(['restart', 'b']);
  assert.doesNotMatch(must(['tc', 'filter', 'show', 'dev', 'bv-b', 'ingress']), /berth-fastpath/);
  assert.equal(ping('b', '10.250.1.2').code, 0);
  assert.ok(forwarded() > fwd0, 'VENET_FASTPATH=no: forwarded by the host');
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\n');

  // the host end takes no routes from the container: router advertisements and redirects off
  for (const [f, v] of [
    ['ipv6/conf/bv-a/accept_ra', '0'],
    ['ipv6/conf/bv-a/accept_redirects', '0'],
    ['ipv4/conf/bv-a/accept_redirects', '0'],
  ]) {
    assert.equal(must(['cat', `/proc/sys/net/${f}`]).trim(), v, f);
  }

  // a container that takes an address it was not given cannot send from it (v4: rp_filter,
  // v6: berth's nftables rule); from its own address it can
  s.ok(['exec', 'a', '--', 'ip', 'addr', 'add', '10.250.1.99/32', 'dev', 'venet0']);
  assert.notEqual(ping('a', '10.250.1.3', '10.250.1.99').code, 0, 'spoofed IPv4 source got through');
  s.ok(['exec', 'a', '--', 'ip', '-6', 'addr', 'add', 'fd00:250:1::99/128', 'dev', 'venet0']);
  // busybox ip cannot say nodad: wait out duplicate address detection
  spawnSync('sleep', ['2.5']);
  assert.notEqual(ping('a', 'fd00:250:1::3', 'fd00:250:1::99').code, 0, 'spoofed IPv6 source got through');
  assert.match(must(['nft', 'list', 'chain', 'inet', 'berth', 'antispoof']), /packets [1-9]/, 'dropped by berth');
  assert.equal(ping('a', 'fd00:250:1::3', 'fd00:250:1::2').code, 0);

  // live add without --save: reachable now, gone after a restart
  s.ok(['set', 'b', '--ipadd', '10.250.1.7']);
  assert.equal(ping('a', '10.250.1.7').code, 0, 'live address reachable');
  s.ok(['set', 'b', '--ipdel', '10.250.1.7']);
  assert.notEqual(ping('a', '10.250.1.7').code, 0, 'deleted address unreachable');
  assert.doesNotMatch(must(['ip', 'route']), /10\.250\.1\.7/);
  s.ok(['set', 'b', '--ipadd', '10.250.1.8']);
  s.ok(['restart', 'b']);
  assert.doesNotMatch(s.ok(['exec', 'b', '--', 'ip', 'addr']), /10\.250\.1\.8/, 'unsaved address gone');
  assert.equal(ping('a', '10.250.1.3').code, 0, 'saved address back after restart');

  // resolvers: saved ones written at start, live ones written now, through the container's root
  // (a symlink the container planted never makes berth write on the host)
  s.ok(['set', 'b', '--nameserver', '192.0.2.53', '--searchdomain', 'example.com', '--save']);
  s.ok(['restart', 'b']);
  assert.equal(
    s.ok(['exec', 'b', '--', 'grep', '-v', '^#', '/etc/resolv.conf']),
    'search example.com\nnameserver 192.0.2.53\n',
  );
  // /etc/hosts: berth's block names the container on its addresses; the rest is kept
  const hosts = s.ok(['exec', 'b', '--', 'cat', '/etc/hosts']);
  assert.match(hosts, /# berth begin[^\n]*\n10\.250\.1\.3 b\nfd00:250:1::3 b\n# berth end\n/);
  assert.match(hosts, /127\.0\.0\.1\s+localhost/, "the template's lines are kept");
  s.ok(['exec', 'b', '--', 'sh', '-c', 'echo "192.0.2.99 mine" >> /etc/hosts']);
  s.ok(['set', 'b', '--hostname', 'b2', '--ipadd', '10.250.1.4']);
  const hosts2 = s.ok(['exec', 'b', '--', 'cat', '/etc/hosts']);
  assert.match(hosts2, /10\.250\.1\.3 b2\nfd00:250:1::3 b2\n10\.250\.1\.4 b2\n# berth end/);
  assert.match(hosts2, /192\.0\.2\.99 mine/, "the container's own line is kept");
  assert.equal(hosts2.match(/# berth begin/g)?.length, 1, 'one block');
  s.ok(['set', 'b', '--ipdel', '10.250.1.4']);
  // a block whose end line the container deleted: only the begin line is replaced
  s.ok([
    'exec',
    'b',
    '--',
    'sh',
    '-c',
    "sed -i '/^# berth end$/d' /etc/hosts && echo '192.0.2.98 after' >> /etc/hosts",
  ]);
  s.ok(['set', 'b', '--hostname', 'b3']);
  const hosts3 = s.ok(['exec', 'b', '--', 'cat', '/etc/hosts']);
  assert.match(hosts3, /192\.0\.2\.98 after/, 'lines after an unterminated block are kept');
  assert.equal(hosts3.match(/# berth begin/g)?.length, 1, 'still one block');

  const canary = `/tmp/berth-canary-${process.pid}`;
  s.ok(['exec', 'b', '--', 'ln', '-sf', canary, '/etc/resolv.conf']);
  s.ok(['set', 'b', '--nameserver', '2001:db8::53']);
  assert.equal(existsSync(canary), false, 'berth wrote through the symlink onto the host');
  assert.match(s.ok(['exec', 'b', '--', 'cat', canary]), /nameserver 2001:db8::53/, 'written inside the container');
  const bad = s.berth(['set', 'b', '--nameserver', '224.0.0.1']);
  assert.equal(bad.code, 72, bad.err);
  assert.equal(s.berth(['set', 'b', '--searchdomain', 'bad_domain!']).code, 73);

  // a container started without addresses has loopback only; its first live address brings the pair
  s.ok(['create', 'c']);
  s.ok(['start', 'c']);
  assert.equal(s.ok(['exec', 'c', '--', 'ls', '/sys/class/net']).trim(), 'lo');
  s.ok(['set', 'c', '--ipadd', '10.250.1.9']);
  assert.equal(ping('a', '10.250.1.9').code, 0, 'first live address reachable');
  s.ok(['stop', '--fast', 'c']);

  // stop: the pair, its routes and the proxies go; for b, after a stop killed with SIGKILL
  // half-way (busybox init takes about 2 s to power off) and the next command
  s.ok(['stop', '--fast', 'a']);
  const stop = spawnSync('sh', ['-c', `${s.wrap.join(' ')} ${BERTH} --root ${s.root} stop b & sleep 0.5; kill -9 $!`]);
  assert.equal(stop.status, 0);
  const next = s.berth(['stop', '--fast', 'b']);
  assert.ok(next.code === 0 || next.code === 31, `${next.code}: ${next.err}`);
  assert.doesNotMatch(must(['ip', 'neigh', 'show', 'proxy']), /10\.250\.1/);
  // the kernel tears a dead network namespace down in the background
  waitForSync(() => !/bv-/.test(must(['ip', '-br', 'link'])), 'host ends of the pairs to go');
  assert.doesNotMatch(must(['ip', 'route']), /10\.250\.1/);
  assert.ok(existsSync(join(s.root, 'etc/berth/ct/a.conf')));
});

function waitForSync(fn: () => boolean, what: string): void {
  for (let i = 0; i < 100; i++) {
    if (fn()) return;
    spawnSync('sleep', ['0.05']);
  }
  throw new Error(`timed out waiting for ${what}`);
}
