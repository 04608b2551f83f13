// The VE_ROOT bind mount and its removal (done by the helper: Node cannot mount); the facts
// are in mountinfo.ts.
import { runHelperSimple } from './helper.ts';
import type { Host } from './host.ts';
import { isMounted, readMountinfo } from './mountinfo.ts';

/** Shows a container's files at VE_ROOT (args from core/layout.ts rootMountArgs). */
export function mountRoot(host: Host, helper: string, args: string[]): void {
  runHelperSimple(host, helper, args, 'CANT_MOUNT');
}

/** Detaches every mount at (or stacked on) root. */
export function unmountRoot(host: Host, helper: string, root: string): void {
  for (let i = 0; i < 8 && isMounted(root, readMountinfo(host)); i++) {
    runHelperSimple(host, helper, ['--host-umount', root], 'CANT_UMOUNT');
  }
}
