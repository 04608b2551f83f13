// How a container's files are laid out on the host (LAYOUT), and how its root is mounted at
// VE_ROOT from them:
// - overlay: a shared read-only layer per template (unpacked once) under the container's own
//   upper directory: VE_PRIVATE/upper holds what the container changed, VE_PRIVATE/work is
//   overlayfs's scratch space. Creating one is two mkdirs; unchanged files share page cache.
// - dir: VE_PRIVATE is a full private copy of the template (OpenVZ's simfs).
// - image: VE_PRIVATE/root.img, a sparse ext4 image on a loop device (OpenVZ's ploop): its
//   size and inode count are hard limits the kernel enforces.

import { BerthError } from './errors.ts';
import { ID_COUNT } from './idmap.ts';

export const LAYOUTS = ['overlay', 'dir', 'image'] as const;
export type Layout = (typeof LAYOUTS)[number];
export const DEFAULT_LAYOUT: Layout = 'overlay';

export function parseLayout(raw: string, what: string): Layout {
  const l = LAYOUTS.find((x) => x === raw);
  if (!l) {
    throw new BerthError('BAD_VALUE', `invalid ${what} ${JSON.stringify(raw)}`, {
      hint: `one of: ${LAYOUTS.join(', ')}`,
    });
  }
  return l;
}

export interface RootSource {
  layout: Layout;
  vePrivate: string;
  /** where the tree is seen while mounted (the only view of an image) */
  veRoot: string;
  /** overlay: the shared layer's directory */
  layerDir: string | null;
  /** an unprivileged container's ID_BASE: VE_ROOT is then an idmapped view (on-disk 0 = base) */
  idBase?: number | null;
}

export const overlayUpper = (vePrivate: string) => `${vePrivate}/upper`;
export const overlayWork = (vePrivate: string) => `${vePrivate}/work`;
export const imageFile = (vePrivate: string) => `${vePrivate}/root.img`;

/**
 * Directories that hold the container's files, the one that wins first: for overlay, a file the
 * container changed is in its upper directory, anything else in the layer.
 */
export function fileLayers(src: RootSource): string[] {
  if (src.layout === 'image') return [src.veRoot]; // readable only while mounted
  return src.layout === 'overlay' && src.layerDir ? [overlayUpper(src.vePrivate), src.layerDir] : [src.vePrivate];
}

/**
 * The helper's arguments that show the container's files at VE_ROOT in the host's mount
 * namespace (`--host-bind`, `--host-overlay` or `--host-image`).
 */
export function rootMountArgs(src: RootSource): string[] {
  const idmap = src.idBase ? ['--idmap', String(src.idBase), String(ID_COUNT)] : [];
  return [...idmap, ...plainMountArgs(src)];
}

/**
 * The same for a view that no container runs from (`berth mount`, create's unpack of an image):
 * nosuid and nodev, so a setuid-root file or a device node the container planted does nothing
 * for a host user. A running container's VE_ROOT cannot be nosuid (the container's root would
 * inherit the flag, locked, and its su and passwd would stop working): its 0700 parent guards it.
 * Not idmapped, even for an unprivileged container: the admin sees on-disk ids, as vzctl shows
 * them (0 is the container's root), and what the host's root writes there is the container
 * root's (an idmapped view has no id for host uid 0, so creating a file failed with EOVERFLOW).
 */
export function viewMountArgs(src: RootSource): string[] {
  return ['--host-nosuid', ...plainMountArgs(src)];
}

function plainMountArgs(src: RootSource): string[] {
  const veRoot = src.veRoot;
  if (src.layout === 'dir') return ['--host-bind', src.vePrivate, veRoot];
  if (src.layout === 'image') return ['--host-image', imageFile(src.vePrivate), veRoot];
  if (!src.layerDir) {
    throw new BerthError('CONFIG_INVALID', `${src.vePrivate}: overlay layout without a template layer (LAYER)`, {
      hint: 'the container config lost its LAYER line; restore it from a backup',
    });
  }
  // overlayfs splits its options at "," and lowerdir at ":"; berth's own paths never hold them
  for (const p of [src.layerDir, src.vePrivate]) {
    if (/[,:\\\n]/.test(p)) {
      throw new BerthError('BAD_VALUE', `path ${JSON.stringify(p)}: overlay paths cannot contain , : or \\`, {
        hint: 'choose VE_PRIVATE (and the berth root) without those characters',
      });
    }
  }
  return [
    '--host-overlay',
    `lowerdir=${src.layerDir},upperdir=${overlayUpper(src.vePrivate)},workdir=${overlayWork(src.vePrivate)}`,
    veRoot,
  ];
}
