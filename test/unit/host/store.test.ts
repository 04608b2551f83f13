import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCtId } from '../../../src/core/ctid.ts';
import { makePaths } from '../../../src/host/paths.ts';
import { listCtIds, readCt, readGlobal, readState, writeCtText, writeState } from '../../../src/host/store.ts';

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
