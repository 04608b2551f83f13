// Offline migration's policy (berth migrate CTID DEST): the journal that says a container is on
// its way to another host, which verbs it stops, and what a resume or an abort does next,
// decided from the journal and from what the destination says it has (docs/migration.md).
import { BACKUP_FORMAT, type BackupManifest, CONF, FS, restoredConfig } from './backup.ts';
import type { GlobalDefaults } from './ct-config.ts';
import type { CtId } from './ctid.ts';
import { BerthError } from './errors.ts';
import type { Layout } from './layout.ts';

/**
 * How far a migration got, each phase recorded (fsynced) once its step is done: begun (the
 * journal exists, nothing changed yet), stopped (the container is stopped here), uploaded
 * (the archive is on DEST), restored (DEST has the container, stopped), started (it runs there).
 */
export const MIGRATE_PHASES = ['begun', 'stopped', 'uploaded', 'restored', 'started'] as const;
export type MigratePhase = (typeof MIGRATE_PHASES)[number];

export interface MigrateJournal {
  ctid: CtId;
  /** the remote's name (berth remote add NAME URL) */
  dest: string;
  /** the archive's name in DEST's backup store */
  archive: string;
  /** the container ran here when the migration began: it runs on whichever host keeps it */
  wasRunning: boolean;
  /** --online of a running container: checkpointed here, restored from the dump there */
  online: boolean;
  /**
   * post-copy (--lazy-pages): the dump goes without its lazy memory, served from here after the
   * restore; auto: decided (and recorded) at the upload, by how much lazy memory the dump holds
   */
  lazy: LazyChoice;
  phase: MigratePhase;
  /** ISO 8601 */
  started: string;
}

/** post-copy asked (--lazy-pages), refused (--no-lazy-pages), or left to the dump's size */
export type LazyChoice = boolean | 'auto';

/**
 * auto's threshold of lazy memory: below it, the lazy restore's two extra CRIU processes and
 * their set-up cost more pause than the upload they save (bench/migrate.bench.ts MEM=,
 * docs/migration.md)
 */
export const LAZY_AUTO_BYTES = 32 * 1024 * 1024;

/** Post-copy or not, once the dump's lazy memory is known. */
export function decideLazy(choice: LazyChoice, lazyBytes: number): boolean {
  return choice === 'auto' ? lazyBytes >= LAZY_AUTO_BYTES : choice;
}

/**
 * Step 0's word on post-copy, from what the admin asked and whether DEST can restore lazily
 * (GET /1.0: lazy_pages): asked of a DEST that cannot, refused with nothing changed.
 */
export function lazyAtStart(asked: LazyChoice, destCan: boolean, id: CtId, dest: string): LazyChoice {
  if (destCan || asked === false) return asked;
  if (asked === 'auto') return false;
  throw new BerthError('CHKPNT', `migrate ${id} --lazy-pages: ${dest} cannot restore lazily`, {
    hint: `nothing was changed; it needs /dev/userfaultfd (Linux 6.1+) and setup's CRIU with berth's patches (./setup-criu.sh there); or migrate without --lazy-pages`,
  });
}

/** the Upgrade protocol of DEST's page stream (GET /1.0/dumps/NAME/pages): CRIU's page protocol */
export const PAGES_PROTOCOL = 'berth-pages';

const REMOTE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ARCHIVE_RE = /^migrate-[A-Za-z0-9_.-]{1,80}-[0-9a-f]{16}\.tar$/;

/** A fresh archive name: random, so a retry never meets another migration's upload. */
export function archiveName(id: CtId, random16hex: string): string {
  return `migrate-${id}-${random16hex}.tar`;
}

/** The uploaded checkpoint's name in DEST's dump store: the archive's, without .tar. */
export const dumpName = (j: MigrateJournal): string => j.archive.replace(/\.tar$/, '');

export function formatJournal(j: MigrateJournal): string {
  return `${JSON.stringify(j, null, 2)}\n`;
}

/** The journal of CTID, checked field by field (file: for the message). */
export function parseJournal(text: string, id: CtId, file: string): MigrateJournal {
  const bad = (why: string) =>
    new BerthError('CONFIG_INVALID', `migration journal ${file}: ${why}`, {
      hint: 'it is written by berth migrate only; move it away to give the container back to this host',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const r = (raw ?? {}) as Record<string, unknown>;
  if (r['ctid'] !== id) throw bad(`it names container ${JSON.stringify(r['ctid'])}`);
  if (typeof r['dest'] !== 'string' || !REMOTE_RE.test(r['dest'])) throw bad('dest is not a remote name');
  if (typeof r['archive'] !== 'string' || !ARCHIVE_RE.test(r['archive']))
    throw bad('archive is not a migration archive');
  if (typeof r['wasRunning'] !== 'boolean') throw bad('wasRunning is not true or false');
  if (r['online'] !== undefined && typeof r['online'] !== 'boolean') throw bad('online is not true or false');
  if (r['lazy'] !== undefined && typeof r['lazy'] !== 'boolean' && r['lazy'] !== 'auto')
    throw bad('lazy is not true, false or "auto"');
  if (!MIGRATE_PHASES.includes(r['phase'] as MigratePhase)) throw bad(`unknown phase ${JSON.stringify(r['phase'])}`);
  return {
    ctid: id,
    dest: r['dest'],
    archive: r['archive'],
    wasRunning: r['wasRunning'],
    online: r['online'] === true,
    lazy: r['online'] === true ? ((r['lazy'] as LazyChoice | undefined) ?? false) : false,
    phase: r['phase'] as MigratePhase,
    started: typeof r['started'] === 'string' ? r['started'] : '',
  };
}

/**
 * Verbs that still run on a container being migrated: they take nothing away from either
 * host's copy (stop and umount only make it quieter; exec runs in it while it still runs here).
 */
const ALLOWED_WHILE_MIGRATING = ['stop', 'umount', 'snapshot-umount', 'exec'];

/** The refusal of VERB on a container whose migration journal says J; null: VERB may run. */
export function migratingRefusal(j: MigrateJournal, verb: string): BerthError | null {
  if (ALLOWED_WHILE_MIGRATING.includes(verb)) return null;
  return new BerthError(
    'LOCKED',
    `${verb} ${j.ctid}: the container is being migrated to ${j.dest} (phase ${j.phase}, since ${j.started || 'unknown'})`,
    {
      hint: `berth migrate ${j.ctid} ${j.dest} finishes it; berth migrate --abort ${j.ctid} gives it back to this host`,
    },
  );
}

/** What `list` and `status --json` show for a container being migrated. */
export const migratingField = (j: MigrateJournal): string => `${j.dest}:${j.phase}`;

/** What DEST has of the container: nothing, a whole one stopped or running, or a half-restored one. */
export type DestState = 'absent' | 'stopped' | 'running' | 'incomplete';

/** The container as GET /1.0/containers/CTID answers it (404: absent). */
export function destStateOf(httpStatus: number, row: unknown): DestState {
  if (httpStatus === 404) return 'absent';
  const r = (row ?? {}) as Record<string, unknown>;
  // a restore writes the config before its files land: not whole until the private area exists
  // (broken: its config cannot be read there; nothing to build on either)
  if (r['exists'] !== true || r['status'] === 'broken') return 'incomplete';
  // DEST's daemon still works on it (a restore a killed run asked for): not settled either
  if (typeof r['busy'] === 'string') return 'incomplete';
  return r['status'] === 'stopped' ? 'stopped' : 'running';
}

/** online: dump-here instead of stop-here, restore-dump-there instead of start-there */
export type MigrateStep =
  | 'stop-here'
  | 'dump-here'
  | 'upload'
  | 'restore'
  | 'start-there'
  | 'restore-dump-there'
  | 'finish';

/**
 * The steps a (resumed) migration runs, decided from the truth: what DEST has, and whether the
 * container still exists and runs here. DEST having it is what moves the migration on, never
 * the phase alone (a kill between a step and its journal write leaves the phase behind).
 */
export function resumeSteps(j: MigrateJournal, there: DestState, here: { exists: boolean }): MigrateStep[] {
  const dest = j.dest;
  if (there !== 'absent' && !restoreSent(j)) {
    // the restore is sent only once the journal says uploaded: this one is another container
    throw new BerthError('PRIVATE_EXISTS', `migrate ${j.ctid}: ${dest} has another container ${j.ctid}`, {
      hint: `it appeared there after the migration began; berth migrate --abort ${j.ctid} gives the container back to this host`,
    });
  }
  if (there === 'incomplete') {
    throw new BerthError('LOCKED', `migrate ${j.ctid}: ${dest} has the container half restored`, {
      hint: `a restore still runs there, or one was killed there (the next command on ${j.ctid} there rolls it back); see berth -r ${dest} list -a, then berth migrate ${j.ctid} ${dest} again`,
    });
  }
  if (there === 'running') return ['finish'];
  const run: MigrateStep = j.online ? 'restore-dump-there' : 'start-there';
  if (there === 'stopped') return j.wasRunning ? [run, 'finish'] : ['finish'];
  if (!here.exists) {
    // never reached by berth's own order of steps (destroy here comes after DEST has it)
    throw new BerthError('NO_CT_CONFIG', `migrate ${j.ctid}: the container is neither here nor on ${dest}`, {
      hint: `was it destroyed on ${dest} by hand? the uploaded archive ${j.archive} may still be in ${dest}'s backup store`,
    });
  }
  return [j.online ? 'dump-here' : 'stop-here', 'upload', 'restore', ...(j.wasRunning ? [run] : []), 'finish'];
}

/** Whether a restore on DEST may have been asked for: DEST's container may then be ours. */
const restoreSent = (j: MigrateJournal) => MIGRATE_PHASES.indexOf(j.phase) >= MIGRATE_PHASES.indexOf('uploaded');

/**
 * What --abort does: give the container back to this host while DEST does not have it; after
 * an online migration's dump, by restoring the dump here (its processes go on), not a start.
 */
export function abortSteps(
  j: MigrateJournal,
  there: DestState,
): Array<'remove-archive' | 'start-here' | 'restore-here' | 'drop'> {
  if (there !== 'absent' && restoreSent(j)) {
    throw new BerthError('PRIVATE_EXISTS', `migrate --abort ${j.ctid}: ${j.dest} has the container already`, {
      hint: `berth migrate ${j.ctid} ${j.dest} finishes the migration; or berth -r ${j.dest} destroy ${j.ctid} first, then abort (never done automatically)`,
    });
  }
  const back = j.online ? ('restore-here' as const) : ('start-here' as const);
  return ['remove-archive', ...(j.wasRunning ? [back] : []), 'drop'];
}

/** Whether an overlay container's layer (NAME-<12 hex of its sha256>) is among DEST's templates. */
export function destHasLayer(layer: string, templates: unknown): boolean {
  if (!Array.isArray(templates)) return false;
  return templates.some((t) => {
    const r = (t ?? {}) as Record<string, unknown>;
    return (
      typeof r['name'] === 'string' &&
      typeof r['sha256'] === 'string' &&
      layer === `${r['name']}-${r['sha256'].slice(0, 12)}`
    );
  });
}

/**
 * The config keys DEST's restore leaves out (it treats every archive as hostile: DEVNODES,
 * BINDMOUNT, FEATURES, capabilities turned on ...), found before anything moves; a config it
 * would refuse is refused here, with nothing changed.
 */
export function keysLeftBehind(
  conf: string,
  id: CtId,
  layout: Layout,
  layer: string | null,
  g: GlobalDefaults,
): string[] {
  const m: BackupManifest = {
    format: BACKUP_FORMAT,
    ctid: id,
    created: '',
    layout,
    layer,
    template: null,
    running: false,
    sha256: { [CONF]: '', [FS]: '' },
    size: 0,
  };
  try {
    return restoredConfig(conf, m, id, g, CONF).dropped;
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    throw new BerthError('CONFIG_INVALID', `migrate ${id}: a restore would refuse its config: ${err.message}`, {
      hint: `nothing was changed; correct it with berth set ${id} first`,
    });
  }
}
