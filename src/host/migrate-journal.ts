// berth migrate's journal on disk: /var/lib/berth/migrate/CTID.json, root's only (0600 in a
// 0700 directory), written so that after a SIGKILL or a power loss it is the old record or the
// new one, and removed last, when the container is whole on exactly one host.
import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import type { CtId } from '../core/ctid.ts';
import { formatJournal, type MigrateJournal, parseJournal } from '../core/migrate.ts';
import { makeDir, removeFile } from './files.ts';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import { migrateDir, migrateJournalPath, type Paths } from './paths.ts';

/** The CTIDs with a journal file (valid or not): one directory read for a whole `list`. */
export function journalIds(p: Paths): Set<string> {
  try {
    return new Set(
      readdirSync(migrateDir(p))
        .filter((n) => n.endsWith('.json'))
        .map((n) => n.slice(0, -'.json'.length)),
    );
  } catch {
    return new Set(); // no migration ever made the directory
  }
}

/** The journal of CTID, or null when no migration of it is under way. */
export function readJournal(p: Paths, id: CtId): MigrateJournal | null {
  const file = migrateJournalPath(p, id);
  const text = readIfExists(file);
  return text === null ? null : parseJournal(text, id, file);
}

/**
 * Writes the journal: tmp + fsync + rename, then an fsync of the directory, so that the
 * rename itself (the record's commit) is on disk before the step it allows is taken.
 */
export function writeJournal(p: Paths, j: MigrateJournal): void {
  makeDir(migrateDir(p), 0o700);
  writeFileAtomic(migrateJournalPath(p, j.ctid), formatJournal(j), 0o600, true);
  syncDir(migrateDir(p));
}

/** The migration is over (finished or aborted): the container belongs to one host again. */
export function dropJournal(p: Paths, id: CtId): void {
  removeFile(migrateJournalPath(p, id));
  syncDir(migrateDir(p));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
