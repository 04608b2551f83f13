// Copying a container's own files with the host's tools (cp, rsync): owners, modes, xattrs,
// ACLs, hard links and holes kept, symlinks copied as symlinks (never followed).
import { treeSyncArgs } from '../core/helper-args.ts';
import { runHelperSimple } from './helper.ts';
import type { Host } from './host.ts';

/** A whole copy to a DST that does not exist yet (reflinks where the fs can). */
export function copyTree(host: Host, src: string, dst: string): Promise<void> {
  return host.run('cp', ['-a', '--reflink=auto', '--sparse=always', '--no-target-directory', '--', src, dst]);
}

/** rsync: some files vanished before they could be copied (a running container removed them) */
const VANISHED = 24;

/**
 * A whole copy to a DST that does not exist yet, with rsync, of a tree that changes meanwhile:
 * the first pass of copyAsFrozen, whose second pass catches up (files gone are no error).
 */
export function syncTree(host: Host, src: string, dst: string): Promise<void> {
  return host.run('rsync', ['-aHAXS', '--numeric-ids', '--', `${src}/`, `${dst}/`], undefined, [VANISHED]);
}

/**
 * Brings DST up to date with what changed in SRC since SINCE (ns since the epoch): the helper
 * walks the tree once and copies what has a newer ctime, in the container's frozen moment.
 */
export function catchUpTree(host: Host, helper: string, src: string, dst: string, since: bigint): void {
  runHelperSimple(host, helper, treeSyncArgs(src, dst, since), 'SYSTEM');
}
