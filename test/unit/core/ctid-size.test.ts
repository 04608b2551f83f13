import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ctConfigFrom,
  defaultHostname,
  parseCpulimit,
  parseNumproc,
  parseRam,
  resourcesFrom,
  validateHostname,
} from '../../../src/core/ct-config.ts';
import { parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { formatSize, parseSize } from '../../../src/core/size.ts';
import { GLOBAL } from './fixtures.ts';

const code = (c: string) => (e: unknown) => e instanceof BerthError && e.code === c;

test('CTIDs: numbers and names pass; paths, dots and junk fail', () => {
  for (const ok of ['101', 'web', 'a.b-c_d', 'x'.repeat(64)]) assert.equal(parseCtId(ok), ok);
  for (const bad of ['../etc', 'a/b', '..', 'a..b', '.hidden', '-x', 'x'.repeat(65), 'a b', 'é']) {
    assert.throws(() => parseCtId(bad), code('BAD_VALUE'), bad);
  }
  assert.throws(() => parseCtId(undefined), code('BAD_SYNTAX'));
});

test('sizes: suffixes, pages, unlimited, and refusal of junk', () => {
  assert.equal(parseSize('64M', 'ram'), 64 * 1024 * 1024);
  assert.equal(parseSize('1.5G', 'ram'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('0', 'swap'), 0);
  assert.equal(parseSize('unlimited', 'ram'), null);
  assert.equal(parseSize('256', 'PHYSPAGES', true), 256 * 4096);
  assert.equal(parseSize('10P', 'x'), 40960);
  for (const bad of ['', '12Q', '-5M', '1e9', 'M', '64 M M'])
    assert.throws(() => parseSize(bad, 'ram'), code('BAD_VALUE'), bad);
  assert.equal(formatSize(64 * 1024 * 1024), '64M');
  assert.equal(formatSize(null), 'unlimited');
  assert.equal(formatSize(1000), '1000');
});

test('vzctl barrier:limit pairs use the limit', () => {
  assert.equal(parseRam('0:262144', 'PHYSPAGES'), 262144 * 4096);
  assert.equal(parseRam('0:1G'), 1024 ** 3);
  assert.equal(parseNumproc('64:64'), 64);
  assert.equal(parseCpulimit('50%'), 50);
  assert.equal(parseCpulimit('0'), null);
  const r = resourcesFrom({ RAM: '128M', SWAP: '0', NUMPROC: '100', CPUS: '2', CPUUNITS: '500' });
  assert.deepEqual(r, { ram: 128 * 1048576, swap: 0, cpus: 2, cpulimit: null, cpuunits: 500, numproc: 100 });
});

test('hostnames', () => {
  assert.equal(validateHostname('web-1.example.com'), 'web-1.example.com');
  for (const bad of ['-x', 'a_b', 'x'.repeat(64), 'a..b', ''])
    assert.throws(() => validateHostname(bad), code('BAD_HOSTNAME'), bad);
  assert.equal(defaultHostname(parseCtId('101')), 'ct101');
  assert.equal(defaultHostname(parseCtId('my_box')), 'my-box');
});

test('every key berth knows is checked when a config is read, and the error names the key', () => {
  const id = parseCtId('101');
  const bad: Array<[string, string, string]> = [
    ['HOSTNAME', 'x'.repeat(100_000), 'BAD_HOSTNAME'],
    ['HOSTNAME', 'a_b', 'BAD_HOSTNAME'],
    ['LAYER', '../../../../etc', 'BAD_VALUE'],
    ['VE_PRIVATE', 'relative/$VEID', 'BAD_VALUE'],
    ['VE_ROOT', '/var/lib/../../etc', 'BAD_VALUE'],
    ['VE_ROOT', '/x/$VEID/', 'BAD_VALUE'],
    ['OSTEMPLATE', '../busybox', 'BAD_VALUE'],
    ['ONBOOT', 'maybe', 'BAD_VALUE'],
    ['NAT', '1', 'BAD_VALUE'],
    ['DESCRIPTION', 'costs $5', 'BAD_VALUE'],
    ['RESET_MACHINE_ID', 'please', 'BAD_VALUE'],
    ['STOP_TIMEOUT', '99999999999', 'BAD_VALUE'],
    ['PHYSPAGES', '0:lots', 'BAD_VALUE'],
  ];
  for (const [key, value, c] of bad) {
    assert.throws(
      () => ctConfigFrom(id, { [key]: value }, GLOBAL),
      (e: unknown) => code(c)(e) && (e as Error).message.startsWith(`${key}: `) && (e as Error).message.length < 500,
      key,
    );
    // read from a file: CONFIG_INVALID, with the file and the line
    assert.throws(
      () => ctConfigFrom(id, { [key]: value }, GLOBAL, { path: '/etc/berth/ct/101.conf', lineOf: () => 4 }),
      (e: unknown) =>
        code('CONFIG_INVALID')(e) && (e as Error).message.startsWith(`/etc/berth/ct/101.conf:4: ${key}: `),
      key,
    );
  }
  // empty means unset; keys berth does not know are kept and not checked
  const c = ctConfigFrom(id, { HOSTNAME: '', LAYER: '', ONBOOT: '', KMEMSIZE: 'anything at all' }, GLOBAL);
  assert.deepEqual([c.hostname, c.layer, c.onboot], ['ct101', null, false]);
  assert.equal(ctConfigFrom(id, { LAYER: 'busybox-0123456789ab' }, GLOBAL).layer, 'busybox-0123456789ab');
});

test('memory sizes are whole pages: bytes round up, pages stay', () => {
  assert.equal(parseRam('100000'), 102400);
  assert.equal(parseRam('1'), 4096);
  assert.equal(parseRam('0'), 0);
  assert.equal(parseRam('0:25', 'PHYSPAGES'), 102400);
  assert.equal(parseRam('0:100K', 'PHYSPAGES'), 102400);
  assert.equal(parseRam('unlimited'), null);
});
