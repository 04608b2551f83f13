// ext4 images of the image layout: made with mkfs.ext4, grown (online too) with resize2fs,
// usage read with statfs while mounted or from the superblock (dumpe2fs) while not.
import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { errText } from './fs-util.ts';
import type { Host } from './host.ts';
import { isMounted, readMountinfo } from './mountinfo.ts';
import { ownCapabilities } from './proc.ts';

function tool(host: Host, cmd: string, args: string[], code: 'NEW_PRIVATE' | 'DISK_RESIZE', what: string): string {
  const r = host.tool(cmd, args);
  // e2fsck -p: 1 means "errors corrected", which is fine before a resize
  if (r.status !== 0 && !(cmd === 'e2fsck' && r.status === 1)) {
    throw new BerthError(code, `${what}: ${cmd}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`, {
      // null: it did not run at all (or died of a signal)
      ...(r.status === null ? { hint: 'berth needs e2fsprogs (apt-get install e2fsprogs)' } : {}),
    });
  }
  return r.stdout;
}

const CAP_SYS_RESOURCE = 24n;

function truncateTo(file: string, bytes: number, code: 'NEW_PRIVATE' | 'DISK_RESIZE', what: string, flag = 'r+'): void {
  try {
    const fd = openSync(file, flag, 0o600);
    try {
      ftruncateSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new BerthError(code, `${what}: size ${file}: ${errText(err)}`, { cause: err });
  }
}

/** A sparse file of `bytes` with an ext4 of at least `inodes` inodes, owned by root. */
export function makeImage(host: Host, file: string, bytes: number, inodes: number, label: string): void {
  const what = `create image ${file}`;
  truncateTo(file, bytes, 'NEW_PRIVATE', what, 'wx');
  // ext4 rounds the inode count to whole inode tables per block group, sometimes down: ask
  // for more until there are at least as many as the limit says
  let ask = inodes;
  for (let i = 0; i < 4; i++) {
    const opts = 'lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0';
    tool(
      host,
      'mkfs.ext4',
      ['-q', '-F', '-N', String(ask), '-m', '0', '-L', label.slice(0, 16), '-E', opts, file],
      'NEW_PRIVATE',
      what,
    );
    const got = imageUsage(host, file)?.inodesTotal ?? inodes;
    if (got >= inodes) return;
    ask += (inodes - got) * 2;
  }
}

/** The loop device backing `file`, if it is attached (sysfs names each loop's backing file). */
export function loopOf(file: string): string | null {
  for (const d of readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    try {
      if (readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim() === file) return `/dev/${d}`;
    } catch {}
  }
  return null;
}

/**
 * Resizes the image's ext4 and its file to `bytes`. Growing works mounted (the loop device
 * learns its new size, then resize2fs grows the mounted filesystem); shrinking needs it
 * unmounted and checked first. Sizes are compared with the filesystem's own, so a resize that
 * a crash cut short is finished by the next one.
 */
export function resizeImage(host: Host, file: string, bytes: number, root: string, what: string): void {
  const fsSize = imageFsSize(host, file);
  if (fsSize === null) {
    throw new BerthError('DISK_RESIZE', `${what}: cannot read the ext4 superblock of ${file}`, {
      hint: `check it with: e2fsck -f ${file} (with the container stopped)`,
    });
  }
  const fileSize = statSync(file).size;
  if (bytes === fsSize && fileSize === bytes) return;
  const mounted = isMounted(root, readMountinfo(host));
  const kib = `${Math.floor(bytes / 1024)}K`;
  if (bytes < fsSize) {
    if (mounted) {
      throw new BerthError('DISK_RESIZE', `${what}: an image shrinks only while the container is stopped`, {
        hint: 'stop it first, or give a size of at least the current one',
      });
    }
    tool(host, 'e2fsck', ['-f', '-p', file], 'DISK_RESIZE', what);
    tool(host, 'resize2fs', [file, kib], 'DISK_RESIZE', what); // refuses, changing nothing, if the data does not fit
    truncateTo(file, bytes, 'DISK_RESIZE', what);
    return;
  }
  const loop = mounted ? loopOf(file) : null;
  // the kernel grows a mounted ext4 only for CAP_SYS_RESOURCE (some hosts' root lacks it)
  if (loop && (ownCapabilities(host) & (1n << CAP_SYS_RESOURCE)) === 0n) {
    throw new BerthError(
      'DISK_RESIZE',
      `${what}: growing a mounted image needs CAP_SYS_RESOURCE, which berth lacks here`,
      {
        hint: 'stop the container and set the size again (an unmounted image grows without it)',
      },
    );
  }
  if (fileSize < bytes) truncateTo(file, bytes, 'DISK_RESIZE', what);
  try {
    if (loop) {
      tool(host, 'losetup', ['-c', loop], 'DISK_RESIZE', what);
      tool(host, 'resize2fs', [loop, kib], 'DISK_RESIZE', what);
    } else {
      tool(host, 'e2fsck', ['-f', '-p', file], 'DISK_RESIZE', what);
      tool(host, 'resize2fs', [file, kib], 'DISK_RESIZE', what);
    }
  } catch (err) {
    // the filesystem did not grow: the file gets its old size back
    truncateTo(file, Math.max(fsSize, fileSize), 'DISK_RESIZE', what);
    if (loop) host.tool('losetup', ['-c', loop]);
    throw err;
  }
}

export interface DiskUsage {
  /** bytes in use, and the filesystem's size */
  used: number;
  total: number | null;
  inodesUsed: number;
  inodesTotal: number | null;
}

/** Usage of a mounted filesystem (statfs). */
export function mountedUsage(root: string): DiskUsage {
  const s = statfsSync(root);
  return {
    used: (s.blocks - s.bfree) * s.bsize,
    total: s.blocks * s.bsize,
    inodesUsed: s.files - s.ffree,
    inodesTotal: s.files,
  };
}

/** The numeric fields of the image's ext4 superblock (dumpe2fs -h works mounted or not). */
function superblock(host: Host, file: string): Map<string, number> | null {
  const r = host.tool('dumpe2fs', ['-h', file]);
  if (r.status !== 0) return null;
  const out = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^([A-Za-z ]+):\s+(\d+)$/gm)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

/**
 * Usage of an image from its superblock. Like statfs, it leaves out ext4's own overhead
 * (journal, inode tables), so the figures match what `df` shows inside.
 */
export function imageUsage(host: Host, file: string): DiskUsage | null {
  const sb = superblock(host, file);
  const bs = sb?.get('Block size');
  const blocks = sb?.get('Block count');
  const inodes = sb?.get('Inode count');
  if (!sb || bs === undefined || blocks === undefined || inodes === undefined) return null;
  const overhead = sb.get('Overhead clusters') ?? 0;
  return {
    used: (blocks - (sb.get('Free blocks') ?? 0) - overhead) * bs,
    total: (blocks - overhead) * bs,
    inodesUsed: inodes - (sb.get('Free inodes') ?? 0),
    inodesTotal: inodes,
  };
}

/** The size of the image's filesystem: all its blocks, what resize2fs and the file size speak of. */
function imageFsSize(host: Host, file: string): number | null {
  const sb = superblock(host, file);
  const bs = sb?.get('Block size');
  const blocks = sb?.get('Block count');
  return bs === undefined || blocks === undefined ? null : bs * blocks;
}

/** Usage of a plain tree (dir, or an overlay's upper directory): du walks it. */
export function treeUsage(host: Host, dir: string): DiskUsage | null {
  const space = host.tool('du', ['-s', '-B1', '-x', dir]);
  const inodes = host.tool('du', ['-s', '--inodes', '-x', dir]);
  const used = Number(space.stdout.split(/\s/)[0]);
  const inodesUsed = Number(inodes.stdout.split(/\s/)[0]);
  if (Number.isNaN(used) || Number.isNaN(inodesUsed)) return null;
  return { used, total: null, inodesUsed, inodesTotal: null };
}
