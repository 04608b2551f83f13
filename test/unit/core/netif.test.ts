// Bridged interfaces: NETIF round trip, defaults and stable MACs, changes, bridge addresses, plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import {
  bridgeAddr,
  bridgedStartOps,
  defaultHostIfname,
  formatNetifs,
  macFrom,
  type NetIf,
  netifAdd,
  netifChange,
  netifLiveOps,
  parseNetifs,
} from '../../../src/core/netif.ts';

const rnd = Uint8Array.from([0xff, 1, 2, 3, 4, 5, 0x10, 6, 7, 8, 9, 10]);

test('netif_add: vzctl fields, generated MACs are unicast and locally administered', () => {
  const n = netifAdd('101', [], 'eth0,,,,br0', rnd);
  assert.equal(n.mac, 'fe:01:02:03:04:05');
  assert.equal(n.hostMac, '12:06:07:08:09:0a');
  assert.equal(n.hostIfname, 'veth101.0');
  assert.equal(n.bridge, 'br0');
  assert.equal(macFrom(Uint8Array.from([1, 0, 0, 0, 0, 0])), '02:00:00:00:00:00');
  const second = netifAdd('101', [n], 'eth1', rnd);
  assert.equal(second.hostIfname, 'veth101.1');
  assert.match(defaultHostIfname('a-long-container-name', 0), /^bv[0-9a-f]{8}\.0$/);
  assert.throws(() => netifAdd('101', [n], 'eth0', rnd), /already exists/);
  assert.throws(() => netifAdd('101', [], 'eth0123456789abc', rnd), BerthError);
  assert.throws(() => netifAdd('101', [], 'eth0,01:00:00:00:00:01', rnd), /invalid MAC/);
});

test('NETIF survives formatting and parsing; --ifname changes', () => {
  const n = netifChange(netifAdd('101', [], 'eth0,,,,br0', rnd), {
    ipadd: ['10.89.0.2/24', 'FD00:89::2/64'],
    gw: '10.89.0.1',
  });
  const text = formatNetifs([n]);
  assert.equal(
    text,
    'ifname=eth0,mac=fe:01:02:03:04:05,host_ifname=veth101.0,host_mac=12:06:07:08:09:0a,bridge=br0,ip=10.89.0.2/24,ip=fd00:89::2/64,gw=10.89.0.1',
  );
  assert.deepEqual(parseNetifs(text), [n]);
  const d = netifChange(n, { ipdel: ['all'], dhcp: 'yes', bridge: '' });
  assert.deepEqual([d.ips, d.dhcp, d.bridge], [[], true, '']);
  assert.throws(() => netifChange(n, { ipadd: ['10.89.0.2'] }), /invalid address "10.89.0.2"/);
});

test('bridge addresses: a network gets its first host', () => {
  assert.equal(bridgeAddr('10.89.0.0/24'), '10.89.0.1/24');
  assert.equal(bridgeAddr('10.89.0.254/24'), '10.89.0.254/24');
  assert.equal(bridgeAddr('172.16.0.0/12'), '172.16.0.1/12');
  assert.equal(bridgeAddr('fd00:89::/64'), 'fd00:89::1/64');
});

test('start plan: host end on the bridge, MACs, addresses, gateways; DHCP sets no address', () => {
  const n = netifChange(netifAdd('101', [], 'eth0,,,,br0', rnd), { ipadd: ['10.89.0.2/24'], gw: '10.89.0.1' });
  const ops = bridgedStartOps([n], [{ name: 'br0', addrs: ['10.89.0.1/24'] }]).map((o) => o.join(' '));
  assert.deepEqual(ops, [
    'host bridge br0 - -',
    'host addr br0 10.89.0.1/24 -',
    'host up br0 - -',
    'host link-del veth101.0 - -',
    'host veth veth101.0 eth0 -',
    'host mac veth101.0 12:06:07:08:09:0a -',
    'host master veth101.0 br0 -',
    'host up veth101.0 - -',
    'ct mac eth0 fe:01:02:03:04:05 -',
    'ct up lo - -',
    'ct up eth0 - -',
    'ct addr eth0 10.89.0.2/24 -',
    'ct route 0.0.0.0/0 eth0 10.89.0.1',
  ]);
  const dhcp = bridgedStartOps([{ ...n, dhcp: true }], []).map((o) => o[1]);
  assert.ok(!dhcp.includes('addr') && !dhcp.includes('route'));
});

test('live changes: delete the gone, make the new, remake the changed', () => {
  const a = netifAdd('101', [], 'eth0,,,,br0', rnd);
  const b = netifAdd('101', [a], 'eth1', rnd);
  const ops = (o: NetIf[], n: NetIf[]) =>
    netifLiveOps(o, n, [{ name: 'br0', addrs: [] }]).map((x) => `${x[0]} ${x[1]} ${x[2]}`);
  assert.deepEqual(ops([a], [a]), []);
  assert.deepEqual(ops([a, b], [a]), ['host link-del veth101.1']);
  const added = ops([a], [a, b]);
  assert.ok(added.includes('host veth veth101.1') && !added.includes('host bridge br0'), added.join('\n'));
  const changed = ops([a], [{ ...a, ips: ['10.89.0.2/24'] }]);
  assert.deepEqual(changed.slice(0, 3), ['host link-del veth101.0', 'host bridge br0', 'host up br0']);
  assert.ok(changed.includes('ct addr eth0'));
});
