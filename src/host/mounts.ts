// Host-side mount facts and the VE_ROOT bind mount (done by the helper: Node cannot mount).
import { readFileSync } from 'node:fs';
import { runHelperSimple } from './helper.ts';

function unescapeOctal(s: string): string {
  return s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescapeOctal(l.split(' ')[4] ?? ''))
    .filter(Boolean);
}

export function isMounted(path: string): boolean {
  return mountPoints().includes(path);
}

/** Shows a container's files at VE_ROOT (args from core/layout.ts rootMountArgs). */
export function mountRoot(helper: string, args: string[]): void {
  runHelperSimple(helper, args, 'CANT_MOUNT');
}

/** Detaches every mount at (or stacked on) root. */
export function unmountRoot(helper: string, root: string): void {
  for (let i = 0; i < 8 && isMounted(root); i++) runHelperSimple(helper, ['--host-umount', root], 'CANT_UMOUNT');
}
