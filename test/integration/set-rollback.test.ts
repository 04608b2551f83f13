// berth set takes effect entirely or not at all: when a late step fails (a file in the
// container that berth refuses to write), the live hostname, limits, addresses, routes and
// nftables elements are put back, and the saved config is untouched byte for byte. Checked
// from the host side (nsenter, the cgroup counters, the files).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const pidOf = (s: Sandbox, id: string): number => JSON.parse(s.ok(['status', id, '--json'])).pid;

/** What the host sees of a running container: hostname, limits (pages, processes, CPU quota). */
function facts(s: Sandbox, id: string): Record<string, unknown> {
  const pid = pidOf(s, id);
  const uts = spawnSync('nsenter', [`--uts=/proc/${pid}/ns/uts`, 'uname', '-n'], { encoding: 'utf8' });
  const counters = JSON.parse(s.ok(['stat', id, '--json'])) as Array<Record<string, unknown>>;
  const limit = (r: string) => counters.find((c) => c['resource'] === r)?.['limit'];
  return {
    hostname: uts.stdout.trim(),
    inside: s.ok(['exec', id, '--', 'hostname']).trim(),
    physpages: limit('physpages'),
    numproc: limit('numproc'),
    row: JSON.parse(s.ok(['list', '--json', '-o', 'ctid,hostname,ip,physpages,numproc,cpus']))[0],
  };
}

test('set fails late (a file berth refuses): hostname, limits and files put back, config untouched', {
  skip: ROOT_SKIP,
}, (t) => {
  const s = sandbox(t);
  const conf = join(s.root, 'etc/berth/ct/301.conf');
  s.ok(['create', '301', '--hostname', 'web1']);
  s.ok(['start', '301']);
  const hosts = s.ok(['exec', '301', '--', 'cat', '/etc/hosts']);
  assert.match(hosts, /web1/);
  const saved = readFileSync(conf, 'utf8');
  const before = facts(s, '301');
  assert.equal(before['hostname'], 'web1');
  const sh = (cmd: string) => s.ok(['exec', '301', '--', 'sh', '-c', cmd]);
  const unchanged = (what: string) => {
    assert.deepEqual(facts(s, '301'), before, `${what}: live state changed`);
    assert.equal(readFileSync(conf, 'utf8'), saved, `${what}: config changed`);
  };
  const change = ['--hostname', 'other', '--ram', '128M', '--numproc', '77', '--cpus', '1', '--save'];
  for (const [what, plant] of [
    ['/etc/hosts a symlink to a directory', 'rm /etc/hosts; ln -s /tmp /etc/hosts'],
    ['/etc/hosts of over 1 MiB (EFBIG)', 'rm /etc/hosts; head -c 1100000 /dev/zero | tr "\\0" x > /etc/hosts'],
    ['/etc/hosts a directory', 'rm /etc/hosts; mkdir /etc/hosts'],
  ]) {
    sh(plant as string);
    const r = s.berth(['set', '301', ...change]);
    assert.equal(r.code, 3, `${what}: ${r.err}`);
    assert.match(r.err, /\/etc\/hosts/, what);
    unchanged(what as string);
    sh('rm -rf /etc/hosts');
  }
  s.ok(['exec', '301', '--', 'sh', '-c', 'cat > /etc/hosts'], { input: hosts });
  // the last step fails (resolv.conf): the hosts block written before it is put back too
  sh('rm -f /etc/resolv.conf; mkdir /etc/resolv.conf');
  const r = s.berth(['set', '301', ...change, '--nameserver', '192.0.2.53']);
  assert.equal(r.code, 3, r.err);
  assert.match(r.err, /resolv\.conf/);
  unchanged('resolv.conf a directory');
  assert.equal(s.ok(['exec', '301', '--', 'cat', '/etc/hosts']), hosts, '/etc/hosts as it was');
  // not saved: the same, live only
  assert.equal(s.berth(['set', '301', '--hostname', 'other', '--nameserver', '192.0.2.53']).code, 3);
  unchanged('resolv.conf a directory, without --save');

  // repaired, the same change takes effect and is saved
  sh('rmdir /etc/resolv.conf');
  s.ok(['set', '301', ...change, '--nameserver', '192.0.2.53']);
  const after = facts(s, '301');
  assert.deepEqual(
    [after['hostname'], after['inside'], after['physpages'], after['numproc']],
    ['other', 'other', 32768, 77],
  );
  assert.match(readFileSync(conf, 'utf8'), /^HOSTNAME="other"$/m);
  assert.match(s.ok(['exec', '301', '--', 'cat', '/etc/hosts']), /other/);
  assert.match(s.ok(['exec', '301', '--', 'cat', '/etc/resolv.conf']), /nameserver 192\.0\.2\.53/);
  s.ok(['stop', '--fast', '301']);
});

const NS = `berth-it-setrb-${process.pid}`;
const inNs = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${NS}`, ...cmd], { encoding: 'utf8' });
const skipNet =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

test('set --ipadd/--ipdel/--nat that fail late leave addresses, routes and nftables as they were', {
  skip: skipNet,
}, (t) => {
  const s = sandbox(t); // first: its cleanup runs before the namespace goes
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  for (const cmd of [
    ['ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p'],
    ['ip', 'link', 'set', 'up0', 'up'],
  ]) {
    assert.equal(inNs(cmd).status, 0, cmd.join(' '));
  }
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="up0"\n');
  const conf = join(s.root, 'etc/berth/ct/a.conf');
  s.ok(['create', 'a']);
  s.ok(['set', 'a', '--ipadd', '10.252.1.2', '--save']);
  s.ok(['start', 'a']);
  const pid = pidOf(s, 'a');
  const net = () => ({
    inside: spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'venet0'], {
      encoding: 'utf8',
    }).stdout.match(/inet \S+/g),
    routes: inNs(['ip', 'route', 'show']).stdout.match(/^10\.252\S+/gm),
    proxies: inNs(['ip', 'neigh', 'show', 'proxy']).stdout.match(/^10\.252\S+/gm),
    nft: inNs(['nft', 'list', 'ruleset']).stdout.match(/10\.252\.\d+\.\d+/g),
    config: readFileSync(conf, 'utf8'),
  });
  const before = net();
  assert.deepEqual(before.inside, ['inet 10.252.1.2/32']);
  assert.deepEqual(before.routes, ['10.252.1.2']);
  s.ok(['exec', 'a', '--', 'sh', '-c', 'rm /etc/hosts; mkdir /etc/hosts']);
  for (const args of [
    ['--ipadd', '10.252.1.3', '--save'],
    ['--ipadd', '10.252.1.3'],
    ['--ipdel', '10.252.1.2', '--save'],
    ['--ipdel', 'all', '--ipadd', '10.252.1.4'],
    ['--nat', 'on', '--ipadd', '10.252.1.5', '--portfwd', 'tcp:8080:80', '--save'],
  ]) {
    const r = s.berth(['set', 'a', ...args]);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.err}`);
    assert.deepEqual(net(), before, `${args.join(' ')}: something stayed changed`);
  }
  // repaired, the change takes effect
  s.ok(['exec', 'a', '--', 'sh', '-c', 'rmdir /etc/hosts; touch /etc/hosts']);
  s.ok(['set', 'a', '--ipadd', '10.252.1.3', '--nat', 'on', '--save']);
  const after = net();
  assert.deepEqual(after.inside, ['inet 10.252.1.2/32', 'inet 10.252.1.3/32']);
  assert.deepEqual(after.routes?.sort(), ['10.252.1.2', '10.252.1.3']);
  assert.ok(after.nft?.includes('10.252.1.3'), 'the NAT elements are there');
  assert.match(after.config, /^IP_ADDRESS="10\.252\.1\.2 10\.252\.1\.3"$/m);
  s.ok(['stop', '--fast', 'a']);
});
