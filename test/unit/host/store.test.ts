import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import { makePaths } from '../../../src/host/paths.ts';
import {
  listCtIds,
  readCt,
  readCtOrBroken,
  readCtOrDerived,
  readGlobal,
  readState,
  stageCtText,
  writeCtText,
  writeState,
} from '../../../src/host/store.ts';

test('paths hang off one prefix; test prefixes get their own cgroup parent', () => {
  const p = makePaths('/tmp/x', '/h');
  assert.equal(p.ctConfigDir, '/tmp/x/etc/berth/ct');
  assert.equal(p.privateDir, '/tmp/x/var/lib/berth/private');
  assert.match(p.cgroupParent, /^berth-[0-9a-f]{8}$/);
  assert.equal(makePaths('/', '/h').cgroupParent, 'berth');
});

test('config and state round-trip under a temp root; no temp files left', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const p = makePaths(root, '/h');
    assert.equal(readGlobal(p).vePrivate, join(root, 'var/lib/berth/private/$VEID'));
    writeCtText(p, parseCtId('102'), 'HOSTNAME="b"\n');
    writeCtText(p, parseCtId('11'), 'HOSTNAME="a"\n');
    writeCtText(p, parseCtId('web'), '');
    assert.deepEqual(listCtIds(p), ['11', '102', 'web']);
    assert.equal(readCt(p, parseCtId('11'))?.config.vePrivate, join(root, 'var/lib/berth/private/11'));
    const s = { status: 'running' as const, pid: 5, startTime: 77, startedAt: 'now', stopSignal: 12 };
    writeState(p, parseCtId('11'), s);
    assert.deepEqual(readState(p, parseCtId('11')), s);
    assert.deepEqual(readdirSync(join(root, 'run/berth/11')), ['state.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a broken config: readCt names file, line and key; the lenient readers answer instead', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const p = makePaths(root, '/h');
    const id = parseCtId('7');
    writeCtText(p, id, `# c\nVE_PRIVATE="/elsewhere/$VEID"\nHOSTNAME="${'h'.repeat(300)}"\n`);
    assert.throws(
      () => readCt(p, id),
      (e: unknown) =>
        e instanceof BerthError &&
        e.code === 'CONFIG_INVALID' &&
        e.message.startsWith(`${join(root, 'etc/berth/ct/7.conf')}:3: HOSTNAME: invalid hostname "hhh`) &&
        e.message.length < 300,
    );
    const broken = readCtOrBroken(p, id);
    assert.ok(broken && 'error' in broken && broken.loose['VE_PRIVATE'] === '/elsewhere/$VEID');
    // destroy's view: the paths berth.conf gives the CTID, never the broken file's own
    const derived = readCtOrDerived(p, id);
    assert.equal(derived?.config.vePrivate, join(root, 'var/lib/berth/private/7'));
    assert.equal(derived?.broken?.code, 'CONFIG_INVALID');
    assert.equal(readCtOrDerived(p, parseCtId('8')), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a staged config is in place only after commit; discard leaves nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const p = makePaths(root, '/h');
    const id = parseCtId('9');
    writeCtText(p, id, 'HOSTNAME="a"\n');
    const staged = stageCtText(p, id, 'HOSTNAME="b"\n');
    assert.equal(readCt(p, id)?.config.hostname, 'a');
    staged.commit();
    assert.equal(readCt(p, id)?.config.hostname, 'b');
    stageCtText(p, id, 'HOSTNAME="c"\n').discard();
    assert.equal(readCt(p, id)?.config.hostname, 'b');
    assert.deepEqual(readdirSync(join(root, 'etc/berth/ct')), ['9.conf']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
