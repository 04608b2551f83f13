import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clip,
  formatConfig,
  getKey,
  looseRecord,
  MAX_CONFIG_BYTES,
  parseConfig,
  quote,
  setKey,
  setKeys,
} from '../../../src/core/config.ts';
import { BerthError } from '../../../src/core/errors.ts';

const TEXT = `# header comment

PHYSPAGES="0:512M"   # trailing comment is dropped when this key is set
# between
HOSTNAME='web'
NUMPROC=64
`;

test('round-trip is byte for byte: comments, blank lines, order, quoting and trailing comments', () => {
  const cfg = parseConfig(TEXT, 't');
  assert.equal(formatConfig(cfg), TEXT);
  assert.equal(formatConfig(parseConfig('A="1"\r\n\n  B=2 # x\n', 't')), 'A="1"\r\n\n  B=2 # x\n');
  assert.equal(formatConfig(parseConfig('', 't')), '');
  // setting a key to the value it has changes nothing
  assert.equal(formatConfig(setKeys(cfg, { HOSTNAME: 'web', NUMPROC: '64' })), TEXT);
});

test('setKey replaces in place and appends new keys at the end', () => {
  const cfg = setKeys(parseConfig(TEXT, 't'), { HOSTNAME: 'db', CPUS: '2' });
  const out = formatConfig(cfg);
  assert.match(out, /# between\nHOSTNAME="db"\nNUMPROC=64\nCPUS="2"\n$/);
  assert.equal(formatConfig(setKey(cfg, 'PHYSPAGES', '0:1G')).split('\n')[2], 'PHYSPAGES="0:1G"');
  assert.equal(getKey(cfg, 'HOSTNAME'), 'db');
});

test('setKey with undefined deletes; last assignment wins on read', () => {
  const cfg = parseConfig('A="1"\nA="2"\n', 't');
  assert.equal(getKey(cfg, 'A'), '2');
  assert.equal(formatConfig(setKey(cfg, 'A', undefined)), '');
});

test('malformed lines and unsafe values are refused with clear errors', () => {
  assert.throws(
    () => parseConfig('OK="1"\nthis is not config\n', 'f.conf'),
    (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && /f\.conf:2/.test(e.message),
  );
  assert.throws(() => parseConfig('A="unterminated\n', 'f'), BerthError);
  assert.throws(
    () => setKey(parseConfig('', 't'), 'A', 'x"y'),
    (e: unknown) => e instanceof BerthError && e.code === 'BAD_VALUE',
  );
  assert.throws(() => setKey(parseConfig('', 't'), 'A', '$(reboot)'), BerthError);
  assert.throws(() => setKey(parseConfig('', 't'), 'bad-key', 'x'), BerthError);
  assert.throws(() => setKey(parseConfig('', 't'), 'A', 'a\u001b[2Jb'), BerthError);
  // control characters in a value, and a file too large to be a config
  assert.throws(
    () => parseConfig('A="x"\nB="\u001b]0;pwned\u0007"\n', 'f.conf'),
    (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && /^f\.conf:2: B: control/.test(e.message),
  );
  assert.throws(
    () => parseConfig(`A="${'x'.repeat(MAX_CONFIG_BYTES)}"\n`, 'f.conf'),
    (e: unknown) => e instanceof BerthError && e.code === 'CONFIG_INVALID' && e.message.length < 200,
  );
});

test('values echoed in messages are quoted, escaped and capped', () => {
  assert.equal(quote('web1'), '"web1"');
  assert.equal(quote('a\u001b[31mb\u009b\u202e'), '"a\\u001b[31mb\\u009b\\u202e"');
  const long = quote('x'.repeat(1_000_000));
  assert.ok(long.length < 120, long);
  assert.match(long, /\.\.\. \(1000000 characters\)$/);
  assert.equal(clip('ok'), 'ok');
  assert.ok(clip(`bad \u0007${'y'.repeat(5000)}`).length < 450);
  assert.equal(clip('\u0000\n\r\u001b'), '\\u0000\\u000a\\u000d\\u001b');
  // a line too long to show is cut in the parse error
  let msg = '';
  try {
    parseConfig(`${'z'.repeat(1_000_000)}\n`, 'f.conf');
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, /^f\.conf:1: cannot parse "z+"\.\.\. \(1000000 characters\)$/);
  assert.ok(msg.length < 150);
});

test('looseRecord reads the lines that parse of a broken file (for reports and leftovers only)', () => {
  assert.deepEqual(looseRecord('VE_PRIVATE="/srv/$VEID"\nthis is junk\nLAYER=busybox-0123456789ab\nX="\u0007"\n'), {
    VE_PRIVATE: '/srv/$VEID',
    LAYER: 'busybox-0123456789ab',
  });
});

test('random garbage never crashes the parser: it parses or throws BerthError', () => {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const alphabet = 'AZ_az09="\'# \t\n=$`\\\u00e9';
  for (let i = 0; i < 2000; i++) {
    const s = Array.from({ length: Math.floor(rnd() * 40) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(
      '',
    );
    try {
      formatConfig(parseConfig(s, 'fuzz'));
    } catch (e) {
      assert.ok(e instanceof BerthError, `non-BerthError for ${JSON.stringify(s)}: ${e}`);
    }
  }
});
