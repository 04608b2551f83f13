// Long work shows a live status line on a terminal (bytes, of a total when known, and the rate),
// and nothing of it without one or with --json: scripts and logs see only the lines that stay.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, onTerminal, ROOT_SKIP, sandbox, TERMINAL_SKIP } from './harness.ts';

const LIVE = '\r\x1b[K';

test('backup, restore and create show progress on a terminal only', {
  skip: ROOT_SKIP || TERMINAL_SKIP,
  timeout: 180_000,
}, (t) => {
  const s = sandbox(t);
  s.ok(['create', 'pr', '--layout', 'dir']);
  s.ok(['start', 'pr']);
  s.ok(['exec', 'pr', '--', 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null']);
  const b = (args: string) => `${BERTH} --root ${s.root} ${args}`;
  const file = join(s.root, 'pr.tar');
  const shown = onTerminal(b(`backup pr -o ${file}`));
  assert.match(shown, new RegExp(`${LIVE.replace('[', '\\[')}Archiving pr: \\d+\\.\\d MB`), shown);
  assert.match(shown, /Backup of pr written: /);
  const restored = onTerminal(b(`restore ${file} pr2`));
  assert.match(restored, /Restoring pr2: \d+\.\d MB of \d+\.\d MB \(\d+%\)/, restored);
  s.ok(['destroy', 'pr2']);
  // create unpacks the template (a dir layout copies it whole)
  assert.match(onTerminal(b('create pr4 --layout dir')), /Unpacking busybox: \d+\.\d MB of \d+\.\d MB/);
  // without a terminal, or with --json: the lasting lines only
  const plain = s.berth(['backup', 'pr', '-o', join(s.root, 'pr-plain.tar')]);
  assert.equal(plain.code, 0, plain.err);
  assert.ok(!plain.err.includes('\x1b[K'), plain.err);
  const json = onTerminal(b(`backup pr -o ${join(s.root, 'pr-json.tar')} --json`));
  assert.ok(!json.includes('\x1b[K'), json);
});
