// Prometheus' text format of the container metrics: escaping, types, base units, and a property
// test that every line of any exposition parses as the format defines it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { v1Counters, v2Counters } from '../../../src/core/beancounters.ts';
import {
  type CtMetrics,
  configCounters,
  escapeLabel,
  FAMILIES,
  formatMetrics,
  formatValue,
  METRIC_STATES,
  parseNetDev,
  trafficFromHostEnd,
} from '../../../src/core/metrics.ts';
import { parseSize } from '../../../src/core/size.ts';

const stopped = (ctid: string, info: CtMetrics['info'] = null): CtMetrics => ({
  ctid,
  state: 'stopped',
  startTime: null,
  info,
  counters: configCounters({ ram: parseSize('256M', 'ram'), swap: null, numproc: 100 }),
  net: [],
  disk: { used: null, limit: null },
});

/** The value of the one series of `name` whose labels include `labels`. */
function value(text: string, name: string, labels: Record<string, string> = {}): string | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
  return line?.slice(line.lastIndexOf(' ') + 1);
}

test('a 256M limit is 268435456 bytes; a stopped container has its state and limits but no usage', () => {
  const text = formatMetrics({ version: '1.2.3', host: true, cts: [stopped('101')] });
  assert.equal(value(text, 'berth_container_memory_limit_bytes', { ctid: '101' }), '268435456');
  assert.equal(value(text, 'berth_container_processes_limit', { ctid: '101' }), '100');
  assert.equal(value(text, 'berth_container_swap_limit_bytes'), undefined, 'unlimited: no series');
  for (const usage of [
    'cpu_seconds_total',
    'memory_usage_bytes',
    'memory_failcnt_total',
    'oom_kills_total',
    'start_time_seconds',
  ]) {
    assert.doesNotMatch(text, new RegExp(`^berth_container_${usage}`, 'm'));
  }
  assert.equal(value(text, 'berth_container_state', { ctid: '101', state: 'stopped' }), '1');
  assert.equal(value(text, 'berth_container_state', { ctid: '101', state: 'running' }), '0');
  assert.equal(value(text, 'berth_containers', { state: 'stopped' }), '1');
  assert.equal(value(text, 'berth_containers', { state: 'running' }), '0');
  assert.equal(value(text, 'berth_build_info', { version: '1.2.3' }), '1');
});

test('memory in bytes from both cgroup versions; counters end in _total and are typed counter', () => {
  const v2 = v2Counters(
    {
      'memory.current': '5000',
      'memory.max': '268435456',
      'memory.events': 'max 2\noom_kill 1',
      'cpu.stat': 'usage_usec 1500000',
    },
    'bytes',
  );
  const v1 = v1Counters(
    { 'memory/memory.usage_in_bytes': '5000', 'memory/memory.limit_in_bytes': '9223372036854771712' },
    'bytes',
  );
  const running = (ctid: string, counters: CtMetrics['counters']): CtMetrics => ({
    ...stopped(ctid),
    state: 'running',
    counters,
  });
  const text = formatMetrics({ version: '1', host: false, cts: [running('a', v2), running('b', v1)] });
  assert.equal(value(text, 'berth_container_memory_usage_bytes', { ctid: 'a' }), '5000', 'bytes, not pages');
  assert.equal(value(text, 'berth_container_memory_limit_bytes', { ctid: 'a' }), '268435456');
  assert.equal(value(text, 'berth_container_memory_limit_bytes', { ctid: 'b' }), undefined, 'v1 unlimited');
  assert.equal(value(text, 'berth_container_memory_failcnt_total', { ctid: 'a' }), '2');
  assert.equal(value(text, 'berth_container_oom_kills_total', { ctid: 'a' }), '1');
  assert.equal(value(text, 'berth_container_cpu_seconds_total', { ctid: 'a' }), '1.5');
  assert.doesNotMatch(text, /^berth_(build_info|containers)\b/m, 'named containers: no host-wide series');
  for (const f of FAMILIES) {
    assert.equal(f.type === 'counter', f.name.endsWith('_total'), f.name);
    assert.doesNotMatch(f.name, /_(pages|kib|kb|mb|ms|usec)\b/, `${f.name}: base units`);
  }
});

test('label values escape backslash, quote and newline; HELP escapes backslash and newline', () => {
  assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const text = formatMetrics({
    version: 'v"1\\\n',
    host: true,
    cts: [stopped('x', { hostname: 'h"\\\n', description: 'd', ostemplate: 'busybox', layout: 'dir' })],
  });
  assert.match(text, /^berth_build_info\{version="v\\"1\\\\\\n"\} 1$/m);
  assert.match(text, /^berth_container_info\{ctid="x",hostname="h\\"\\\\\\n",description="d",/m);
  assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatValue(Number.NaN), 'NaN');
});

test('traffic: the host end sends what the container receives', () => {
  const dev = parseNetDev(
    'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets\n' +
      '    lo: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n' +
      'bv-101: 100 2 0 0 0 0 0 0 900 7 0 1 0 0 0 0\n',
  );
  const t = trafficFromHostEnd('venet0', dev.get('bv-101') ?? assert.fail('bv-101 parsed'));
  assert.deepEqual(t, { name: 'venet0', rxBytes: 900, rxPackets: 7, txBytes: 100, txPackets: 2 });
  const text = formatMetrics({ version: '1', host: false, cts: [{ ...stopped('101'), state: 'running', net: [t] }] });
  assert.equal(value(text, 'berth_container_network_receive_bytes_total', { ctid: '101', interface: 'venet0' }), '900');
  assert.equal(value(text, 'berth_container_network_transmit_packets_total', { interface: 'venet0' }), '2');
});

// The text format's grammar (exposition_formats.md), written out independently of the formatter.
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*)?\\}`;
const FLOAT = '(?:[+-]?(?:\\d+\\.?\\d*(?:e[+-]?\\d+)?|\\.\\d+)|NaN|[+-]Inf)';
const SAMPLE = new RegExp(`^(${NAME})(${LABELS})? (${FLOAT})$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge)$`);

const unescapeLabel = (v: string) => v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

const anyText = fc.string({ unit: fc.constantFrom(...'ab"\\\n{}=, é\t#'.split('')), maxLength: 20 });
const amount = fc.option(fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e18, noNaN: true })), { nil: null });
const counter = (resource: CtMetrics['counters'][number]['resource']) =>
  fc.record({ resource: fc.constant(resource), held: amount, maxheld: amount, limit: amount, failcnt: amount });
const ct = fc.record({
  ctid: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/),
  state: fc.constantFrom(...METRIC_STATES),
  startTime: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
  info: fc.option(fc.record({ hostname: anyText, description: anyText, ostemplate: anyText, layout: anyText }), {
    nil: null,
  }),
  counters: fc.tuple(counter('physpages'), counter('swappages'), counter('numproc'), counter('cpu_seconds')),
  // interface names are unique in a container (one netns)
  net: fc.uniqueArray(
    fc.record({ name: anyText, rxBytes: fc.nat(), txBytes: fc.nat(), rxPackets: fc.nat(), txPackets: fc.nat() }),
    { selector: (i) => i.name, maxLength: 2 },
  ),
  disk: fc.record({ used: amount, limit: amount }),
});

test('property: every line of any exposition parses; families are whole; label values round-trip', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(ct, { selector: (c) => c.ctid, maxLength: 4 }),
      anyText,
      fc.boolean(),
      (cts, version, host) => {
        const text = formatMetrics({ version, host, cts });
        if (!text) return;
        assert.ok(text.endsWith('\n'));
        const seen = new Set<string>();
        const series = new Set<string>();
        let family = '';
        for (const line of text.slice(0, -1).split('\n')) {
          const help = HELP.exec(line);
          const type = TYPE.exec(line);
          const sample = SAMPLE.exec(line);
          assert.ok(help || type || sample, `unparsable line: ${JSON.stringify(line)}`);
          if (help) {
            assert.ok(!seen.has(help[1] ?? ''), `${help[1]} twice`);
            seen.add(help[1] ?? '');
            family = help[1] ?? '';
          } else if (type) assert.equal(type[1], family);
          else {
            assert.equal(sample?.[1], family, 'a sample in its own family');
            assert.ok(!series.has(`${sample?.[1]}${sample?.[2]}`), `duplicate series ${line}`);
            series.add(`${sample?.[1]}${sample?.[2]}`);
            for (const m of (sample?.[2] ?? '').matchAll(new RegExp(`(\\w+)=(${LABEL_VALUE})`, 'g'))) {
              const raw = unescapeLabel((m[2] ?? '').slice(1, -1));
              if (m[1] === 'hostname') assert.ok(cts.some((c) => c.info?.hostname === raw));
              if (m[1] === 'version') assert.equal(raw, version);
            }
          }
        }
      },
    ),
  );
});
