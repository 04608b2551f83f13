// NAT and port forwards, with two throwaway network namespaces: one plays the host (berth runs
// in it), one plays "the internet" behind the host's uplink. Nothing leaves the machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, ROOT_SKIP, sandbox } from './harness.ts';

const HOST = `berth-it-nat-${process.pid}`;
const NET = `berth-it-inet-${process.pid}`;
const inNs = (ns: string, cmd: string[]) =>
  spawnSync('nsenter', [`--net=/run/netns/${ns}`, ...cmd], { encoding: 'utf8' });
const must = (ns: string, cmd: string[]) => {
  const r = inNs(ns, cmd);
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const skip =
  ROOT_SKIP || (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

test('NAT and port forwards: masquerade to the internet, forwards in, conflicts refused', { skip }, async (t) => {
  // the sandbox first: its cleanup (stop, destroy) must run before the namespace goes
  const s = sandbox(t);
  for (const ns of [HOST, NET]) {
    assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
    t.after(() => spawnSync('ip', ['netns', 'del', ns]));
    must(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  // host uplink 198.51.100.1 <-> internet 198.51.100.2 (documentation prefix, namespaced)
  must(HOST, ['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', NET]);
  must(HOST, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'up0']);
  must(HOST, ['ip', 'link', 'set', 'up0', 'up']);
  must(NET, ['ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'wan0']);
  must(NET, ['ip', 'link', 'set', 'wan0', 'up']);
  must(HOST, ['ip', 'route', 'add', 'default', 'via', '198.51.100.2']);

  s.wrap = ['nsenter', `--net=/run/netns/${HOST}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="none"\n');
  s.ok(['create', 'a']);
  s.ok(['create', 'b']);
  s.ok(['set', 'a', '--ipadd', '10.77.0.2', '--nat', 'on', '--portfwd', 'tcp:8080:80', '--save']);
  s.ok(['set', 'b', '--ipadd', '10.77.0.3', '--save']);

  // conflicts and bad specs: refused, nothing written
  const before = readFileSync(join(s.root, 'etc/berth/ct/b.conf'), 'utf8');
  for (const [args, code, msg] of [
    [['--portfwd', 'tcp:8080:81'], 150, /tcp:8080:81 collides with one of container a/],
    [['--portfwd', 'tcp:8080:80:198.51.100.1'], 150, /collides with one of container a/],
    [['--portfwd', 'sctp:1:2'], 21, /protocol must be tcp or udp/],
    [['--portfwd', 'tcp:0:80'], 21, /bad port "0"/],
    [['--nat', 'maybe'], 21, /invalid value for nat/],
  ] as Array<[string[], number, RegExp]>) {
    const r = s.berth(['set', 'b', ...args, '--save']);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
    assert.equal(readFileSync(join(s.root, 'etc/berth/ct/b.conf'), 'utf8'), before);
  }
  s.ok(['set', 'b', '--portfwd', 'udp:8080:80', '--save']); // another protocol: no conflict

  s.ok(['start', 'a']);
  s.ok(['start', 'b']);
  // masquerade: a (NAT on) reaches the internet, which has no route back to 10.77/16; b does not
  assert.equal(s.berth(['exec', 'a', '--', 'ping', '-c1', '-W2', '198.51.100.2']).code, 0, 'a masquerades');
  assert.notEqual(s.berth(['exec', 'b', '--', 'ping', '-c1', '-W1', '198.51.100.2']).code, 0, 'b has no NAT');

  // a port forward reaches a server inside a: from the internet, and (hairpin) from b and from
  // a itself through the host's address
  const fetch = async (client: () => string, word: string) => {
    const server = spawn(
      'nsenter',
      [
        `--net=/run/netns/${HOST}`,
        BERTH,
        '--root',
        s.root,
        'exec',
        'a',
        '--',
        'sh',
        '-c',
        `echo ${word} | nc -l -p 80`,
      ],
      { stdio: 'ignore' },
    );
    t.after(() => server.kill('SIGKILL'));
    let got = '';
    for (let i = 0; i < 40 && !got.includes(word); i++) {
      await new Promise((r) => setTimeout(r, 100));
      got = client();
    }
    server.kill('SIGKILL');
    return got;
  };
  const nc = ['nc', '-w', '1', '198.51.100.1', '8080'];
  let got = await fetch(() => inNs(NET, ['busybox', ...nc]).stdout, 'hello-from-a');
  assert.match(got, /hello-from-a/, 'port forward reached the container');
  got = await fetch(() => s.berth(['exec', 'b', '--', ...nc]).out, 'hairpin-b');
  assert.match(got, /hairpin-b/, 'b reached the forward to a through the host address');
  got = await fetch(() => s.berth(['exec', 'a', '--', ...nc]).out, 'hairpin-a');
  assert.match(got, /hairpin-a/, 'a reached its own forward through the host address');

  // live: NAT off for a, on for b (without --save)
  s.ok(['set', 'a', '--nat', 'off']);
  s.ok(['set', 'b', '--nat', 'on']);
  assert.notEqual(s.berth(['exec', 'a', '--', 'ping', '-c1', '-W1', '198.51.100.2']).code, 0, 'a: NAT off');
  assert.equal(s.berth(['exec', 'b', '--', 'ping', '-c1', '-W2', '198.51.100.2']).code, 0, 'b: NAT on');

  // stop: no element of either container remains in berth's table
  s.ok(['stop', '--fast', 'a']);
  s.ok(['stop', '--fast', 'b']);
  const table = must(HOST, ['nft', 'list', 'table', 'inet', 'berth']);
  assert.doesNotMatch(table, /10\.77\.0\./, table);
});
