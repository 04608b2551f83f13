// A truthful /proc inside: each container sees its own memory, swap, CPUs and uptime (lxcfs,
// and --cpus as a cpuset), never the host's or another container's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cgroup2Flags } from '../../src/host/mountinfo.ts';
import { LXCFS, ROOT_SKIP, sandbox } from './harness.ts';

const skip = ROOT_SKIP || (LXCFS ? false : 'needs lxcfs (apt-get install lxcfs; the setup installs it)');

test("/proc inside: the container's own memory, swap, CPUs, uptime and load", { skip }, async (t) => {
  const s = sandbox(t);
  s.ok(['create', 'a']);
  s.ok(['create', 'b']);
  s.ok(['set', 'a', '--ram', '256M', '--swap', '0', '--cpus', '1', '--save']);
  s.ok(['set', 'b', '--ram', '128M', '--swap', '64M', '--save']);
  // the sandbox's lxcfs starts here: its cgroup2 mount must not cost the host its flags
  const flags = () => cgroup2Flags(readFileSync('/proc/self/mountinfo', 'utf8'))?.flags.join(',');
  const before = flags();
  s.ok(['start', 'a']);
  assert.equal(flags(), before, "the host's cgroup2 flags (favordynmods, nsdelegate) survive lxcfs's start");
  s.ok(['start', 'b']);
  const kib = (ct: string, key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s.ok(['exec', ct, '--', 'cat', '/proc/meminfo']))?.[1]);
  assert.equal(kib('a', 'MemTotal'), 256 * 1024);
  assert.equal(kib('a', 'SwapTotal'), 0, '--swap 0: no swap');
  assert.equal(kib('b', 'MemTotal'), 128 * 1024, "b sees its own limit, not a's");
  // never more swap than the host has (lxcfs): on a host without swap, none
  const hostSwap = Number(/^SwapTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  assert.equal(kib('b', 'SwapTotal'), Math.min(64 * 1024, hostSwap));
  assert.equal(s.ok(['exec', 'a', '--', 'nproc']).trim(), '1');
  assert.equal(s.ok(['exec', 'a', '--', 'grep', '-c', '^processor', '/proc/cpuinfo']).trim(), '1');
  const hostCpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? 0;
  assert.equal(Number(s.ok(['exec', 'b', '--', 'nproc']).trim()), hostCpus, 'no --cpus: every CPU');
  // uptime is the container's, and it runs on
  const up = () => Number(s.ok(['exec', 'a', '--', 'cat', '/proc/uptime']).split(' ')[0]);
  const first = up();
  const host = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  assert.ok(first < 60 && first < host, `container uptime ${first}, host ${host}`);
  await new Promise((r) => setTimeout(r, 1100));
  assert.ok(up() >= first + 1, 'uptime goes on');
  // a restart starts the clock again; live --cpus changes what it sees
  s.ok(['set', 'a', '--cpus', '2']);
  assert.equal(Number(s.ok(['exec', 'a', '--', 'nproc']).trim()), Math.min(2, hostCpus));
  s.ok(['restart', 'b']);
  assert.ok(Number(s.ok(['exec', 'b', '--', 'cat', '/proc/uptime']).split(' ')[0]) < first + 5);
  assert.match(s.ok(['exec', 'a', '--', 'cat', '/proc/loadavg']), /^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+/);
});
