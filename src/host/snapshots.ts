// Snapshots on disk: /var/lib/berth/snapshots/CTID/NAME/{meta.json, ct.conf, fs/}. A snapshot
// appears by one rename of NAME.partial and goes by a rename to .NAME.deleting, so a listed
// snapshot is always whole; leftovers of a killed berth are removed by the next command.
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CtId } from '../core/ctid.ts';
import type { Layout } from '../core/layout.ts';
import { listDir, readIfExists } from './fs-util.ts';
import type { Host } from './host.ts';
import { unmountRoot } from './mounts.ts';
import { type Paths, snapshotPath, snapshotsOf } from './paths.ts';

export interface SnapshotMeta {
  name: string;
  created: string;
  layout: Layout;
  /** overlay: the layer its files sit on */
  layer: string | null;
  /** the container ran (and was frozen for the copy) */
  running: boolean;
  /** milliseconds the container was frozen */
  frozenMs: number;
}

export function readSnapshot(p: Paths, id: CtId, name: string): SnapshotMeta | null {
  const text = readIfExists(join(snapshotPath(p, id, name), 'meta.json'));
  if (text === null) return null;
  try {
    return JSON.parse(text) as SnapshotMeta;
  } catch {
    return null;
  }
}

/** Whole snapshots of a container, oldest first. */
export function listSnapshots(p: Paths, id: CtId): SnapshotMeta[] {
  return listDir(snapshotsOf(p, id))
    .filter((n) => !n.startsWith('.') && !n.endsWith('.partial'))
    .flatMap((n) => readSnapshot(p, id, n) ?? [])
    .sort((a, b) => a.created.localeCompare(b.created));
}

/** The LAYER of every snapshot of every container (their layers must stay). */
export function snapshotLayers(p: Paths): string[] {
  return listDir(p.snapshotDir).flatMap((id) =>
    listSnapshots(p, id as CtId).flatMap((m) => (m.layer ? [m.layer] : [])),
  );
}

/** Removes a snapshot: renamed out of the list first, so it is never half there. */
export function removeSnapshot(p: Paths, id: CtId, name: string): void {
  const doomed = join(snapshotsOf(p, id), `.${name}.deleting`);
  renameSync(snapshotPath(p, id, name), doomed);
  rmSync(doomed, { recursive: true, force: true });
}

/** Where snapshot-mount records the target of a mounted snapshot (gone with the reboot). */
export const snapshotMountRecord = (p: Paths, id: CtId, name: string) => join(p.run, id, `snapshot-mount-${name}`);

/** destroy: every snapshot of the container goes too (unmounting any view of one first). */
export function removeAllSnapshots(host: Host, p: Paths, id: CtId): void {
  for (const s of listSnapshots(p, id)) {
    const target = readIfExists(snapshotMountRecord(p, id, s.name))?.trim();
    if (target) unmountRoot(host, p.helper, target);
    rmSync(snapshotMountRecord(p, id, s.name), { force: true });
  }
  rmSync(snapshotsOf(p, id), { recursive: true, force: true });
}

/** Leftovers of an interrupted snapshot or delete; returns what it removed. */
export function cleanSnapshotLeftovers(p: Paths, id: CtId): string[] {
  const dir = snapshotsOf(p, id);
  const gone = listDir(dir).filter((n) => n.endsWith('.partial') || n.endsWith('.deleting'));
  for (const n of gone) rmSync(join(dir, n), { recursive: true, force: true });
  return gone;
}
