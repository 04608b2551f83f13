import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConfig, getKey, parseConfig, setKey, setKeys } from '../../../src/core/config.ts';
import { BerthError } from '../../../src/core/errors.ts';

const TEXT = `# header comment

PHYSPAGES="0:512M"   # trailing comment is dropped on rewrite of this key only
# between
HOSTNAME='web'
NUMPROC=64
`;

test('round-trip keeps comments, blank lines and order', () => {
  const cfg = parseConfig(TEXT, 't');
  const out = formatConfig(cfg);
  assert.equal(out, '# header comment\n\nPHYSPAGES="0:512M"\n# between\nHOSTNAME="web"\nNUMPROC="64"\n');
  assert.deepEqual(parseConfig(out, 't'), cfg);
});

test('setKey replaces in place and appends new keys at the end', () => {
  const cfg = setKeys(parseConfig(TEXT, 't'), { HOSTNAME: 'db', CPUS: '2' });
  const out = formatConfig(cfg);
  assert.match(out, /# between\nHOSTNAME="db"\nNUMPROC="64"\nCPUS="2"\n$/);
  assert.equal(getKey(cfg, 'HOSTNAME'), 'db');
});

test('setKey with undefined deletes; last assignment wins on read', () => {
  const cfg = parseConfig('A="1"\nA="2"\n', 't');
  assert.equal(getKey(cfg, 'A'), '2');
  assert.equal(formatConfig(setKey(cfg, 'A', undefined)), '\n');
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
