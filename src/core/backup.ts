// Backup archives: one plain tar holding berth-backup.json (the manifest), ct.conf (the
// container's config) and fs.tar.zst (its own files, as a snapshot copies them). The manifest
// carries the checksums that restore verifies before it writes anything.
import { BerthError } from './errors.ts';
import { LAYOUTS, type Layout } from './layout.ts';

export const BACKUP_FORMAT = 1;
export const MANIFEST = 'berth-backup.json';
export const CONF = 'ct.conf';
export const FS = 'fs.tar.zst';
export const MEMBERS = [MANIFEST, CONF, FS] as const;

export interface BackupManifest {
  format: number;
  ctid: string;
  created: string;
  layout: Layout;
  /** overlay: the layer its files sit on, and the template version that layer comes from */
  layer: string | null;
  template: { name: string; sha256: string } | null;
  /** the container ran (and was frozen while its files were read) */
  running: boolean;
  sha256: { [CONF]: string; [FS]: string };
  /** bytes of fs.tar.zst */
  size: number;
}

function bad(file: string, why: string): BerthError {
  return new BerthError('BAD_BACKUP', `backup ${file}: ${why}`, {
    hint: 'the archive is damaged or not a berth backup; nothing was written',
  });
}

export function parseManifest(text: string, file: string): BackupManifest {
  let m: Partial<BackupManifest>;
  try {
    m = JSON.parse(text) as Partial<BackupManifest>;
  } catch {
    throw bad(file, 'its manifest is not JSON');
  }
  // found by the property tests: "null" or "3" is JSON too
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw bad(file, 'its manifest is not an object');
  if (m.format !== BACKUP_FORMAT) throw bad(file, `unknown format ${JSON.stringify(m.format)}`);
  if (typeof m.ctid !== 'string' || !m.ctid) throw bad(file, 'the manifest names no container');
  if (!LAYOUTS.includes(m.layout as Layout)) throw bad(file, `unknown layout ${JSON.stringify(m.layout)}`);
  const hex = /^[0-9a-f]{64}$/;
  if (!m.sha256 || !hex.test(m.sha256[CONF] ?? '') || !hex.test(m.sha256[FS] ?? '')) {
    throw bad(file, 'the manifest has no checksums');
  }
  if (m.layout === 'overlay' && (!m.layer || !m.template)) throw bad(file, 'an overlay backup without its layer');
  return m as BackupManifest;
}

/** The archive's members must be exactly berth's three, in order. */
export function checkMembers(names: string[], file: string): void {
  const clean = names.map((n) => n.replace(/^\.\//, '')).filter(Boolean);
  if (clean.join(' ') !== MEMBERS.join(' ')) {
    throw bad(
      file,
      `unexpected contents (${clean.slice(0, 5).join(', ') || 'empty'}; a berth backup holds ${MEMBERS.join(', ')})`,
    );
  }
}

export function checkSum(what: string, got: string, want: string, file: string): void {
  if (got !== want) throw bad(file, `${what} does not match its checksum (the archive is damaged)`);
}

/** The default file name: CTID-20261125-231700.tar */
export function backupName(id: string, now: Date): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${id}-${iso}.tar`;
}
