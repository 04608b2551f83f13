// docs/cli.md is the `berth help VERB` text of every verb in the command table (src/cli/berth.ts),
// and each verb's help names every option it declares. Regenerate the file with
// `node dist/test/cli-documented.test.js --write` when a verb's help changes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCommand, main, VERBS } from '../src/cli/berth.ts';

const DOC = new URL('../../docs/cli.md', import.meta.url);
const COMMANDS_DIR = new URL('../../src/cli/commands/', import.meta.url);

async function helpOf(verb: string): Promise<string> {
  let text = '';
  const code = await main(['help', verb], {
    out: (s) => {
      text += s;
    },
    err: () => {},
    isTty: async () => false,
  });
  assert.equal(code, 0, `berth help ${verb}`);
  return text;
}

async function render(): Promise<string> {
  const parts = [
    '# berth command reference',
    '',
    'Generated from `berth help VERB`; `test/cli-documented.test.ts` keeps it true.',
    '',
  ];
  for (const verb of VERBS) parts.push(`## ${verb}`, '', '```', await helpOf(verb), '```', '');
  return parts.join('\n');
}

/** How a user spells an option: --name, or -t for a one-letter key (exec's flags). */
const spellings = (key: string, short: string | undefined) => [
  key.length === 1 ? `-${key}` : `--${key}`,
  ...(short ? [`-${short}`] : []),
];

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

if (process.argv.includes('--write')) writeFileSync(DOC, await render());

test('docs/cli.md has a section for every verb of the command table', () => {
  const doc = readFileSync(DOC, 'utf8');
  const missing = VERBS.filter((v) => !doc.includes(`\n## ${v}\n`));
  assert.deepEqual(missing, [], 'run: node dist/test/cli-documented.test.js --write');
});

test('docs/cli.md matches the help of every verb', async () => {
  assert.equal(readFileSync(DOC, 'utf8'), await render(), 'run: node dist/test/cli-documented.test.js --write');
});

test('every option a verb declares is explained in its help (not only in its usage line)', async () => {
  const missing: string[] = [];
  for (const verb of VERBS) {
    const c = await loadCommand(verb);
    assert.ok(c, verb);
    for (const [key, o] of Object.entries(c.options ?? {})) {
      for (const s of spellings(key, o.short)) {
        if (!new RegExp(`(^|[\\s[(|,"'])${reEscape(s)}(?![\\w-])`, 'm').test(c.help)) missing.push(`${verb} ${s}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test("verbs declare their options in the command's options, where this test finds them", () => {
  const inline: string[] = [];
  for (const f of readdirSync(COMMANDS_DIR).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(new URL(f, COMMANDS_DIR), 'utf8');
    // parse(VERB, ARGS, { ... }): options written in place, not in Command.options
    for (const m of src.matchAll(/\bparse\(\s*[^,()]+,\s*[^,()]+,\s*\{\s*[\w'"]/g)) inline.push(`${f}: ${m[0]}`);
  }
  assert.deepEqual(inline, []);
});
