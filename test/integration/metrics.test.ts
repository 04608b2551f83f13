// berth stat --prometheus: running, suspended, stopped and image containers pass Debian's
// `promtool check metrics` without a lint warning, and the values are the host's (the cgroup's
// memory limit and task count, the host end's traffic counters); a container's own traffic on
// interfaces it controls does not count.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

const PROMTOOL_SKIP =
  spawnSync('promtool', ['--version']).status === 0 ? false : 'needs promtool (the setup installs Debian prometheus)';

/** A file of the container's limits level: v1 in its controller's hierarchy, else the unified one. */
function cgroupFile(s: Sandbox, id: string, controller: string, v1: string, v2: string): string {
  const v1Path = join(s.layoutPath(controller, id), v1);
  return existsSync(v1Path) ? v1Path : join('/sys/fs/cgroup', s.cgroupParent, id, v2);
}

/** promtool's verdict: exit 0 and nothing said (a lint warning is a line of output). */
function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool lint warnings');
}

/** The value of the one series with these labels (all of them, in any order). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('stat --prometheus: promtool passes it; limits, tasks and states are the host', {
  skip: ROOT_SKIP || PROMTOOL_SKIP,
}, (t) => {
  const s = sandbox(t);
  const began = Date.now();
  s.ok(['create', 'run1', '--hostname', 'web-1']);
  s.ok(['set', 'run1', '--ram', '256M', '--numproc', '150', '--description', 'web {1}, é', '--save']);
  s.ok(['create', 'off1']);
  s.ok(['set', 'off1', '--ram', '128M', '--save']);
  s.ok(['create', 'img1', '--layout', 'image', '--diskspace', '256M']);
  s.ok(['create', 'sus1']);
  for (const id of ['run1', 'img1', 'sus1']) s.ok(['start', id]);
  s.ok(['suspend', 'sus1']);
  s.ok(['exec', 'run1', '--', 'sh', '-c', 'sleep 30 >/dev/null 2>&1 & sleep 30 >/dev/null 2>&1 &']);

  const text = s.ok(['stat', '--prometheus']);
  promtool(text);
  assert.equal(value(text, 'berth_containers', { state: 'running' }), 2);
  assert.equal(value(text, 'berth_containers', { state: 'suspended' }), 1);
  assert.equal(value(text, 'berth_containers', { state: 'stopped' }), 1);
  assert.equal(value(text, 'berth_build_info'), 1);
  assert.match(text, /^berth_container_info\{ctid="run1",hostname="web-1",description="web \{1\}, é",/m);
  for (const [id, state] of [
    ['run1', 'running'],
    ['sus1', 'suspended'],
    ['off1', 'stopped'],
  ]) {
    assert.equal(value(text, 'berth_container_state', { ctid: `${id}`, state: `${state}` }), 1, `${id} ${state}`);
    assert.equal(value(text, 'berth_container_state', { ctid: `${id}`, state: 'broken' }), 0);
  }

  // what the kernel holds: the cgroup's memory limit (bytes) and task count
  const limitFile = cgroupFile(s, 'run1', 'memory', 'memory.limit_in_bytes', 'memory.max');
  assert.equal(value(text, 'berth_container_memory_limit_bytes', { ctid: 'run1' }), 268435456);
  assert.equal(Number(readFileSync(limitFile, 'utf8')), 268435456);
  const tasks = Number(readFileSync(cgroupFile(s, 'run1', 'pids', 'pids.current', 'pids.current'), 'utf8'));
  assert.ok(tasks >= 3, `init and two sleeps: ${tasks}`);
  assert.equal(value(text, 'berth_container_processes_usage', { ctid: 'run1' }), tasks);
  assert.equal(value(text, 'berth_container_processes_limit', { ctid: 'run1' }), 150);
  assert.ok((value(text, 'berth_container_memory_usage_bytes', { ctid: 'run1' }) ?? 0) > 0);
  assert.ok((value(text, 'berth_container_cpu_seconds_total', { ctid: 'run1' }) ?? -1) >= 0);
  assert.equal(value(text, 'berth_container_oom_kills_total', { ctid: 'run1' }), 0);
  const started = value(text, 'berth_container_start_time_seconds', { ctid: 'run1' }) ?? 0;
  assert.ok(started > began / 1000 - 1 && started <= Date.now() / 1000, `start time ${started}`);
  // a suspended container still has its counters; a stopped one its config's limits only
  assert.ok((value(text, 'berth_container_memory_usage_bytes', { ctid: 'sus1' }) ?? 0) > 0);
  assert.equal(value(text, 'berth_container_memory_limit_bytes', { ctid: 'off1' }), 134217728);
  assert.doesNotMatch(
    text,
    /^berth_container_(cpu_seconds_total|memory_usage_bytes|oom_kills_total|start_time_seconds)\{ctid="off1"/m,
  );
  // image layout: use on its filesystem (statfs) and its size
  const used = value(text, 'berth_container_disk_usage_bytes', { ctid: 'img1' }) ?? 0;
  assert.ok(used > 0 && used < 256 * 1024 * 1024, `img1 uses ${used}`);
  assert.equal(value(text, 'berth_container_disk_limit_bytes', { ctid: 'img1' }), 256 * 1024 * 1024);
  assert.equal(value(text, 'berth_container_disk_usage_bytes', { ctid: 'run1' }), undefined, 'overlay: not walked');

  // named containers: theirs only, without the host-wide series; a stopped one is no error
  const one = s.ok(['stat', '--prometheus', 'off1']);
  promtool(one);
  assert.doesNotMatch(one, /berth_build_info|berth_containers\{|ctid="run1"/);
  assert.equal(value(one, 'berth_container_state', { ctid: 'off1', state: 'stopped' }), 1);
  const missing = s.berth(['stat', '--prometheus', 'off1', 'nosuch']);
  assert.equal(missing.code, 14);
  assert.match(missing.err, /container nosuch does not exist/);
  s.ok(['resume', 'sus1']);
});

const NS = `berth-it-metrics-${process.pid}`;
const NET_SKIP =
  ROOT_SKIP ||
  PROMTOOL_SKIP ||
  (spawnSync('nft', ['--version']).status !== 0 ? 'needs nft (apt-get install nftables)' : false);

test("stat --prometheus: traffic (routed and bridged) is the host end's; the container's own loopback does not count", {
  skip: NET_SKIP,
}, (t) => {
  const s = sandbox(t); // before the namespace: its cleanup must run first
  assert.equal(spawnSync('ip', ['netns', 'add', NS]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', NS]));
  const inNs = (cmd: string[]) => spawnSync('nsenter', [`--net=/run/netns/${NS}`, ...cmd], { encoding: 'utf8' });
  inNs(['ip', 'link', 'set', 'lo', 'up']);
  s.wrap = ['nsenter', `--net=/run/netns/${NS}`];
  mkdirSync(join(s.root, 'etc/berth'), { recursive: true });
  writeFileSync(join(s.root, 'etc/berth/berth.conf'), 'NEIGHBOUR_DEVS="none"\n');
  s.ok(['create', 'n1']);
  s.ok(['set', 'n1', '--ipadd', '10.253.1.2', '--save']);
  // and a bridged one, on a managed bridge inside the namespace
  s.ok(['net', 'create', 'br0', '--subnet', '10.253.2.0/24']);
  s.ok(['create', 'n2']);
  s.ok(['set', 'n2', '--netif_add', 'eth0,,,,br0', '--save']);
  s.ok(['set', 'n2', '--ifname', 'eth0', '--ipadd', '10.253.2.2/24', '--save']);
  const n2End = /host_ifname=([^,"]+)/.exec(readFileSync(join(s.root, 'etc/berth/ct/n2.conf'), 'utf8'))?.[1] ?? '';
  s.ok(['start', 'n1']);
  s.ok(['start', 'n2']);
  // the namespace playing the host pings each: 5 echoes of 1000 bytes each way
  for (const ip of ['10.253.1.2', '10.253.2.2']) {
    const ping = inNs(['busybox', 'ping', '-c5', '-s1000', '-W2', ip]);
    assert.equal(ping.status, 0, `${ip}: ${ping.stdout}${ping.stderr}`);
  }
  // the container pumps its own loopback, which its /proc/net/dev would count
  s.ok(['exec', 'n1', '--', 'ping', '-c20', '-s8000', '-i0.01', '127.0.0.1']);

  const text = s.ok(['stat', '--prometheus', 'n1', 'n2']);
  promtool(text);
  const host = inNs(['cat', '/proc/net/dev']).stdout;
  for (const [id, inside, end] of [
    ['n1', 'venet0', 'bv-n1'],
    ['n2', 'eth0', n2End],
  ] as const) {
    const counters = new RegExp(
      `^\\s*${end.replace(/\./g, '\\.')}:\\s*(\\d+)\\s+(\\d+)(?:\\s+\\d+){6}\\s+(\\d+)\\s+(\\d+)`,
      'm',
    );
    const [, hostRx = 0, hostRxPk = 0, hostTx = 0, hostTxPk = 0] = (counters.exec(host) ?? assert.fail(host)).map(
      Number,
    );
    const got = (name: string) =>
      value(text, `berth_container_network_${name}_total`, { ctid: id, interface: inside }) ?? Number.NaN;
    // a scrape and the host's own read a moment apart: equal unless a packet crossed between
    const near = (a: number, b: number, by: number, what: string) =>
      assert.ok(Math.abs(a - b) <= by, `${id} ${what}: ${a} vs the host end's ${b}`);
    near(got('receive_bytes'), hostTx, 300, 'receive bytes');
    near(got('transmit_bytes'), hostRx, 300, 'transmit bytes');
    near(got('receive_packets'), hostTxPk, 2, 'receive packets');
    near(got('transmit_packets'), hostRxPk, 2, 'transmit packets');
    assert.ok(got('receive_bytes') >= 5 * 1028, `${id}: the echo requests`);
    assert.ok(got('transmit_bytes') >= 5 * 1028, `${id}: the echo replies`);
    assert.ok(got('receive_bytes') < 20 * 8000, `${id}: not the loopback traffic`);
  }
});
