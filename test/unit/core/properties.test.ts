// Property-based tests (fast-check): malformed configs, arguments and files thrown at every
// parser. Each must answer with a value or a BerthError (a clear message and an exit code),
// never with a crash (TypeError, RangeError, a JSON SyntaxError...). And the values: sizes,
// set options saved to config keys and read back, config files rewritten, all round-trip.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseManifest } from '../../../src/core/backup.ts';
import { v1Counters, v2Counters } from '../../../src/core/beancounters.ts';
import { formatCapabilities, parseCapabilities } from '../../../src/core/capabilities.ts';
import { formatConfig, looseRecord, looseValue, parseConfig, setKeys, toRecord } from '../../../src/core/config.ts';
import { ctConfigFrom } from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { formatDevnodes, parseDevnodes } from '../../../src/core/devices.ts';
import { parseDiskinodes, parseDiskspace } from '../../../src/core/disk.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { parseIdBase, parseSubIds } from '../../../src/core/idmap.ts';
import { parseLock } from '../../../src/core/lock-record.ts';
import { formatPortFwd, parsePortFwdList } from '../../../src/core/nat.ts';
import { formatIpList, ipChanges, parseIp, parseIpList, venetFastpath, venetMtu } from '../../../src/core/net.ts';
import { formatNetifs, parseNetifs } from '../../../src/core/netif.ts';
import { parseNameserverList } from '../../../src/core/resolv.ts';
import { type SetOptions, setOptionsToKeys } from '../../../src/core/set-options.ts';
import { formatSize, PAGE_SIZE, parseSize } from '../../../src/core/size.ts';
import { parseTemplateMeta } from '../../../src/core/template-meta.ts';
import { GLOBAL } from './fixtures.ts';

/** Strings built from the characters these formats care about, and a few they should not. */
const CHARS = [...'0123456789abcdefxyzABCDEF:.,/-_= \t\n"\'\\$%{}[]@#;|*?KMGTPkmgtp+e\u00e9\u0000'];
const text = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 48 });
const anyText = fc.oneof(text, fc.string({ maxLength: 48 }));

/** Byte multipliers as vzctl defines them (kept here on purpose: not berth's own table). */
const MULT: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 4096 };

/** A size as a user writes it, and the bytes it means. */
const userSize = fc
  .tuple(
    fc.integer({ min: 0, max: 4096 }),
    fc.constantFrom('', '.5', '.25', '.125'),
    fc.constantFrom('', 'B', 'K', 'M', 'G', 'T', 'P', 'k', 'm', 'g', 't', 'p', 'b'),
  )
  .map(([n, frac, unit]) => ({
    raw: `${n}${frac}`.concat(unit),
    bytes: Math.round(Number(`${n}${frac}`) * (MULT[unit.toLowerCase()] ?? 0)),
  }));

const pagesUp = (b: number) => Math.ceil(b / PAGE_SIZE) * PAGE_SIZE;

const label = fc
  .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), minLength: 1, maxLength: 63 })
  .filter((l) => !l.startsWith('-') && !l.endsWith('-'));
const hostname = fc
  .array(label, { minLength: 1, maxLength: 5 })
  .map((ls) => ls.join('.'))
  .filter((h) => h.length <= 253);

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

test('config files: any text parses or fails clearly; what parses formats back byte for byte', () => {
  const line = fc.oneof(
    text,
    fc.constant('# comment'),
    fc.constant(''),
    fc.constant('KEY="v"'),
    fc.constant("K3='single $quoted'"),
    fc.constant('  K4=bare   # trailing comment'),
    fc.constant('K2=bare'),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 8 }), fc.boolean(), (lines, newline) => {
      const t = lines.join('\n') + (newline && lines.length ? '\n' : '');
      let cfg: ReturnType<typeof parseConfig>;
      try {
        cfg = parseConfig(t, 'ct.conf');
      } catch (err) {
        assert.ok(err instanceof BerthError, String(err));
        return;
      }
      const once = formatConfig(cfg);
      assert.equal(once, t === '' || t.endsWith('\n') ? t : `${t}\n`, 'byte for byte');
      assert.deepEqual(toRecord(parseConfig(once, 'ct.conf')), toRecord(cfg), 'keys and values kept');
    }),
  );
});

test('config files: keys set are read back, every other line stays as it was', () => {
  const key = fc.constantFrom('A', 'B', 'HOSTNAME', 'K_2');
  const value = fc.string({ unit: fc.constantFrom(..."abcXYZ019 .:/,-_=#'"), maxLength: 12 });
  const body = fc.array(fc.tuple(key, value, fc.constantFrom('"', "'", '')), { maxLength: 6 });
  fc.assert(
    fc.property(body, fc.dictionary(key, fc.option(value, { nil: undefined })), (rows, changes) => {
      const lines = rows
        .filter(([, v, q]) => q !== '' || /^[^\s"'#]*$/.test(v))
        .filter(([, v, q]) => q !== "'" || !v.includes("'"))
        .map(([k, v, q]) => `${k}=${q}${v}${q}`);
      const t = ['# kept', ...lines].join('\n');
      const file = setKeys(parseConfig(t, 'ct.conf'), changes);
      const out = formatConfig(file);
      const want = { ...toRecord(parseConfig(t, 'ct.conf')) };
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete want[k];
        else want[k] = v;
      }
      assert.deepEqual(toRecord(parseConfig(out, 'ct.conf')), want);
      const untouched = ['# kept', ...lines.filter((l) => !Object.hasOwn(changes, l.slice(0, l.indexOf('='))))];
      for (const l of untouched) assert.ok(out.split('\n').includes(l), `${l} kept as it was`);
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
    'FEATURES',
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

test('berth set options: any combination is refused clearly, or saved so that reading accepts it', () => {
  const one = fc.oneof(
    anyText,
    userSize.map((s) => s.raw),
    hostname,
    fc.constantFrom('yes', 'no', 'unlimited', '0', '1', '9.9.9.9', 'sys_nice:on', 'fuse:rw', 'fuse:on', 'nfs:on'),
  );
  const many = fc.array(one, { maxLength: 3 });
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
      description: one,
      dhcp: one,
      privileged: one,
      capability: many,
      devnodes: many,
      features: many,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(options, (o) => {
      let keys: Record<string, string>;
      try {
        keys = setOptionsToKeys(o as SetOptions);
      } catch (err) {
        assert.ok(err instanceof BerthError, String(err));
        return;
      }
      const text = formatConfig(setKeys(parseConfig('', 'ct.conf'), keys));
      const origin = { path: 'ct.conf', lineOf: () => 1 };
      ctConfigFrom(parseCtId('101'), toRecord(parseConfig(text, 'ct.conf')), GLOBAL, origin);
    }),
  );
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

test('sizes: what parseSize reads is the bytes meant, and formatSize writes it back exactly', () => {
  fc.assert(
    fc.property(userSize, ({ raw, bytes }) => {
      assert.equal(parseSize(raw, 'ram'), bytes, raw);
      const again = formatSize(bytes);
      assert.match(again, /^\d+[KMGT]?$/);
      assert.equal(parseSize(again, 'ram'), bytes, `${raw} -> ${again}`);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (b) => {
      assert.equal(parseSize(formatSize(b), 'ram'), b);
    }),
  );
});

test('--ram and --swap: saved to PHYSPAGES/SWAPPAGES, read back as the same bytes (whole pages)', () => {
  const sized = fc.oneof(
    userSize,
    fc.constant({ raw: 'unlimited', bytes: null }),
    fc.integer({ min: 1, max: 2 ** 40 }).map((b) => ({ raw: String(b), bytes: b })),
  );
  fc.assert(
    fc.property(sized, sized, (ram, swap) => {
      const keys = setOptionsToKeys({ ram: ram.raw, swap: swap.raw });
      const file = formatConfig(setKeys(parseConfig('NUMPROC="64"\n', 'ct.conf'), keys));
      const r = ctConfigFrom(parseCtId('101'), toRecord(parseConfig(file, 'ct.conf')), GLOBAL).resources;
      const want = (b: number | null) => (b === null ? null : pagesUp(b));
      assert.equal(r.ram, want(ram.bytes), `--ram ${ram.raw} saved as ${keys['PHYSPAGES']}`);
      assert.equal(r.swap, want(swap.bytes), `--swap ${swap.raw} saved as ${keys['SWAPPAGES']}`);
    }),
  );
  // bytes on the command line, pages in the file (vzctl): 100000 bytes is 25 pages, not 100000
  const keys = setOptionsToKeys({ ram: '100000' });
  assert.equal(ctConfigFrom(parseCtId('1'), keys, GLOBAL).resources.ram, 102400);
  assert.equal(ctConfigFrom(parseCtId('1'), { PHYSPAGES: '0:25' }, GLOBAL).resources.ram, 102400);
  assert.equal(ctConfigFrom(parseCtId('1'), { RAM: '100000' }, GLOBAL).resources.ram, 102400);
});

test('berth set options saved to config keys read back as the same settings', () => {
  const id = parseCtId('101');
  const opts = fc.record(
    {
      cpus: fc.oneof(
        fc.integer({ min: 1, max: 4096 }).map((n) => ({ raw: String(n), v: n as number | null })),
        fc.constantFrom({ raw: 'unlimited', v: null }, { raw: '0', v: null }),
      ),
      cpulimit: fc.tuple(fc.integer({ min: 0, max: 409600 }), fc.boolean()).map(([n, pct]) => ({
        raw: `${n}${pct ? '%' : ''}`,
        v: n === 0 ? null : n,
      })),
      cpuunits: fc.integer({ min: 8, max: 500000 }).map((n) => ({ raw: String(n), v: n as number | null })),
      numproc: fc.oneof(
        fc.integer({ min: 1, max: 4194304 }).map((n) => ({ raw: String(n), v: n as number | null })),
        fc.constant({ raw: 'unlimited', v: null }),
      ),
      hostname,
      onboot: fc.constantFrom('yes', 'no'),
      nat: fc.constantFrom('on', 'off', 'yes', 'no'),
      bootorder: fc.integer({ min: 0, max: 999_999_999 }),
      nameserver: fc.array(
        fc.ipV4().filter((a) => !/^(0|22[4-9]|2[3-5]\d)\./.test(a) && a !== '255.255.255.255'),
        {
          maxLength: 3,
        },
      ),
      searchdomain: fc.array(hostname, { maxLength: 3 }),
      diskspace: fc.tuple(fc.integer({ min: 65536, max: 2 ** 30 }), fc.constantFrom('', 'K', 'M')).map(([n, u]) => ({
        raw: `${n}${u}`,
        hard: n * 1024 * (u === 'M' ? 1024 : 1),
      })),
      diskinodes: fc.integer({ min: 1024, max: 2 ** 31 }),
      description: fc.string({ unit: fc.constantFrom(...'abc XYZ 019 .,:;!?()+-_/#@%'), maxLength: 40 }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(opts, (o) => {
      const set: SetOptions = {};
      if (o.cpus) set.cpus = o.cpus.raw;
      if (o.cpulimit) set.cpulimit = o.cpulimit.raw;
      if (o.cpuunits) set.cpuunits = o.cpuunits.raw;
      if (o.numproc) set.numproc = o.numproc.raw;
      if (o.hostname !== undefined) set.hostname = o.hostname;
      if (o.onboot) set.onboot = o.onboot;
      if (o.nat) set.nat = o.nat;
      if (o.bootorder !== undefined) set.bootorder = String(o.bootorder);
      if (o.nameserver) set.nameserver = o.nameserver;
      if (o.searchdomain) set.searchdomain = o.searchdomain;
      if (o.diskspace) set.diskspace = o.diskspace.raw;
      if (o.diskinodes !== undefined) set.diskinodes = String(o.diskinodes);
      if (o.description !== undefined) set.description = o.description;
      const keys = setOptionsToKeys(set);
      const text = formatConfig(setKeys(parseConfig('# sample\nCPUS="2"\n', 'ct.conf'), keys));
      const c = ctConfigFrom(id, toRecord(parseConfig(text, 'ct.conf')), GLOBAL);
      const r = c.resources;
      if (o.cpus) assert.equal(r.cpus, o.cpus.v);
      else assert.equal(r.cpus, 2);
      if (o.cpulimit) assert.equal(r.cpulimit, o.cpulimit.v);
      if (o.cpuunits) assert.equal(r.cpuunits, o.cpuunits.v);
      if (o.numproc) assert.equal(r.numproc, o.numproc.v);
      if (o.hostname !== undefined) assert.equal(c.hostname, o.hostname);
      if (o.onboot) assert.equal(c.onboot, o.onboot === 'yes');
      if (o.nat) assert.equal(c.nat, o.nat === 'on' || o.nat === 'yes');
      if (o.bootorder !== undefined) assert.equal(c.bootorder, o.bootorder);
      if (o.nameserver) assert.deepEqual(c.nameservers, o.nameserver);
      if (o.searchdomain) assert.deepEqual(c.searchDomains, o.searchdomain);
      if (o.diskspace) assert.deepEqual(c.diskspace, { soft: o.diskspace.hard, hard: o.diskspace.hard });
      if (o.diskinodes !== undefined) assert.deepEqual(c.diskinodes, { soft: o.diskinodes, hard: o.diskinodes });
      if (o.description !== undefined)
        assert.equal(toRecord(parseConfig(text, 'ct.conf'))['DESCRIPTION'], o.description);
    }),
  );
});

test('lists berth writes (IP_ADDRESS, PORTFWD, NETIF, CAPABILITY, DEVNODES) read back the same', () => {
  const v4 = fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 }))
    .filter(([a]) => a !== 127 && a !== 169)
    .map((p) => p.join('.'));
  const v6 = fc
    .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 6, maxLength: 6 })
    .map((g) => `fd00:${g.map((x) => x.toString(16)).join(':')}:1`);
  fc.assert(
    fc.property(fc.array(fc.oneof(v4, v6), { maxLength: 6 }), (adds) => {
      const next = ipChanges([], adds).next;
      assert.deepEqual(parseIpList(formatIpList(next)), next);
      assert.equal(next.length, new Set(adds.map((a) => parseIp(a).addr)).size);
    }),
  );
  const fwd = fc.tuple(
    fc.constantFrom('tcp', 'udp'),
    fc.integer({ min: 1, max: 65535 }),
    fc.integer({ min: 1, max: 65535 }),
    fc.option(v4),
  );
  fc.assert(
    fc.property(fc.array(fwd, { maxLength: 5 }), (fs) => {
      const list = parsePortFwdList(fs.map(([p, h, c, ip]) => `${p}:${h}:${c}${ip ? `:${ip}` : ''}`).join(' '));
      assert.deepEqual(parsePortFwdList(list.map(formatPortFwd).join(' ')), list);
    }),
  );
  const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
  const mac = fc.array(hex2, { minLength: 5, maxLength: 5 }).map((b) => `02:${b.join(':')}`);
  const netif = fc
    .record({
      ifname: fc.constantFrom('eth0', 'eth1', 'lan'),
      mac,
      hostIfname: fc.constantFrom('veth101.0', 'veth101.1'),
      hostMac: mac,
      bridge: fc.constantFrom('', 'br0'),
      ips: fc.array(
        v4.map((a) => `${a}/24`),
        { maxLength: 2 },
      ),
      gw: fc.option(v4, { nil: null }),
      gw6: fc.constant(null),
      dhcp: fc.boolean(),
    })
    .map((n) => ({ ...n }));
  fc.assert(
    fc.property(fc.array(netif, { maxLength: 3 }), (list) => {
      assert.deepEqual(parseNetifs(formatNetifs(list)), list);
    }),
  );
  const caps = fc.array(fc.tuple(fc.constantFrom('net_admin', 'CAP_SYS_TIME', 'sys_nice', 'mknod'), fc.boolean()), {
    maxLength: 5,
  });
  fc.assert(
    fc.property(caps, (cs) => {
      const list = parseCapabilities(cs.map(([c, on]) => `${c}:${on ? 'on' : 'off'}`).join(' '));
      assert.deepEqual(parseCapabilities(formatCapabilities(list)), list);
    }),
  );
  const devs = fc.array(fc.tuple(fc.constantFrom('fuse', 'net/tun', '/dev/kvm'), fc.constantFrom('r', 'w', 'rw')), {
    maxLength: 4,
  });
  fc.assert(
    fc.property(devs, (ds) => {
      const list = parseDevnodes(ds.map(([d, p]) => `${d}:${p}`).join(' '));
      assert.deepEqual(parseDevnodes(formatDevnodes(list)), list);
    }),
  );
});

test('looseValue reads the same value as looseRecord, for any file and key', () => {
  const key = fc.constantFrom('ID_BASE', 'LAYER', 'A', 'X_ID_BASE');
  const line = fc.oneof(
    text,
    fc.tuple(key, text).map(([k, v]) => `${k}=${v}`),
    fc.tuple(key, text).map(([k, v]) => ` ${k}="${v}" # c`),
  );
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 8 }).map((ls) => ls.join('\n')),
      key,
      (file, k) => {
        assert.equal(looseValue(file, k), looseRecord(file)[k]);
      },
    ),
    { numRuns: 2000 },
  );
});
