// The VE_ROOT bind mount and its removal (done by the helper: Node cannot mount); the facts
// are in mountinfo.ts.
import { runHelperSimple } from './helper.ts';
import { isMounted } from './mountinfo.ts';

/** Shows a container's files at VE_ROOT (args from core/layout.ts rootMountArgs). */
export function mountRoot(helper: string, args: string[]): void {
  runHelperSimple(helper, args, 'CANT_MOUNT');
}

/** Detaches every mount at (or stacked on) root. */
export function unmountRoot(helper: string, root: string): void {
  for (let i = 0; i < 8 && isMounted(root); i++) runHelperSimple(helper, ['--host-umount', root], 'CANT_UMOUNT');
}
