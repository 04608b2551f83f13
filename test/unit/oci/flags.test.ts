// berth-oci's command line (oci/main.ts): runc's flag forms, as its callers write them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../../src/core/errors.ts';
import { flagOf, parseFlags } from '../../../src/oci/main.ts';

test('--flag VALUE, --flag=VALUE and -flag VALUE are one flag', () => {
  assert.deepEqual(flagOf('--bundle=/b'), { name: 'bundle', inline: '/b' });
  assert.deepEqual(flagOf('-pid-file'), { name: 'pid-file', inline: null });
  const r = parseFlags(
    'create',
    ['--bundle', '/b', '-pid-file=/p', '--console-socket', '/s', 'id1'],
    ['bundle', 'pid-file', 'console-socket'],
    [],
  );
  assert.deepEqual(Object.fromEntries(r.flags), { bundle: ['/b'], 'pid-file': ['/p'], 'console-socket': ['/s'] });
  assert.deepEqual(r.positionals, ['id1']);
});

test("a command's own flags after its id are its own (exec ID CMD -x)", () => {
  const r = parseFlags('exec', ['--tty', 'id1', 'ls', '-l'], [], ['tty'], true);
  assert.deepEqual(r.positionals, ['id1', 'ls', '-l']);
});

test('unknown flags and missing values are BAD_SYNTAX', () => {
  assert.throws(
    () => parseFlags('kill', ['--bogus'], [], ['all']),
    (e) => e instanceof BerthError && /unknown flag/.test(e.message),
  );
  assert.throws(() => parseFlags('create', ['--bundle'], ['bundle'], []), /needs a value/);
});
