// Routed networking policy: address validation and canonical forms, list changes, names, plans.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import {
  formatPortFwd,
  nftElementScript,
  nftElements,
  parsePortFwd,
  parsePortFwdList,
  portFwdChanges,
  portsCollide,
} from '../../../src/core/nat.ts';
import {
  hostIfName,
  ipChanges,
  ipConflict,
  netArgs,
  parseIp,
  parseIpList,
  routedStartOps,
  venetFastpath,
  venetMtu,
} from '../../../src/core/net.ts';

test('addresses are validated and canonical (RFC 5952 for IPv6)', () => {
  assert.deepEqual(parseIp('192.0.2.10'), { family: 4, addr: '192.0.2.10' });
  assert.deepEqual(parseIp('192.0.2.10/32'), { family: 4, addr: '192.0.2.10' });
  const v6: Array<[string, string]> = [
    ['2001:DB8::10', '2001:db8::10'],
    ['2001:0db8:0000:0000:0000:0000:0000:0010', '2001:db8::10'],
    ['2001:db8:0:1:0:0:0:1/128', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fd00::', 'fd00::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [raw, want] of v6) assert.deepEqual(parseIp(raw), { family: 6, addr: want }, raw);
});

test('addresses that cannot be a container address get BAD_IP (exit 71)', () => {
  const bad = [
    '',
    '10.0.0',
    '10.0.0.256',
    '010.0.0.1',
    '10.0.0.1/24',
    '10.0.0.1/32/1',
    '0.0.0.0',
    '127.0.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '169.254.0.1',
    '::',
    '::1',
    'ff02::1',
    'fe80::1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:192.0.2.1',
    '2001:db8::/64',
    'g::1',
    'example.com',
  ];
  for (const raw of bad) {
    assert.throws(
      () => parseIp(raw),
      (e: unknown) => e instanceof BerthError && e.code === 'BAD_IP' && e.exitCode === 71,
      raw,
    );
  }
});

test('IP_ADDRESS lists drop duplicates; --ipadd/--ipdel changes are minimal', () => {
  const cur = parseIpList('192.0.2.1  2001:db8::1 2001:DB8:0::1');
  assert.deepEqual(
    cur.map((i) => i.addr),
    ['192.0.2.1', '2001:db8::1'],
  );
  const c = ipChanges(cur, ['192.0.2.2', '192.0.2.1'], ['2001:db8::1', '192.0.2.9']);
  assert.deepEqual(
    c.next.map((i) => i.addr),
    ['192.0.2.1', '192.0.2.2'],
  );
  assert.deepEqual(
    c.add.map((i) => i.addr),
    ['192.0.2.2'],
  );
  assert.deepEqual(
    c.del.map((i) => i.addr),
    ['2001:db8::1'],
  );
  const all = ipChanges(cur, ['192.0.2.1'], ['all']);
  assert.deepEqual(
    all.next.map((i) => i.addr),
    ['192.0.2.1'],
  );
  assert.deepEqual(all.add, [], 'deleted and re-added: untouched');
  assert.deepEqual(
    all.del.map((i) => i.addr),
    ['2001:db8::1'],
  );
});

test('an address held by another container is a conflict', () => {
  const others = [{ id: '101', ips: parseIpList('192.0.2.1 2001:db8::1') }];
  assert.deepEqual(ipConflict(parseIpList('2001:db8:0::1'), others), { addr: '2001:db8::1', id: '101' });
  assert.equal(ipConflict(parseIpList('192.0.2.2'), others), null);
});

test('host interface names fit IFNAMSIZ', () => {
  assert.equal(hostIfName('101'), 'bv-101');
  assert.equal(hostIfName('web-01.prod'), 'bv-web-01.prod');
  const long = hostIfName('a-very-long-container-name');
  assert.match(long, /^bv-[0-9a-f]{8}$/);
  assert.ok(long.length <= 15);
});

test('VENET_MTU: 65535 unless set; 1280..65535 or the config is invalid (exit 85)', () => {
  assert.equal(venetMtu(undefined, 'berth.conf'), 65535);
  assert.equal(venetMtu('1500', 'berth.conf'), 1500);
  for (const bad of ['1279', '65536', '9000x', '-1', '1e4', ' 1500']) {
    assert.throws(
      () => venetMtu(bad, 'berth.conf'),
      (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && e.message.includes('VENET_MTU'),
    );
  }
});

test('VENET_FASTPATH: yes unless set; yes or no, or the config is invalid (exit 85)', () => {
  assert.equal(venetFastpath(undefined, 'berth.conf'), true);
  assert.equal(venetFastpath('no', 'berth.conf'), false);
  assert.throws(
    () => venetFastpath('off', 'berth.conf'),
    (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && e.message.includes('VENET_FASTPATH'),
  );
});

test('start plan: nothing without addresses; pair, gateways, routes and proxies with them', () => {
  assert.deepEqual(
    routedStartOps('101', [], { neighbourDevs: [], mtu: 65535, fastpath: true, enable: [], ipv6: true }),
    [],
  );
  const v4only = netArgs(
    routedStartOps('101', parseIpList('192.0.2.5'), {
      neighbourDevs: [],
      mtu: 65535,
      fastpath: false,
      enable: [],
      ipv6: false,
    }),
  );
  assert.ok(!v4only.join(' ').includes('fe80::1') && !v4only.join(' ').includes('::/0'), 'no IPv6 part without IPv6');
  assert.ok(!v4only.join(' ').includes('fastpath'), 'VENET_FASTPATH=no: no program');
  const args = netArgs(
    routedStartOps('101', parseIpList('192.0.2.5 2001:db8::5'), {
      neighbourDevs: ['eth0'],
      mtu: 65535,
      fastpath: true,
      enable: ['ipv4/ip_forward'],
      ipv6: true,
    }),
  ).join(' ');
  assert.equal(
    args,
    [
      '--net host sysctl ipv4/ip_forward 1 -',
      '--net host link-del bv-101 - -',
      '--net host veth bv-101 venet0 65535',
      '--net host sysctl ipv4/conf/bv-101/rp_filter 1 -',
      '--net host sysctl ipv4/conf/bv-101/accept_redirects 0 -',
      '--net host sysctl ipv6/conf/bv-101/accept_ra 0 -',
      '--net host sysctl ipv6/conf/bv-101/accept_redirects 0 -',
      '--net host up bv-101 - -',
      '--net host ?fastpath bv-101 48711 -',
      '--net host addr bv-101 169.254.0.1/32 -',
      '--net host addr bv-101 fe80::1/64 -',
      '--net ct up lo - -',
      '--net ct sysctl ipv6/conf/venet0/accept_ra 0 -',
      '--net ct up venet0 - -',
      '--net ct route 0.0.0.0/0 venet0 169.254.0.1',
      '--net ct route ::/0 venet0 fe80::1',
      '--net host route-metric 192.0.2.5/32 bv-101 48711',
      '--net host proxy eth0 192.0.2.5 -',
      '--net host ?announce eth0 192.0.2.5 -',
      '--net ct addr venet0 192.0.2.5/32 -',
      '--net host route-metric 2001:db8::5/128 bv-101 48711',
      '--net host proxy eth0 2001:db8::5 -',
      '--net host ?announce eth0 2001:db8::5 -',
      '--net ct addr venet0 2001:db8::5/128 -',
    ].join(' '),
  );
});

test('port forwards: parsing, canonical form, collisions, changes', () => {
  assert.deepEqual(parsePortFwd('tcp:8080:80'), { proto: 'tcp', hostPort: 8080, ctPort: 80, hostIp: null });
  assert.equal(formatPortFwd(parsePortFwd('udp:53:5353:2001:DB8::1')), 'udp:53:5353:2001:db8::1');
  for (const bad of ['tcp:8080', 'icmp:1:2', 'tcp:0:80', 'tcp:80:65536', 'tcp:8o:80', 'tcp:80:80:10.0.0']) {
    assert.throws(() => parsePortFwd(bad), BerthError, bad);
  }
  const f = (s: string) => parsePortFwd(s);
  assert.ok(portsCollide(f('tcp:80:80'), f('tcp:80:81:192.0.2.1')), 'all addresses vs one');
  assert.ok(!portsCollide(f('tcp:80:80:192.0.2.1'), f('tcp:80:80:192.0.2.2')), 'two different host addresses');
  assert.ok(!portsCollide(f('tcp:80:80'), f('udp:80:80')), 'two protocols');
  const cur = parsePortFwdList('tcp:80:80 udp:53:53');
  assert.deepEqual(portFwdChanges(cur, ['tcp:443:443'], ['udp:53:53']).map(formatPortFwd), [
    'tcp:80:80',
    'tcp:443:443',
  ]);
  assert.deepEqual(
    portFwdChanges(cur, ['tcp:80:80'], []).map(formatPortFwd),
    ['tcp:80:80', 'udp:53:53'],
    'repeat: no-op',
  );
  assert.throws(() => portFwdChanges(cur, ['tcp:80:81'], []), /collides with tcp:80:80/);
  assert.deepEqual(portFwdChanges(cur, [], ['all']), []);
});

test('nftables elements: private addresses for NAT, forwards to the first address of a family', () => {
  const ips = parseIpList('203.0.113.5 10.0.0.5 fd00::5 2001:db8::5');
  assert.deepEqual(nftElements(ips, true, []), ['nat4 { 10.0.0.5 }', 'nat6 { fd00::5 }']);
  assert.deepEqual(nftElements(ips, false, parsePortFwdList('tcp:8080:80 udp:53:53:192.0.2.1')), [
    'fwd4 { tcp . 8080 : 203.0.113.5 . 80 }',
    'fwd6 { tcp . 8080 : fd00::5 . 80 }',
    'fwd4ip { 192.0.2.1 . udp . 53 : 203.0.113.5 . 53 }',
  ]);
  assert.equal(
    nftElementScript(['nat4 { 10.0.0.5 }'], ['nat4 { 10.0.0.6 }']),
    'add element inet berth nat4 { 10.0.0.6 }\ndelete element inet berth nat4 { 10.0.0.6 }\nadd element inet berth nat4 { 10.0.0.5 }\n',
  );
  assert.equal(nftElementScript([], []), '');
});
