// Files berth writes into containers: the /etc/hosts block and systemd-networkd units.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpList } from '../../../src/core/net.ts';
import { hostsBlock, networkdFiles } from '../../../src/core/netconf.ts';
import { parseNetifs } from '../../../src/core/netif.ts';

const netif = parseNetifs(
  'ifname=eth0,mac=02:00:00:00:00:01,host_ifname=veth1.0,host_mac=02:00:00:00:00:02,bridge=br0,ip=10.89.0.2/24,gw=10.89.0.1',
);

test('/etc/hosts block: the name on every own address, 127.0.1.1 without one', () => {
  assert.equal(
    hostsBlock('web1.example.com', parseIpList('192.0.2.5 2001:db8::5'), netif).content,
    "# berth begin: this container's name (from HOSTNAME, IP_ADDRESS, NETIF)\n" +
      '192.0.2.5 web1.example.com web1\n2001:db8::5 web1.example.com web1\n10.89.0.2 web1.example.com web1\n# berth end\n',
  );
  assert.match(hostsBlock('ct101', [], []).content, /\n127\.0\.1\.1 ct101\n# berth end\n$/);
});

test('networkd units: venet0 always (no stale addresses), one per bridged interface', () => {
  const files = networkdFiles(parseIpList('192.0.2.5 2001:db8::5'), [
    ...netif,
    { ...netif[0], ifname: 'eth1', dhcp: true } as never,
  ]);
  assert.deepEqual(
    files.map((f) => f.dest),
    [
      '/etc/systemd/network/10-berth-venet0.network',
      '/etc/systemd/network/10-berth-eth0.network',
      '/etc/systemd/network/10-berth-eth1.network',
    ],
  );
  assert.match(
    files[0]?.content ?? '',
    /Address=192\.0\.2\.5\/32\nAddress=2001:db8::5\/128\n[\s\S]*Gateway=169\.254\.0\.1\nGatewayOnLink=yes/,
  );
  // an IPv4 address wants no broadcast, as berth sets it (else networkd 252 fails the link, ERANGE)
  assert.match(
    files[1]?.content ?? '',
    /Gateway=10\.89\.0\.1\n\n\[Address\]\nAddress=10\.89\.0\.2\/24\nBroadcast=no\n$/,
  );
  const v6 = networkdFiles([], [{ ...netif[0], ips: ['fd00:89::2/64'] } as never])[1]?.content ?? '';
  assert.match(v6, /\[Address\]\nAddress=fd00:89::2\/64\n$/);
  assert.match(files[2]?.content ?? '', /DHCP=yes/);
  assert.doesNotMatch(networkdFiles([], [])[0]?.content ?? '', /Address=/);
});
