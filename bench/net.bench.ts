// Network setup cost: berth's routed pair (rtnetlink from the helper, inside `berth start`)
// against the naive 8-command `ip` sequence, in one run, inside a throwaway network namespace
// that plays the host. Not part of the tests. Needs root. The naive sequence runs from one shell
// in that namespace, minus the cost of that shell itself.
//
// berth's network part is measured as the paired difference between starting a container with
// one IPv4 and one IPv6 address and starting the same container without any (which makes no
// pair at all), each timed from berth's main() to its last trace mark (BERTH_TRACE). The naive
// sequence: netns add, veth add, move the peer, 2 addr add, 3 link up. LXC's veth part (when
// lxc-start is installed) is the paired difference of lxc-start with a routed veth and with no
// network, on the same busybox rootfs. (A bridged LXC veth cannot run here: LXC looks bridges up
// in /sys/class/net, which shows the namespace sysfs was mounted in, not the one it runs in.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopLxcfsUnder } from './cleanup.ts';
import { BERTH } from './paths.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env['ROUNDS'] ?? 25);
const NS = `berth-bench-net-${process.pid}`;

function run(cmd: string[], check = true): number {
  const [file = '', ...args] = cmd;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (check && r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

/**
 * berth's own time for a call: main() to the end of the work (BERTH_TRACE marks), leaving out
 * Node's start-up, whose bimodal noise (about ±40 ms on the development VMs) would swamp a
 * difference of a few milliseconds.
 */
function traced(cmd: string[]): number {
  const r = spawnSync(cmd[0] ?? '', cmd.slice(1), { encoding: 'utf8', env: { ...process.env, BERTH_TRACE: '1' } });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const marks = [...r.stderr.matchAll(/^berth-trace: ([\d.]+) /gm)].map((m) => Number(m[1]));
  return (marks.at(-1) ?? 0) - (marks[0] ?? 0);
}

if (process.getuid?.() !== 0) throw new Error('run as root');
const work = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
const inNs = ['nsenter', `--net=/run/netns/${NS}`];
const berth = (...args: string[]) => [...inNs, BERTH, '--root', work, ...args];
const naive: number[] = [];
const gbps: Record<string, number> = {};
const ratios: Record<string, number> = {};
const THROUGHPUT_ROUNDS = Number(process.env['THROUGHPUT_ROUNDS'] ?? 7);
const withNet: number[] = [];
const without: number[] = [];
const netPart: number[] = [];
const lxcPart: number[] = [];
const LXC = spawnSync('sh', ['-c', 'command -v lxc-start']).status === 0;
const lxcPath = join(work, 'lxc');

/**
 * Two LXC containers on the busybox rootfs: l0 without network, l1 with LXC's routed veth
 * (veth.mode = router: host routes to its addresses, the closest match to berth's venet pair).
 */
function setupLxc(): void {
  const tarball = join(work, 'var/lib/berth/template/cache/busybox.tar.zst');
  for (const [name, net] of [
    ['l0', ['lxc.net.0.type = empty']],
    [
      'l1',
      [
        'lxc.net.0.type = veth',
        'lxc.net.0.veth.mode = router',
        'lxc.net.0.flags = up',
        'lxc.net.0.name = eth0',
        'lxc.net.0.ipv4.address = 10.253.0.2/32',
        'lxc.net.0.ipv6.address = fd00:253::2/128',
      ],
    ],
  ] as const) {
    const rootfs = join(lxcPath, name, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    run(['tar', '--zstd', '-xpf', tarball, '-C', rootfs]);
    const config = [
      `lxc.uts.name = ${name}`,
      `lxc.rootfs.path = dir:${rootfs}`,
      ...net,
      'lxc.init.cmd = /sbin/init',
      'lxc.console.path = none',
      'lxc.apparmor.profile = unconfined',
      'lxc.mount.auto = proc:mixed sys:ro cgroup:mixed',
      'lxc.tty.max = 0',
      '',
    ];
    writeFileSync(join(lxcPath, name, 'config'), config.join('\n'));
  }
}
const lxc = (cmd: string, name: string, ...args: string[]) => [...inNs, cmd, '-P', lxcPath, '-n', name, ...args];

try {
  run(['ip', 'netns', 'add', NS]);
  run([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
  mkdirSync(join(work, 'etc/berth'), { recursive: true });
  writeFileSync(join(work, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="none"\n');
  run(berth('template', 'create', 'busybox'));
  run(berth('create', 'n1'));
  run(berth('create', 'n0'));
  run(berth('set', 'n1', '--ipadd', '10.251.0.2', '--ipadd', 'fd00:251::2', '--save'));
  if (LXC) setupLxc();
  for (let i = 0; i < ROUNDS; i++) {
    // the naive sequence, each command a process, as a shell script would do it
    const peer = `bnp${i}`;
    // one shell in the namespace runs the 8 commands (one nsenter, as for each berth call)
    const script = [
      `ip netns add ${peer}`,
      'ip link add bnh0 type veth peer name bnc0',
      `ip link set bnc0 netns ${peer}`,
      'ip addr add 10.252.0.1/32 dev bnh0',
      `ip -n ${peer} addr add 10.252.0.2/32 dev bnc0`,
      'ip link set bnh0 up',
      `ip -n ${peer} link set bnc0 up`,
      `ip -n ${peer} link set lo up`,
    ].join(' && ');
    const ms = run([...inNs, 'sh', '-c', script]) - run([...inNs, 'sh', '-c', 'true']);
    naive.push(ms);
    run([...inNs, 'ip', 'netns', 'del', peer]);
    run([...inNs, 'ip', 'link', 'del', 'bnh0'], false);
    // berth: the same start with and without addresses, back to back
    const a = traced(berth('start', 'n0'));
    const b = traced(berth('start', 'n1'));
    without.push(a);
    withNet.push(b);
    netPart.push(b - a);
    run(berth('stop', '--fast', 'n0'));
    run(berth('stop', '--fast', 'n1'));
    if (LXC) {
      // LXC's network part: the same start with and without its veth, back to back
      const l0 = run(lxc('lxc-start', 'l0', '-d'));
      const l1 = run(lxc('lxc-start', 'l1', '-d'));
      lxcPart.push(l1 - l0);
      run(lxc('lxc-stop', 'l0', '-k'));
      run(lxc('lxc-stop', 'l1', '-k'));
    }
  }
  if (spawnSync('sh', ['-c', 'command -v iperf3']).status === 0) throughput();
} finally {
  for (const name of ['l0', 'l1'])
    spawnSync('nsenter', [`--net=/run/netns/${NS}`, 'lxc-stop', '-P', lxcPath, '-n', name, '-k']);
  for (const ct of ['n0', 'n1', 'n2', 'n3', 'n4']) {
    spawnSync(berth('stop', '--fast', ct)[0] ?? '', berth('stop', '--fast', ct).slice(1));
    spawnSync(berth('destroy', ct)[0] ?? '', berth('destroy', ct).slice(1));
  }
  spawnSync('ip', ['netns', 'del', NS]);
  stopLxcfsUnder(work);
  rmSync(work, { recursive: true, force: true });
}

/**
 * TCP throughput with iperf3, THROUGHPUT_ROUNDS (7) interleaved rounds of 2 s runs: host
 * loopback, container to container (with the fast path, and a second pair started with
 * VENET_FASTPATH=no), container to host. iperf3 runs from the host in the container's network
 * namespace (nsenter --net): the kernel path of the packets is the container's, and the busybox
 * template has no iperf3. Client and server are pinned to CPUs 0 and 1 (iperf3 -A) where there
 * are two: unpinned, loopback alone swung by 2x between runs.
 */
function throughput(): void {
  for (const [ct, ip] of [
    ['n2', '10.251.0.3'],
    ['n3', '10.251.0.4'],
    ['n4', '10.251.0.5'],
  ] as const) {
    run(berth('create', ct));
    run(berth('set', ct, '--ipadd', ip, '--save'));
  }
  run([...inNs, 'ip', 'addr', 'add', '10.251.0.1/32', 'dev', 'lo']);
  run(berth('start', 'n1'));
  run(berth('start', 'n2'));
  const conf = join(work, 'etc/berth/berth.conf');
  writeFileSync(conf, 'NEIGHBOUR_DEVS="none"\nVENET_FASTPATH="no"\n');
  run(berth('start', 'n3'));
  run(berth('start', 'n4'));
  writeFileSync(conf, 'NEIGHBOUR_DEVS="none"\n');
  const pin = availableParallelism() >= 2 ? ['-A', '0,1'] : [];
  const pidOf = (ct: string) =>
    JSON.parse(
      spawnSync(berth('status', ct, '--json')[0] ?? '', berth('status', ct, '--json').slice(1), { encoding: 'utf8' })
        .stdout,
    ).pid as number;
  const netOf = (ct: string) => ['nsenter', `--net=/proc/${pidOf(ct)}/ns/net`];
  const measure = (server: string[], client: string[], dst: string): number => {
    const srv = spawnSync('sh', ['-c', `${server.join(' ')} iperf3 -s -1 -D -B ${dst} -p 5299 && sleep 0.3`]);
    if (srv.status !== 0) throw new Error('iperf3 server did not start');
    const r = spawnSync(
      client[0] ?? '',
      [...client.slice(1), 'iperf3', '-c', dst, '-p', '5299', '-t', '2', ...pin, '-J'],
      {
        encoding: 'utf8',
      },
    );
    return (JSON.parse(r.stdout).end.sum_received.bits_per_second as number) / 1e9;
  };
  const runs: Record<string, number[]> = {};
  for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
    for (const [k, server, client, dst] of [
      ['host loopback', inNs, inNs, '127.0.0.1'],
      ['container to container', netOf('n1'), netOf('n2'), '10.251.0.2'],
      ['container to container, no fast path', netOf('n3'), netOf('n4'), '10.251.0.4'],
      ['container to host', inNs, netOf('n1'), '10.251.0.1'],
    ] as const) {
      runs[k] ??= [];
      runs[k].push(measure([...server], [...client], dst));
    }
  }
  for (const [k, v] of Object.entries(runs)) gbps[k] = median(v);
  // each round's ratio to the loopback run just before it: the VM's slow and fast spells
  // move both numbers of a round together
  const lo = runs['host loopback'] ?? [];
  for (const k of ['container to container', 'container to container, no fast path', 'container to host']) {
    ratios[k] = median((runs[k] ?? []).map((v, i) => v / (lo[i] ?? v)));
  }
}

const n = median(naive);
const p = median(netPart);
console.log(`median ms over ${ROUNDS} rounds, inside a network namespace playing the host`);
console.log(`naive ip sequence (8 commands)        ${n.toFixed(1)}`);
console.log(`berth start, no address (main..done)  ${median(without).toFixed(1)}`);
console.log(`berth start, 1 IPv4 + 1 IPv6          ${median(withNet).toFixed(1)}`);
console.log(`berth network part (paired)           ${p.toFixed(1)}  = ${(p / n).toFixed(2)} of the naive sequence`);
if (lxcPart.length) {
  const l = median(lxcPart);
  console.log(`LXC veth part (lxc-start paired)      ${l.toFixed(1)}  = ${(l / n).toFixed(2)} of the naive sequence`);
}
for (const [k, v] of Object.entries(gbps)) {
  const ratio = ratios[k] === undefined ? '' : `  = ${ratios[k].toFixed(2)} of loopback (median of paired ratios)`;
  console.log(`iperf3 ${k.padEnd(38)} ${v.toFixed(2)} Gbit/s${ratio}`);
}
