// Migration policy: the journal's round trip and checks, the verbs it stops, and the steps a
// resume or an abort takes from what the destination has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CtId, parseCtId } from '../../../src/core/ctid.ts';
import { BerthError } from '../../../src/core/errors.ts';
import {
  abortSteps,
  archiveName,
  decideLazy,
  destHasLayer,
  destStateOf,
  formatJournal,
  keysLeftBehind,
  LAZY_AUTO_BYTES,
  lazyAtStart,
  MIGRATE_PHASES,
  type MigrateJournal,
  type MigratePhase,
  migratingField,
  migratingRefusal,
  parseJournal,
  resumeSteps,
} from '../../../src/core/migrate.ts';
import { GLOBAL } from './fixtures.ts';

const id = parseCtId('101');
const journal = (over: Partial<MigrateJournal> = {}): MigrateJournal => ({
  ctid: id,
  dest: 'b',
  archive: archiveName(id, '0123456789abcdef'),
  wasRunning: true,
  online: false,
  lazy: false,
  phase: 'begun',
  started: '2026-12-02T14:00:00.000Z',
  ...over,
});

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BerthError, String(err));
    return err.code;
  }
  return 'none';
};

test('a journal survives formatting and parsing; a damaged or foreign one is refused', () => {
  const j = journal({ phase: 'uploaded' });
  assert.deepEqual(parseJournal(formatJournal(j), id, 'f'), j);
  const text = (o: Record<string, unknown>) => JSON.stringify({ ...j, ...o });
  for (const bad of [
    'not json',
    text({ ctid: '102' }),
    text({ dest: '../x' }),
    text({ archive: '../../etc/passwd' }),
    text({ archive: 'migrate-101-0123.tar' }),
    text({ wasRunning: 'yes' }),
    text({ lazy: 'maybe' }),
    text({ phase: 'flying' }),
  ]) {
    assert.equal(
      code(() => parseJournal(bad, id, 'f')),
      'CONFIG_INVALID',
      bad,
    );
  }
});

test('while migrating, the verbs that change the container refuse, naming DEST and the phase', () => {
  const j = journal({ phase: 'stopped' });
  for (const verb of [
    'start',
    'restart',
    'set',
    'destroy',
    'mount',
    'backup',
    'snapshot',
    'snapshot-switch',
    'clone',
  ]) {
    const e = migratingRefusal(j, verb);
    assert.ok(e, verb);
    assert.equal(e.code, 'LOCKED');
    assert.match(e.message, /being migrated to b \(phase stopped/);
    assert.match(e.hint ?? '', /berth migrate 101 b finishes it; berth migrate --abort 101/);
  }
  for (const verb of ['stop', 'umount', 'exec']) assert.equal(migratingRefusal(j, verb), null, verb);
  assert.equal(migratingField(j), 'b:stopped');
});

test("the destination's answer: absent, stopped, running, or a restore still under way", () => {
  assert.equal(destStateOf(404, { error: {} }), 'absent');
  assert.equal(destStateOf(200, { exists: true, status: 'stopped' }), 'stopped');
  assert.equal(destStateOf(200, { exists: true, status: 'running' }), 'running');
  assert.equal(destStateOf(200, { exists: true, status: 'suspended' }), 'running');
  assert.equal(destStateOf(200, { exists: false, status: 'stopped' }), 'incomplete');
  assert.equal(destStateOf(200, { exists: true, status: 'broken' }), 'incomplete');
  // CRIU still restoring there: its init already shows as running
  assert.equal(
    destStateOf(200, { exists: true, status: 'running', busy: 'berth restore 1 --dumpfile=/x' }),
    'incomplete',
  );
  assert.equal(destStateOf(200, { exists: true, status: 'running', busy: null }), 'running');
});

test('a resume goes by what DEST has, never by the phase alone', () => {
  const here = { exists: true };
  const full = ['stop-here', 'upload', 'restore', 'start-there', 'finish'];
  for (const phase of MIGRATE_PHASES) {
    // DEST without it: the whole move again (a kill between a step and its record is redone)
    assert.deepEqual(resumeSteps(journal({ phase }), 'absent', here), full, phase);
  }
  assert.deepEqual(resumeSteps(journal({ wasRunning: false }), 'absent', here), [
    'stop-here',
    'upload',
    'restore',
    'finish',
  ]);
  for (const phase of ['uploaded', 'restored', 'started'] as MigratePhase[]) {
    assert.deepEqual(resumeSteps(journal({ phase }), 'stopped', here), ['start-there', 'finish']);
    assert.deepEqual(resumeSteps(journal({ phase, wasRunning: false }), 'stopped', here), ['finish']);
    assert.deepEqual(resumeSteps(journal({ phase }), 'running', { exists: false }), ['finish']);
    assert.equal(
      code(() => resumeSteps(journal({ phase }), 'incomplete', here)),
      'LOCKED',
    );
  }
});

test("before the restore is asked for, DEST's container of that CTID is another one", () => {
  for (const phase of ['begun', 'stopped'] as MigratePhase[]) {
    for (const there of ['stopped', 'running', 'incomplete'] as const) {
      assert.equal(
        code(() => resumeSteps(journal({ phase }), there, { exists: true })),
        'PRIVATE_EXISTS',
      );
      // so an abort may give it back here: DEST's is not ours
      assert.deepEqual(abortSteps(journal({ phase }), there), ['remove-archive', 'start-here', 'drop']);
    }
  }
});

test('the container neither here nor there is said, not finished', () => {
  assert.equal(
    code(() => resumeSteps(journal({ phase: 'uploaded' }), 'absent', { exists: false })),
    'NO_CT_CONFIG',
  );
});

test('an abort gives it back only while DEST does not have it', () => {
  assert.deepEqual(abortSteps(journal({ phase: 'uploaded' }), 'absent'), ['remove-archive', 'start-here', 'drop']);
  assert.deepEqual(abortSteps(journal({ phase: 'stopped', wasRunning: false }), 'absent'), ['remove-archive', 'drop']);
  for (const there of ['stopped', 'running', 'incomplete'] as const) {
    const phase: MigratePhase = 'restored';
    assert.equal(
      code(() => abortSteps(journal({ phase }), there)),
      'PRIVATE_EXISTS',
      there,
    );
  }
});

test("an overlay container's layer is matched against DEST's templates by name and sha256", () => {
  const sha = 'ab'.repeat(32);
  const tpls = [{ name: 'busybox', sha256: sha }];
  assert.equal(destHasLayer(`busybox-${sha.slice(0, 12)}`, tpls), true);
  assert.equal(destHasLayer(`busybox-${'cd'.repeat(6)}`, tpls), false);
  assert.equal(destHasLayer(`debian-12-${sha.slice(0, 12)}`, tpls), false);
  assert.equal(destHasLayer('x', { not: 'a list' }), false);
});

test('archive names are random per migration and fit the backup store', () => {
  const n = archiveName('web.1' as CtId, 'ffffffffffffffff');
  assert.equal(n, 'migrate-web.1-ffffffffffffffff.tar');
  assert.match(n, /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.tar$/);
});

test('what the restore on DEST leaves out is known before anything moves', () => {
  const conf = 'HOSTNAME="web"\nBINDMOUNT="/srv/data:/data"\nDEVNODES="fuse:rw"\nRAM="256M"\n';
  assert.deepEqual(keysLeftBehind(conf, id, 'overlay', 'busybox-0123456789ab', GLOBAL).sort(), [
    'BINDMOUNT',
    'DEVNODES',
  ]);
  assert.deepEqual(keysLeftBehind('HOSTNAME="web"\n', id, 'dir', null, GLOBAL), []);
  assert.equal(
    code(() => keysLeftBehind('HOSTNAME="-bad-"\n', id, 'dir', null, GLOBAL)),
    'CONFIG_INVALID',
  );
});

test('online: the dump and the restore of it replace the stop and the start; abort restores the dump', () => {
  const j = journal({ online: true });
  assert.deepEqual(resumeSteps(j, 'absent', { exists: true }), [
    'dump-here',
    'upload',
    'restore',
    'restore-dump-there',
    'finish',
  ]);
  assert.deepEqual(resumeSteps(journal({ online: true, phase: 'restored' }), 'stopped', { exists: true }), [
    'restore-dump-there',
    'finish',
  ]);
  assert.deepEqual(resumeSteps(journal({ online: true, phase: 'started' }), 'running', { exists: true }), ['finish']);
  assert.deepEqual(abortSteps(journal({ online: true, phase: 'stopped' }), 'absent'), [
    'remove-archive',
    'restore-here',
    'drop',
  ]);
  assert.equal(parseJournal(formatJournal(j), id, 'x').online, true);
  const old = JSON.parse(formatJournal(j)) as Record<string, unknown>;
  delete old['online'];
  assert.equal(parseJournal(JSON.stringify(old), id, 'x').online, false, 'a journal of before --online');
});

test('post-copy: asked, refused or by size; asked of a DEST that cannot, refused at step 0', () => {
  assert.equal(decideLazy('auto', LAZY_AUTO_BYTES - 1), false);
  assert.equal(decideLazy('auto', LAZY_AUTO_BYTES), true);
  assert.equal(decideLazy(true, 0), true);
  assert.equal(decideLazy(false, 1e12), false);
  assert.equal(lazyAtStart('auto', true, id, 'b'), 'auto');
  assert.equal(lazyAtStart('auto', false, id, 'b'), false);
  assert.equal(lazyAtStart(false, false, id, 'b'), false);
  assert.equal(lazyAtStart(true, true, id, 'b'), true);
  assert.equal(
    code(() => lazyAtStart(true, false, id, 'b')),
    'CHKPNT',
  );
  // an online journal keeps its choice, "auto" included; an offline one is never post-copy
  const auto = journal({ online: true, lazy: 'auto' });
  assert.deepEqual(parseJournal(formatJournal(auto), id, 'f'), auto);
  assert.equal(parseJournal(JSON.stringify({ ...auto, online: false }), id, 'f').lazy, false);
});
