// docs/cli.md is the `berth help VERB` text of every verb: regenerate it with
// `node dist/test/cli-documented.test.js --write` when a verb's help changes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { main } from '../src/cli/berth.ts';

const VERBS = [
  'create',
  'start',
  'stop',
  'restart',
  'status',
  'enter',
  'exec',
  'set',
  'list',
  'destroy',
  'mount',
  'umount',
  'suspend',
  'resume',
  'template',
  'backup',
  'restore',
];
const DOC = new URL('../../docs/cli.md', import.meta.url);

async function render(): Promise<string> {
  const parts = [
    '# berth command reference',
    '',
    'Generated from `berth help VERB`; `test/cli-documented.test.ts` keeps it true.',
    '',
  ];
  for (const verb of VERBS) {
    let text = '';
    await main(['help', verb], {
      out: (s) => {
        text += s;
      },
      err: () => {},
      isTty: async () => false,
    });
    parts.push(`## ${verb}`, '', '```', text, '```', '');
  }
  return parts.join('\n');
}

if (process.argv.includes('--write')) writeFileSync(DOC, await render());

test('docs/cli.md matches the help of every verb', async () => {
  assert.equal(readFileSync(DOC, 'utf8'), await render(), 'run: node dist/test/cli-documented.test.js --write');
});
