import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCtId } from '../../../src/core/ctid.ts';
import { cleanBackupLeftovers, makeBackupWork, removeBackupWork } from '../../../src/host/backup-work.ts';
import { linuxHost } from '../../../src/host/host.ts';
import { makePaths } from '../../../src/host/paths.ts';

// backups of two containers run at once under two locks: the one that ends must not remove the
// directory the other is making its own in (a stress run met mkdir ENOENT there)
test('a backup that ends keeps .work, which a backup of another container may be entering', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-bkwork-'));
  try {
    const p = makePaths(root, '/nonexistent');
    const work = makeBackupWork(p, parseCtId('101'));
    removeBackupWork(work);
    assert.ok(!existsSync(join(p.lib, 'backup/.work/101')), 'its CTID directory goes');
    assert.ok(existsSync(join(p.lib, 'backup/.work')), '.work stays');
    cleanBackupLeftovers(linuxHost, p, parseCtId('102'));
    assert.ok(existsSync(join(p.lib, 'backup/.work')), '.work stays after a leftover check too');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
