// core/argv.ts against util.parseArgs, its model: on generated option tables and command lines
// (and on every verb's own table) both give the same values and positionals, or both refuse
// the same option for the same reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { loadCommand, VERBS } from '../../../src/cli/berth.ts';
import { parse } from '../../../src/cli/command.ts';
import { type OptionSpec, type Options, parseArgv } from '../../../src/core/argv.ts';
import { BerthError } from '../../../src/core/errors.ts';

type Outcome = { values: unknown; positionals: string[] } | { refused: [string, string] };

/** parseArgs' refusals as [why, which option], read from its messages */
const NODE_REFUSALS: Array<[string, RegExp]> = [
  ['unknown', /^Unknown option '(.*)'\. To specify/s],
  ['no value', /^Option '(.*) <value>' argument missing$/s],
  ['a value', /^Option '(.*)' does not take an argument$/s],
  ['dash value', /^Option '(.*)' argument is ambiguous\.\nDid you forget/s],
];
const OUR_REFUSALS: Array<[string, RegExp]> = [
  ['unknown', /^unknown option '(.*)'$/s],
  ['no value', /^option '(.*)' needs a value$/s],
  ['a value', /^option '(.*)' takes no value$/s],
  ['dash value', /^option '(.*)' is followed by '.*': its value or an option\?$/s],
];

function refusal(message: string, table: Array<[string, RegExp]>): [string, string] {
  for (const [why, re] of table) {
    const m = re.exec(message);
    if (m) return [why, m[1] ?? ''];
  }
  return ['unexpected message', message];
}

function node(args: string[], options: Options): Outcome {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    return { refused: refusal((err as Error).message, NODE_REFUSALS) };
  }
}

function ours(args: string[], options: Options): Outcome {
  try {
    const r = parseArgv(args, options);
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    assert.ok(err instanceof BerthError, String(err));
    assert.equal(err.code, 'BAD_SYNTAX');
    return { refused: refusal(err.message, OUR_REFUSALS) };
  }
}

const same = (args: string[], options: Options) => assert.deepStrictEqual(ours(args, options), node(args, options));

const NAMES = ['a', 'o', 't', 'T', 'all', 'output', 'env', 'json', 'no-header', 'x=y', '-', '='];
const LETTERS = ['a', 'o', 'H', 't', 's', 'x', '-', '='];

const spec: fc.Arbitrary<OptionSpec> = fc.record(
  { type: fc.constantFrom('string', 'boolean'), short: fc.constantFrom(...LETTERS), multiple: fc.boolean() },
  { requiredKeys: ['type'] },
);
const table = fc.dictionary(fc.constantFrom(...NAMES), spec, { maxKeys: 6 });

/** words as users (and typos) write them: noise of dashes, "=" and letters */
const noise = fc.oneof(
  fc.constantFrom('--', '-', '', 'x', '101', '-1', '---', '--=x', '-a-', '-aH', '-aoX', '-a=1'),
  fc.constantFrom(...NAMES).map((n) => `--${n}`),
  fc.string({ unit: fc.constantFrom(...LETTERS), minLength: 1, maxLength: 4 }).map((s) => `-${s}`),
  fc.string({ unit: fc.constantFrom('-', '=', 'a', 'o', 'H', 'x', ' '), maxLength: 6 }),
);

/**
 * Command lines mostly of OPTIONS' own names and letters, alone, grouped or with values, and now
 * and then noise (one unknown option makes the whole line a refusal).
 */
function commandLine(options: Options) {
  const keys = Object.keys(options);
  const shorts = Object.entries(options).flatMap(([k, o]) => (o.short ? [o.short] : k.length === 1 ? [k] : []));
  const value = fc.constantFrom('', 'v', '-v', '=', '-');
  const words: Array<fc.WeightedArbitrary<string>> = [
    { arbitrary: value.filter(Boolean), weight: 4 },
    { arbitrary: fc.constantFrom('101', 'a b', '--'), weight: 2 },
    { arbitrary: noise, weight: 1 },
  ];
  if (keys.length) {
    const name = fc.constantFrom(...keys);
    words.push({ arbitrary: name.map((n) => `--${n}`), weight: 6 });
    words.push({ arbitrary: fc.tuple(name, value).map(([n, v]) => `--${n}=${v}`), weight: 2 });
  }
  if (shorts.length) {
    const letter = fc.constantFrom(...shorts);
    words.push({ arbitrary: letter.map((c) => `-${c}`), weight: 6 });
    words.push({
      arbitrary: fc.array(letter, { minLength: 2, maxLength: 4 }).map((cs) => `-${cs.join('')}`),
      weight: 2,
    });
  }
  return fc.array(fc.oneof(...words), { maxLength: 8 });
}

test('parseArgv gives what parseArgs gives, on generated tables and command lines', () => {
  fc.assert(
    fc.property(
      table.chain((options) => fc.tuple(fc.constant(options), commandLine(options))),
      ([options, args]) => same(args, options),
    ),
    { numRuns: 5000 },
  );
});

test("parseArgv gives what parseArgs gives, on every verb's options", async () => {
  for (const verb of VERBS) {
    const options = (await loadCommand(verb))?.options ?? {};
    fc.assert(
      fc.property(commandLine(options), (args) => same(args, options)),
      { numRuns: 300 },
    );
  }
});

const LIST = {
  all: { type: 'boolean', short: 'a' },
  'no-header': { type: 'boolean', short: 'H' },
  output: { type: 'string', short: 'o' },
  env: { type: 'string', multiple: true },
  t: { type: 'boolean' },
} as const;

test('the forms parseArgs reads: a value or a refusal', () => {
  const cases: Array<[string[], unknown]> = [
    [['--all', '101'], { values: { all: true }, positionals: ['101'] }],
    [['-aH', '-oX', '-o', 'Y'], { values: { all: true, 'no-header': true, output: 'Y' }, positionals: [] }],
    [['-aoctid', 'x'], { values: { all: true, output: 'ctid' }, positionals: ['x'] }],
    [['-ao', 'ctid'], { values: { all: true, output: 'ctid' }, positionals: [] }],
    [['--output=a=b', '--output='], { values: { output: '' }, positionals: [] }],
    [['--output', '-'], { values: { output: '-' }, positionals: [] }],
    [['--output=-x', '-o-y'], { values: { output: '-y' }, positionals: [] }],
    [['--env', 'A=1', '--env=B=2'], { values: { env: ['A=1', 'B=2'] }, positionals: [] }],
    [['-t', '--t'], { values: { t: true }, positionals: [] }],
    [['-', '--', '--all', '-x'], { values: {}, positionals: ['-', '--all', '-x'] }],
    [['-a-', '-x'], { values: { all: true }, positionals: ['-x'] }],
    [['--turbo'], { refused: ['unknown', '--turbo'] }],
    [['-aZ'], { refused: ['unknown', '-Z'] }],
    [['--toString'], { refused: ['unknown', '--toString'] }],
    [['-o'], { refused: ['no value', '-o, --output'] }],
    [['--all=yes'], { refused: ['a value', '-a, --all'] }],
    [['--output', '--all'], { refused: ['dash value', '--output'] }],
    [['-o', '-x'], { refused: ['dash value', '-o'] }],
    [['-o', '--'], { refused: ['dash value', '-o'] }],
  ];
  for (const [args, want] of cases) {
    const got = ours(args, LIST);
    if ('values' in got) got.values = { ...(got.values as object) };
    assert.deepStrictEqual(got, want, args.join(' '));
    same(args, LIST);
  }
});

test('values are typed from the table as parseArgs types them', () => {
  const { values } = parseArgv([], LIST);
  const all: boolean | undefined = values.all;
  const output: string | undefined = values.output;
  const env: string[] | undefined = values.env;
  // @ts-expect-error a boolean option is no string
  const wrong: string | undefined = values.all;
  assert.deepEqual([all, output, env, wrong], [undefined, undefined, undefined, undefined]);
});

test("parse: the verb's name and help in every refusal; a dash value's hint says how", () => {
  const refused = (args: string[], options: Options, max?: number) => {
    try {
      parse('list', args, options, max);
    } catch (err) {
      assert.ok(err instanceof BerthError);
      return [err.message, err.hint];
    }
    assert.fail(`${args.join(' ')} accepted`);
  };
  assert.deepEqual(refused(['--turbo'], LIST), ["list: unknown option '--turbo'", 'see berth help list']);
  assert.deepEqual(refused(['1', '2'], LIST), ['list: unexpected argument "2"', 'see berth help list']);
  assert.deepEqual(refused(['-o', '-ctid'], LIST), [
    "list: option '-o' is followed by '-ctid': its value or an option?",
    'a value that starts with "-" is written --output=-ctid or -o-ctid',
  ]);
  const { values, positionals } = parse('list', ['-a', '1', '2'], LIST, 2);
  assert.deepEqual([{ ...values }, positionals], [{ all: true }, ['1', '2']]);
});
