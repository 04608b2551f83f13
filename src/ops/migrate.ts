// berth migrate CTID DEST (offline): stop, back up, upload to DEST's berthd, restore and start
// there, then destroy here, each step journalled first, so that a failure or a SIGKILL anywhere
// leaves the container running on exactly one host or stopped and whole here, and the next
// `berth migrate` finishes the move from what DEST says it has (core/migrate.ts decides).
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { CtId } from '../core/ctid.ts';
import { BerthError } from '../core/errors.ts';
import { featureDevnodes } from '../core/features.ts';
import {
  abortSteps,
  archiveName,
  type DestState,
  decideLazy,
  destHasLayer,
  dumpName,
  keysLeftBehind,
  type LazyChoice,
  lazyAtStart,
  MIGRATE_PHASES,
  type MigrateJournal,
  type MigratePhase,
  type MigrateStep,
  resumeSteps,
} from '../core/migrate.ts';
import type { Ctx } from '../engine/context.ts';
import { mustExist } from '../engine/inspect.ts';
import { reconcile, withLock } from '../engine/runtime.ts';
import { criuLogTail, criuVersion, isWholeDump } from '../host/criu.ts';
import { lazyBytesOf, lazyDumpView, PAGE_SERVER_LOG, pageServer } from '../host/criu-lazy.ts';
import { fileSize, pathExists, readBytes, removeFile, removeTree } from '../host/files.ts';
import { randomBytes } from '../host/fs-util.ts';
import { acquireLock } from '../host/lock.ts';
import { dropJournal, readJournal, writeJournal } from '../host/migrate-journal.ts';
import { ctConfigPath, migrateArchivePath, migrateDumpPath, migrateLockPath } from '../host/paths.ts';
import { meter } from '../host/progress.ts';
import { listSnapshots } from '../host/snapshots.ts';
import { readCt, readGlobal } from '../host/store.ts';
import { backupContainer } from './backup.ts';
import { chkpntContainer } from './chkpnt.ts';
import { destroyContainer } from './destroy.ts';
import { restoreDump } from './restore-dump.ts';
import { startContainer } from './start.ts';
import { stopContainer } from './stop.ts';

/**
 * The destination host as migrate uses it: its berthd's API (the CLI builds it from `berth
 * remote`), or a fake in tests. Every method fails with the destination's own BerthError.
 */
export interface MigrateDest {
  /** the remote's name, as the journal records it */
  name: string;
  /** what DEST has of CTID (GET /1.0/containers/CTID) */
  container(id: CtId): Promise<DestState>;
  /** DEST's templates (GET /1.0/templates) */
  templates(): Promise<unknown>;
  /** into DEST's backup store under NAME (POST /1.0/backups?name=NAME) */
  upload(name: string, file: string, onBytes: (n: number) => void): Promise<void>;
  /** DELETE /1.0/backups/NAME; none there is no error */
  removeArchive(name: string): Promise<void>;
  /** POST /1.0/backups/NAME/restore?wait {ctid, privileged, idBase}; idBase: keep that range */
  restore(name: string, id: CtId, privileged: boolean, idBase: number | null): Promise<void>;
  /** PUT /1.0/containers/CTID/state?wait {action: start} */
  start(id: CtId): Promise<void>;
  /** why DEST cannot give CTID the id range BASE, or null (GET /1.0/containers/CTID/id-base?base=) */
  idBaseRefusal(id: CtId, base: number): Promise<string | null>;
  /** a tar of a checkpoint into DEST's dump store under NAME (POST /1.0/dumps?name=NAME) */
  uploadDump(name: string, file: string, onBytes: (n: number) => void): Promise<void>;
  /** DELETE /1.0/dumps/NAME; none there is no error */
  removeDump(name: string): Promise<void>;
  /** POST /1.0/containers/CTID/restore-dump?wait {dump: NAME, lazy} */
  restoreDump(id: CtId, name: string, lazy: boolean): Promise<void>;
  /** GET /1.0/dumps/NAME/pages, upgraded: the stream to DEST's lazy-pages daemon for NAME */
  openPages(name: string): Promise<Duplex>;
  /** whether DEST can restore lazily (GET /1.0: lazy_pages) */
  lazyPages(): Promise<boolean>;
}

export interface MigrateResult {
  ctid: CtId;
  dest: string;
  /** it ran here when the migration began, and runs on DEST now */
  running: boolean;
  /** this run finished a migration an earlier one began */
  resumed: boolean;
  /** its memory followed the restore (post-copy, --lazy-pages or chosen by size) */
  lazy: boolean;
  steps: MigrateStep[];
  /** how long each step took (upload: the backup and its upload) */
  stepMs: Partial<Record<MigrateStep, number>>;
  ms: number;
}

/**
 * Migrates CTID to the remote DEST (opened by openDest once the container is known to be
 * here, or its journal names DEST), or finishes the migration its journal records.
 */
export async function migrateContainer(
  ctx: Ctx,
  id: CtId,
  destName: string,
  openDest: (name: string) => MigrateDest,
  opts: { online?: boolean; lazy?: LazyChoice } = {},
): Promise<MigrateResult> {
  const online = opts.online === true;
  const t0 = Date.now();
  const mctx: Ctx = { ...ctx, migrating: id };
  const lock = acquireLock(ctx.host, ctx.paths.helper, migrateLockPath(ctx.paths, id), `migrate ${id}`, {
    request: ctx.request,
  });
  try {
    const old = readJournal(ctx.paths, id);
    if (!old) mustExist(id, readCt(ctx.paths, id));
    if (old && old.dest !== destName) {
      throw new BerthError(
        'BAD_VALUE',
        `migrate ${id}: the container is being migrated to ${old.dest}, not ${destName}`,
        {
          hint: `berth migrate ${id} ${old.dest} finishes it; berth migrate --abort ${id} gives it back to this host`,
        },
      );
    }
    const dest = openDest(destName);
    let j: MigrateJournal;
    let steps: MigrateStep[];
    if (old) {
      j = old;
      ctx.log(`Resuming the migration of ${id} to ${dest.name} (phase ${j.phase})`);
      const here = { exists: pathExists(ctConfigPath(ctx.paths, id)) };
      const there = await settledOn(ctx, dest, id).catch((err: unknown) => {
        throw journalled(old, `asking ${dest.name}`, err);
      });
      steps = resumeSteps(j, there, here);
    } else {
      const lazy = await checkBefore(ctx, id, dest, online, opts.lazy ?? 'auto');
      j = await begin(mctx, id, dest.name, online, lazy);
      steps = resumeSteps(j, 'absent', { exists: true });
    }
    const stepMs: Partial<Record<MigrateStep, number>> = {};
    for (const step of steps) {
      const t = Date.now();
      j = await runStep(mctx, j, step, dest);
      stepMs[step] = Date.now() - t;
    }
    return {
      ctid: id,
      dest: dest.name,
      running: j.wasRunning,
      resumed: old !== null,
      lazy: j.lazy === true,
      steps,
      stepMs,
      ms: Date.now() - t0,
    };
  } finally {
    lock.release();
  }
}

/** how long a resume waits for a restore still running on DEST (a killed run asked for it) */
const RESTORE_WAIT_MS = 30_000;

/** What DEST has, once a restore still running there (its config written, not its files) ends. */
async function settledOn(ctx: Ctx, dest: MigrateDest, id: CtId): Promise<DestState> {
  const end = Date.now() + RESTORE_WAIT_MS;
  let there = await dest.container(id);
  if (there === 'incomplete') ctx.log(`${id}: ${dest.name} is still restoring it; waiting...`);
  while (there === 'incomplete' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    there = await dest.container(id);
  }
  return there;
}

/** Step 0: everything that can refuse the migration, before anything changes; post-copy's word. */
async function checkBefore(
  ctx: Ctx,
  id: CtId,
  dest: MigrateDest,
  online: boolean,
  lazy: LazyChoice,
): Promise<LazyChoice> {
  const ct = mustExist(id, readCt(ctx.paths, id));
  const snaps = listSnapshots(ctx.paths, id);
  if (snaps.length) {
    // a backup does not carry snapshots, and the destroy here would take them along
    throw new BerthError(
      'BAD_VALUE',
      `migrate ${id}: the container has snapshots (${snaps.map((s) => s.name).join(', ')})`,
      {
        hint: `a migration does not carry them: berth snapshot-delete ${id} --name NAME first (or back them up)`,
      },
    );
  }
  const conf = readBytes(ctConfigPath(ctx.paths, id)).toString('utf8');
  const lost = keysLeftBehind(conf, id, ct.config.layout, ct.config.layer, readGlobal(ctx.paths));
  if (lost.length) {
    ctx.log(
      `warning: ${id} on ${dest.name} will lack ${lost.join(', ')}: a restore never takes them from an archive; set them there after (berth -r ${dest.name} set ${id} ...)`,
    );
  }
  const there = await dest.container(id);
  if (there !== 'absent') {
    throw new BerthError('PRIVATE_EXISTS', `migrate ${id}: ${dest.name} has a container ${id} already`, {
      hint: `nothing was changed; berth -r ${dest.name} destroy ${id} there first, or migrate another one`,
    });
  }
  if (online) await checkOnline(ctx, id, dest);
  const post = online ? lazyAtStart(lazy, lazy !== false && (await dest.lazyPages()), id, dest.name) : false;
  const layer = ct.config.layout === 'overlay' ? ct.config.layer : null;
  if (layer && !destHasLayer(layer, await dest.templates())) {
    throw new BerthError('BAD_TEMPLATE', `migrate ${id}: ${dest.name} lacks the template layer ${layer}`, {
      hint: `nothing was changed; import the same template version there (berth -r ${dest.name} template list; berth template import on ${dest.name})`,
    });
  }
  return post;
}

/**
 * Step 0 of --online: CRIU is here, and DEST can give the container the id range it has here
 * (its checkpoint holds the user namespace map).
 */
async function checkOnline(ctx: Ctx, id: CtId, dest: MigrateDest): Promise<void> {
  const ct = mustExist(id, readCt(ctx.paths, id));
  if (!criuVersion(ctx.host))
    throw new BerthError('CHKPNT', `migrate ${id} --online: CRIU is not installed here`, {
      hint: 'nothing was changed; run ./setup-criu.sh, or migrate offline',
    });
  const cfg = ct.config;
  // host resources a restore never takes from an archive: DEST's config would lack them, and
  // the checkpoint's binds of them with it (chkpnt and restore on one host carry them)
  const hostBound = [
    ...(cfg.devnodes.length ? ['DEVNODES'] : []),
    ...(cfg.bindmounts.length ? ['BINDMOUNT'] : []),
    ...(featureDevnodes(cfg.features, []).length ? ['FEATURES fuse/tun'] : []),
  ];
  if (hostBound.length)
    throw new BerthError('CHKPNT', `migrate ${id} --online: ${hostBound.join(', ')} do not move with a migration`, {
      hint: 'nothing was changed; migrate offline, then set them on the destination',
    });
  if (cfg.idBase === null) return;
  const why = await dest.idBaseRefusal(id, cfg.idBase);
  if (why)
    throw new BerthError(
      'BAD_VALUE',
      `migrate ${id} --online: ${dest.name} cannot keep ID_BASE ${cfg.idBase}: ${why}`,
      {
        hint: 'nothing was changed; the checkpoint holds its user namespace map: migrate offline (a fresh range there)',
      },
    );
}

/** Step 1: the journal, written under the container's lock so no start slips in between. */
function begin(ctx: Ctx, id: CtId, dest: string, online: boolean, lazy: LazyChoice): Promise<MigrateJournal> {
  return withLock(ctx, id, 'migrate', async (stored) => {
    const ct = mustExist(id, stored);
    const now = await reconcile(ctx, id, ct.config);
    const hex = Buffer.from(randomBytes(8)).toString('hex');
    const wasRunning = now.status !== 'stopped';
    if (online && !wasRunning) ctx.log(`${id} is stopped: migrated offline`);
    const j: MigrateJournal = {
      ctid: id,
      dest,
      archive: archiveName(id, hex),
      wasRunning,
      online: online && wasRunning,
      lazy: online && wasRunning ? lazy : false,
      phase: 'begun',
      started: new Date().toISOString(),
    };
    writeJournal(ctx.paths, j);
    return j;
  });
}

const PHASE_AFTER: Partial<Record<MigrateStep, MigratePhase>> = {
  'stop-here': 'stopped',
  'dump-here': 'stopped',
  'restore-dump-there': 'started',
  upload: 'uploaded',
  restore: 'restored',
  'start-there': 'started',
};

/** One step, then its phase in the journal (never moved back: a resume may redo a step). */
async function runStep(ctx: Ctx, was: MigrateJournal, step: MigrateStep, dest: MigrateDest): Promise<MigrateJournal> {
  // post-copy left to the dump's size is decided first, and recorded before anything is sent
  const j = step === 'upload' && was.lazy === 'auto' ? chooseLazy(ctx, was) : was;
  try {
    await STEPS[step](ctx, j, dest);
  } catch (err) {
    throw journalled(j, step, err);
  }
  const phase = PHASE_AFTER[step];
  if (!phase || MIGRATE_PHASES.indexOf(phase) <= MIGRATE_PHASES.indexOf(j.phase)) return j;
  const next = { ...j, phase };
  writeJournal(ctx.paths, next);
  ctx.log(`${j.ctid}: migration phase ${phase}`);
  return next;
}

type StepFn = (ctx: Ctx, j: MigrateJournal, dest: MigrateDest) => Promise<void>;

const STEPS: Record<MigrateStep, StepFn> = {
  'stop-here': async (ctx, j) => {
    const running = await withLock(ctx, j.ctid, 'migrate', async (stored) => {
      const ct = mustExist(j.ctid, stored);
      return (await reconcile(ctx, j.ctid, ct.config)).status !== 'stopped';
    });
    if (!running) return;
    ctx.log(`Stopping ${j.ctid} here...`);
    await stopContainer(ctx, j.ctid, { fast: false });
  },
  'dump-here': async (ctx, j) => {
    const running = await withLock(ctx, j.ctid, 'migrate', async (stored) => {
      const ct = mustExist(j.ctid, stored);
      return (await reconcile(ctx, j.ctid, ct.config)).status !== 'stopped';
    });
    const dir = migrateDumpPath(ctx.paths, j.ctid);
    if (!running) {
      // a run killed after its dump (or during it, CRIU finishing without berth)
      if (isWholeDump(dir)) return;
      throw new BerthError('CHKPNT', `migrate ${j.ctid}: stopped here without a checkpoint`, {
        hint: `berth migrate --abort ${j.ctid} starts it here again`,
      });
    }
    ctx.log(`Checkpointing ${j.ctid} here...`);
    await chkpntContainer(ctx, j.ctid, dir);
  },
  upload: async (ctx, j, dest) => {
    const file = migrateArchivePath(ctx.paths, j.ctid);
    removeFile(file); // what a killed run left
    const b = await backupContainer(ctx, j.ctid, file);
    // a run killed after its upload left the archive there: sent again whole
    await dest.removeArchive(j.archive);
    ctx.log(`Uploading ${j.ctid} to ${dest.name} (${Math.ceil(b.manifest.size / 1048576)} MB)...`);
    const m = meter(ctx.progress, `Uploading ${j.ctid}`, fileSize(file));
    try {
      await dest.upload(j.archive, file, (n) => m.add(n));
    } finally {
      m.end();
    }
    removeFile(file);
    if (j.online) await uploadDump(ctx, j, dest);
  },
  restore: async (ctx, j, dest) => {
    ctx.log(`Restoring ${j.ctid} on ${dest.name}...`);
    const ct = mustExist(j.ctid, readCt(ctx.paths, j.ctid));
    // the same machine moves: it keeps being privileged when its admin made it so; online, it
    // keeps its id range too (the checkpoint's user namespace map names it)
    await dest.restore(j.archive, j.ctid, ct.config.idBase === null, j.online ? ct.config.idBase : null);
  },
  'restore-dump-there': async (ctx, j, dest) => {
    ctx.log(`Restoring ${j.ctid}'s processes on ${dest.name}...`);
    if (j.lazy === true) await restoreLazily(ctx, j, dest);
    else await dest.restoreDump(j.ctid, dumpName(j), false);
  },
  'start-there': async (ctx, j, dest) => {
    ctx.log(`Starting ${j.ctid} on ${dest.name}...`);
    await dest.start(j.ctid);
  },
  finish: async (ctx, j, dest) => {
    if (pathExists(ctConfigPath(ctx.paths, j.ctid))) {
      ctx.log(`Removing ${j.ctid} here...`);
      await destroyContainer(ctx, j.ctid, 'migrate').catch((err: unknown) => {
        // a killed run's destroy, which the lock's recovery has just completed: gone, as wanted
        if (!(err instanceof BerthError && err.code === 'NO_CT_CONFIG')) throw err;
      });
    }
    try {
      await dest.removeArchive(j.archive);
    } catch (err) {
      ctx.log(`warning: ${dest.name}: the archive ${j.archive} stays in its backup store: ${(err as Error).message}`);
    }
    if (j.online) {
      await dest.removeDump(dumpName(j)).catch((err: Error) => {
        ctx.log(`warning: ${dest.name}: the dump ${dumpName(j)} stays in its dump store: ${err.message}`);
      });
    }
    removeFile(migrateArchivePath(ctx.paths, j.ctid));
    removeTree(migrateDumpPath(ctx.paths, j.ctid));
    dropJournal(ctx.paths, j.ctid);
  },
};

/**
 * The checkpoint as a ustar tar (DEST's reader takes only that), streamed to DEST's dump store;
 * post-copy, without the memory the page server sends after the restore.
 */
async function uploadDump(ctx: Ctx, j: MigrateJournal, dest: MigrateDest): Promise<void> {
  const dir = migrateDumpPath(ctx.paths, j.ctid);
  const tar = `${dir}.tar`;
  const view = `${dir}.lazy`;
  removeFile(tar);
  try {
    let what = `${j.ctid}'s checkpoint`;
    if (j.lazy === true) {
      const v = lazyDumpView(dir, view);
      what += ` without its ${mb(v.lazyBytes)} MB of lazy memory`;
    }
    await ctx.host.run('tar', ['--format=ustar', '-cf', tar, '-C', j.lazy === true ? view : dir, '.']);
    ctx.log(`Uploading ${what} to ${dest.name} (${mb(fileSize(tar))} MB)...`);
    const m = meter(ctx.progress, `Uploading ${j.ctid}'s checkpoint`, fileSize(tar));
    try {
      await dest.uploadDump(dumpName(j), tar, (n) => m.add(n));
    } finally {
      m.end();
    }
  } finally {
    removeFile(tar);
    removeTree(view);
  }
}

const mb = (bytes: number) => Math.ceil(bytes / 1048576);

/** auto: post-copy if the dump holds enough lazy memory; recorded before anything is sent. */
function chooseLazy(ctx: Ctx, j: MigrateJournal): MigrateJournal {
  const bytes = lazyBytesOf(migrateDumpPath(ctx.paths, j.ctid));
  const next = { ...j, lazy: decideLazy('auto', bytes) };
  writeJournal(ctx.paths, next);
  ctx.log(
    `${j.ctid}: ${mb(bytes)} MB of lazy memory: ${next.lazy ? 'post-copy (it follows the restore)' : 'sent with the checkpoint'}`,
  );
  return next;
}

/**
 * Post-copy: DEST's lazy-pages daemon connected to a page server here (over DEST's berthd),
 * then the restore there, which returns once the processes run; their memory keeps coming
 * until DEST has it all. DEST stops the container if its daemon ends early, so the step
 * succeeds only once DEST says the container runs and no longer waits for pages.
 */
async function restoreLazily(ctx: Ctx, j: MigrateJournal, dest: MigrateDest): Promise<void> {
  const dir = migrateDumpPath(ctx.paths, j.ctid);
  const server = pageServer(dir, await dest.openPages(dumpName(j)));
  try {
    await dest.restoreDump(j.ctid, dumpName(j), true);
  } catch (err) {
    server.kill();
    throw err;
  }
  ctx.log(`${j.ctid} runs on ${dest.name}; sending the rest of its memory...`);
  const code = await server.done;
  const there = await settledOn(ctx, dest, j.ctid);
  if (there !== 'running') {
    throw new BerthError(
      'RESTORE',
      `${j.ctid}'s memory did not all reach ${dest.name}, which stopped it (page server: ${code === 0 ? 'ended' : `exit ${code ?? 'by a signal'}`}: ${criuLogTail(join(dir, PAGE_SERVER_LOG), 2)})`,
      {
        hint: 'the whole checkpoint is still here',
      },
    );
  }
}

/** A failed step's error, saying that the journal stays and what the admin does next. */
function journalled(j: MigrateJournal, step: string, err: unknown): BerthError {
  const e = err instanceof BerthError ? err : null;
  const why = e ? e.message : (err as Error).message;
  return new BerthError(
    e?.code ?? 'SYSTEM',
    `migrate ${j.ctid} to ${j.dest}: ${step} failed: ${why} (the migration is journalled, phase ${j.phase})`,
    {
      hint: `berth migrate ${j.ctid} ${j.dest} resumes it; berth migrate --abort ${j.ctid} gives it back to this host${e?.hint ? `; ${e.hint}` : ''}`,
      cause: err,
    },
  );
}

export interface AbortResult {
  ctid: CtId;
  dest: string;
  running: boolean;
}

/** --abort: gives the container back to this host while DEST does not have it. */
export async function abortMigration(
  ctx: Ctx,
  id: CtId,
  openDest: (name: string) => MigrateDest,
): Promise<AbortResult> {
  const mctx: Ctx = { ...ctx, migrating: id };
  const lock = acquireLock(ctx.host, ctx.paths.helper, migrateLockPath(ctx.paths, id), `migrate --abort ${id}`, {
    request: ctx.request,
  });
  try {
    const j = readJournal(ctx.paths, id);
    if (!j) throw new BerthError('BAD_VALUE', `migrate --abort ${id}: no migration of ${id} is under way`);
    const dest = openDest(j.dest);
    const steps = abortSteps(j, await dest.container(id));
    mustExist(id, readCt(ctx.paths, id));
    for (const step of steps) {
      if (step === 'remove-archive') {
        await dest.removeArchive(j.archive);
        if (j.online) await dest.removeDump(dumpName(j));
      }
      if (step === 'start-here') await startHere(mctx, id);
      if (step === 'restore-here') await restoreHere(mctx, id);
      if (step === 'drop') {
        removeFile(migrateArchivePath(ctx.paths, id));
        removeTree(migrateDumpPath(ctx.paths, id));
        dropJournal(ctx.paths, id);
      }
    }
    return { ctid: id, dest: j.dest, running: j.wasRunning };
  } finally {
    lock.release();
  }
}

/**
 * Gives an online migration's container back: its dump restored here (its processes go on),
 * unless it still runs (killed before the dump); no whole dump (killed during it): a start.
 */
async function restoreHere(ctx: Ctx, id: CtId): Promise<void> {
  const running = await withLock(ctx, id, 'migrate', async (stored) => {
    const ct = mustExist(id, stored);
    return (await reconcile(ctx, id, ct.config)).status !== 'stopped';
  });
  if (running) return;
  const dir = migrateDumpPath(ctx.paths, id);
  if (!isWholeDump(dir)) return startHere(ctx, id);
  ctx.log(`Restoring ${id} here from its checkpoint...`);
  await restoreDump(ctx, id, dir);
}

/** Starts it here unless it still runs (a migration killed before it stopped the container). */
async function startHere(ctx: Ctx, id: CtId): Promise<void> {
  ctx.log(`Starting ${id} here again...`);
  try {
    await startContainer(ctx, id);
  } catch (err) {
    if (!(err instanceof BerthError && err.code === 'RUNNING')) throw err;
  }
}
