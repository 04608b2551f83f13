// Mount facts from /proc/self/mountinfo: a file read, no helper (the read-only verbs load this,
// not mounts.ts).
import { readFileSync } from 'node:fs';

export function readMountinfo(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

function unescapeOctal(s: string): string {
  return s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The mount points of a mountinfo text (read now by default), unescaped. */
export function mountPoints(mountinfo = readMountinfo()): Set<string> {
  const out = new Set<string>();
  for (const l of mountinfo.split('\n')) {
    const mp = l.split(' ')[4];
    if (mp) out.add(unescapeOctal(mp));
  }
  return out;
}

/** Whether something is mounted at path, now (or in the given mountinfo text). */
export function isMounted(path: string, mountinfo = readMountinfo()): boolean {
  return mountPoints(mountinfo).has(path);
}
