// Read-only facts from a container's tree. The host never writes through these paths (the
// helper does, resolved inside the root); reading a symlink's text is safe.
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The target of the container's /sbin/init (or /usr/sbin/init), which names its init system;
 * `dirs` hold its files, the one that wins first (core/layout.ts fileLayers).
 */
export function initLink(dirs: readonly string[]): string | null {
  for (const p of ['sbin/init', 'usr/sbin/init']) {
    for (const d of dirs) {
      try {
        return readlinkSync(join(d, p));
      } catch {}
    }
  }
  return null;
}
