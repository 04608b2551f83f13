// Disk limits (vzctl DISKSPACE and DISKINODES, "soft:hard") and which layout can enforce them.
//
// Only the image layout enforces them today: an ext4 image's size and inode count are the hard
// limits. overlay and dir would need project quotas, which berth does not drive yet (and which
// many kernels, the development machines' among them, lack). So a limit on those is refused,
// never stored and silently ignored.
import { BerthError } from './errors.ts';
import type { Layout } from './layout.ts';

export interface DiskLimit {
  soft: number;
  hard: number;
}

const KB = 1024;
const SIZE_UNITS: Record<string, number> = { '': KB, K: KB, M: KB ** 2, G: KB ** 3, T: KB ** 4 };

/** Smallest image berth makes: ext4's journal and metadata need room, and so does a rootfs. */
export const MIN_DISKSPACE = 64 * KB ** 2;
export const MIN_DISKINODES = 1024;

function part(raw: string, what: string, units: Record<string, number>): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)$/.exec(raw.trim());
  const n = m ? Math.round(Number(m[1]) * (units[(m[2] ?? '').toUpperCase()] ?? 1)) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new BerthError('BAD_VALUE', `invalid ${what}: ${JSON.stringify(raw)}`, {
      hint:
        what === 'diskspace'
          ? 'soft[:hard] in KiB or with a K, M, G or T suffix, e.g. 10G or 9G:10G'
          : 'soft[:hard] inode counts, e.g. 200000 or 180000:200000',
    });
  }
  return n;
}

function limit(raw: string, what: string, units: Record<string, number>, min: number): DiskLimit {
  const [s = '', h, extra] = raw.split(':');
  if (extra !== undefined) throw new BerthError('BAD_VALUE', `invalid ${what}: ${JSON.stringify(raw)}`);
  const soft = part(s, what, units);
  const hard = h === undefined ? soft : part(h, what, units);
  if (hard < soft) {
    throw new BerthError('BAD_VALUE', `invalid ${what}: ${JSON.stringify(raw)}: the hard limit is below the soft one`);
  }
  if (hard < min) {
    throw new BerthError('BAD_VALUE', `invalid ${what}: ${JSON.stringify(raw)}: at least ${min} needed`, {
      hint: what === 'diskspace' ? 'an image needs at least 64M' : `at least ${min} inodes`,
    });
  }
  return { soft, hard };
}

/** DISKSPACE / --diskspace: bytes; bare numbers are KiB (vzctl's 1K blocks). */
export function parseDiskspace(raw: string): DiskLimit {
  return limit(raw, 'diskspace', SIZE_UNITS, MIN_DISKSPACE);
}

/** DISKINODES / --diskinodes: counts (K, M suffixes multiply by 1000). */
export function parseDiskinodes(raw: string): DiskLimit {
  return limit(raw, 'diskinodes', { '': 1, K: 1000, M: 1000 ** 2, G: 1000 ** 3, T: 1000 ** 4 }, MIN_DISKINODES);
}

/** As vzctl writes them: DISKSPACE in KiB, DISKINODES as counts. */
export function formatDiskspace(l: DiskLimit): string {
  return `${Math.ceil(l.soft / KB)}:${Math.ceil(l.hard / KB)}`;
}

export function formatDiskinodes(l: DiskLimit): string {
  return `${l.soft}:${l.hard}`;
}

/** Refuses a disk limit the layout cannot enforce (exit 60), and an image without a size (63). */
export function checkDiskLimits(what: string, layout: Layout, space: DiskLimit | null, inodes: DiskLimit | null): void {
  if (layout === 'image') {
    if (!space) {
      throw new BerthError('DISKSPACE_NOT_SET', `${what}: layout image needs --diskspace (the image's size)`, {
        hint: 'e.g. --diskspace 10G (and --diskinodes 500000 for an inode limit)',
      });
    }
    return;
  }
  if (space || inodes) {
    throw new BerthError(
      'QUOTA_UNSUPPORTED',
      `${what}: layout ${layout} cannot enforce --${space ? 'diskspace' : 'diskinodes'}: berth limits disk space and inodes with the image layout only (project quotas are not supported)`,
      { hint: 'create the container with --layout image --diskspace SIZE [--diskinodes N]' },
    );
  }
}

/** mkfs.ext4's inode count for an image: the limit, or ext4's default of one per 16 KiB. */
export function imageInodes(space: DiskLimit, inodes: DiskLimit | null): number {
  return inodes ? inodes.hard : Math.max(MIN_DISKINODES, Math.floor(space.hard / (16 * KB)));
}
