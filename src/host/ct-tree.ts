// Read-only facts from a container's tree. The host never writes through these paths (the
// helper does, resolved inside the root); reading a symlink's text is safe.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The target of the container's /sbin/init (or /usr/sbin/init), which names its init system. */
export function initLink(privateDir: string): string | null {
  for (const p of ['sbin/init', 'usr/sbin/init']) {
    try {
      return readlinkSync(join(privateDir, p));
    } catch {}
  }
  return null;
}
