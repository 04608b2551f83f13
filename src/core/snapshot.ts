// Snapshots: names, what of a container's files a snapshot copies (per layout), and how a
// snapshot is shown read-only. A snapshot is a plain directory copy of the container's own
// files plus its config at that instant (docs/storage.md).
import { BerthError } from './errors.ts';
import { imageFile, type Layout, overlayUpper, type RootSource } from './layout.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateSnapshotName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new BerthError('BAD_VALUE', `invalid snapshot name ${JSON.stringify(name)}`, {
      hint: 'letters, digits and . _ -, up to 64, starting with a letter or digit',
    });
  }
  return name;
}

/** The default name: the time, sortable (20261125-231700). */
export function defaultSnapshotName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/**
 * The directory whose contents are the container's own files: the tree (dir), what it
 * changed on its layer (overlay), or the directory holding its image (image).
 */
export function ownFilesDir(layout: Layout, vePrivate: string): string {
  return layout === 'overlay' ? overlayUpper(vePrivate) : vePrivate;
}

/**
 * The read-only view of a snapshot's copy `fs` (a copy of ownFilesDir) at `target`: nosuid and
 * nodev too, as the target is wherever the admin says, maybe open to every host user.
 */
export function snapshotMountArgs(src: RootSource, fs: string, target: string): string[] {
  const view = ['--host-ro', '--host-nosuid'];
  if (src.layout === 'image') return [...view, '--host-image', imageFile(fs), target];
  if (src.layout === 'dir') return [...view, '--host-bind', fs, target];
  if (!src.layerDir) throw new BerthError('CONFIG_INVALID', `snapshot ${fs}: overlay without a layer`);
  // two lower layers and no upper: overlayfs makes it read-only by itself
  return [...view, '--host-overlay', `lowerdir=${fs}:${src.layerDir}`, target];
}

/** Config keys a snapshot-switch takes back from the snapshot: those that describe the files. */
export const STORAGE_KEYS = ['LAYOUT', 'LAYER', 'DISKSPACE', 'DISKINODES'] as const;
