// Property-based tests (fast-check): malformed configs, arguments and files thrown at every
// parser. Each must answer with a value or a BerthError (a clear message and an exit code),
// never with a crash (TypeError, RangeError, a JSON SyntaxError...).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseManifest } from '../../../src/core/backup.ts';
import { v1Counters, v2Counters } from '../../../src/core/beancounters.ts';
import { formatConfig, parseConfig, toRecord } from '../../../src/core/config.ts';
import { ctConfigFrom } from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { parseDiskinodes, parseDiskspace } from '../../../src/core/disk.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { parseIdBase, parseSubIds } from '../../../src/core/idmap.ts';
import { parseLock } from '../../../src/core/lock-record.ts';
import { parsePortFwdList } from '../../../src/core/nat.ts';
import { parseIp, parseIpList, venetFastpath, venetMtu } from '../../../src/core/net.ts';
import { parseNetifs } from '../../../src/core/netif.ts';
import { parseNameserverList } from '../../../src/core/resolv.ts';
import { type SetOptions, setOptionsToKeys } from '../../../src/core/set-options.ts';
import { parseSize } from '../../../src/core/size.ts';
import { parseTemplateMeta } from '../../../src/core/template-meta.ts';
import { GLOBAL } from './fixtures.ts';

/** Strings built from the characters these formats care about, and a few they should not. */
const CHARS = [...'0123456789abcdefxyzABCDEF:.,/-_= \t\n"\'\\$%{}[]@#;|*?KMGTPkmgtp+e\u00e9\u0000'];
const text = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 48 });
const anyText = fc.oneof(text, fc.string({ maxLength: 48 }));

/** Runs fn; a thrown error must be a BerthError with a message. */
function clear(fn: () => unknown): true {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BerthError, `not a BerthError: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.message.length > 0);
  }
  return true;
}

test('value parsers: a value or a BerthError for any input', () => {
  const parsers: Array<(s: string) => unknown> = [
    parseCtId,
    parseIp,
    parseIpList,
    parsePortFwdList,
    parseNetifs,
    parseNameserverList,
    parseDiskspace,
    parseDiskinodes,
    (s) => parseSize(s, 'ram'),
    (s) => parseSize(s, 'ram', true),
    (s) => parseIdBase(s, 'ID_BASE'),
    (s) => venetMtu(s, 'berth.conf'),
    (s) => venetFastpath(s, 'berth.conf'),
  ];
  fc.assert(fc.property(anyText, (s) => parsers.every((p) => clear(() => p(s)))));
});

test('config files: any text parses or fails clearly; what parses keeps its keys and formats stably', () => {
  const line = fc.oneof(
    text,
    fc.constant('# comment'),
    fc.constant(''),
    fc.constant('KEY="v"'),
    fc.constant('K2=bare'),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
      const t = lines.join('\n');
      let once: string;
      try {
        once = formatConfig(parseConfig(t, 'ct.conf'));
      } catch (err) {
        assert.ok(err instanceof BerthError, String(err));
        return;
      }
      const again = parseConfig(once, 'ct.conf');
      assert.equal(formatConfig(again), once, 'formatting is a fixed point');
      assert.deepEqual(toRecord(again), toRecord(parseConfig(t, 'ct.conf')), 'keys and values kept');
    }),
  );
});

test('container configs: any keys and values give a config or a BerthError', () => {
  const keys = fc.constantFrom(
    'HOSTNAME',
    'IP_ADDRESS',
    'NETIF',
    'PORTFWD',
    'NAMESERVER',
    'SEARCHDOMAIN',
    'PHYSPAGES',
    'SWAPPAGES',
    'CPUS',
    'CPULIMIT',
    'CPUUNITS',
    'NUMPROC',
    'LAYOUT',
    'DISKSPACE',
    'DISKINODES',
    'BOOTORDER',
    'STOP_TIMEOUT',
    'ID_BASE',
    'ONBOOT',
    'CAPABILITY',
    'DEVNODES',
  );
  fc.assert(
    fc.property(fc.dictionary(keys, anyText, { maxKeys: 6 }), (rec) =>
      clear(() => ctConfigFrom(parseCtId('101'), rec, GLOBAL)),
    ),
  );
  // the same through the file format
  fc.assert(
    fc.property(fc.dictionary(keys, text, { maxKeys: 6 }), (rec) => {
      const body = Object.entries(rec)
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
      return clear(() => ctConfigFrom(parseCtId('101'), toRecord(parseConfig(body, 'ct.conf')), GLOBAL));
    }),
  );
});

test('berth set options: any combination is validated into keys or refused clearly', () => {
  const one = anyText;
  const many = fc.array(anyText, { maxLength: 3 });
  const options = fc.record(
    {
      ram: one,
      swap: one,
      cpus: one,
      cpulimit: one,
      cpuunits: one,
      numproc: one,
      hostname: one,
      onboot: one,
      bootorder: one,
      nat: one,
      nameserver: many,
      searchdomain: many,
      diskspace: one,
      diskinodes: one,
      dhcp: one,
      privileged: one,
      capability: many,
      devnodes: many,
    },
    { requiredKeys: [] },
  );
  fc.assert(fc.property(options, (o) => clear(() => setOptionsToKeys(o as SetOptions))));
});

test('addresses: canonical forms are stable', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (a) => {
      try {
        const once = parseIp(a);
        assert.deepEqual(parseIp(once.addr), once);
      } catch (err) {
        // loopback, multicast, link-local... are refused, clearly
        assert.ok(err instanceof BerthError);
      }
    }),
  );
});

test('files berth reads back (lock links, manifests, template metadata, cgroup counters, subuid)', () => {
  fc.assert(fc.property(anyText, (s) => clear(() => parseLock(s))));
  fc.assert(fc.property(anyText, (s) => clear(() => parseSubIds(s))));
  const json = fc.oneof(fc.json(), anyText);
  fc.assert(fc.property(json, (s) => clear(() => parseManifest(s, 'manifest.json'))));
  fc.assert(fc.property(json, (s) => clear(() => parseTemplateMeta(s, 'busybox.json'))));
  const files = fc.dictionary(
    fc.constantFrom(
      'memory.usage_in_bytes',
      'memory.max_usage_in_bytes',
      'memory.limit_in_bytes',
      'memory.failcnt',
      'memory.oom_control',
      'memory.current',
      'memory.peak',
      'memory.max',
      'memory.events',
      'memory.swap.current',
      'pids.current',
      'pids.max',
      'pids.events',
      'cpu.stat',
      'cpuacct.usage',
    ),
    fc.option(anyText),
  );
  fc.assert(fc.property(files, (f) => clear(() => v1Counters(f)) && clear(() => v2Counters(f))));
});
