// The id ranges berth-oci hands to its system containers, beside berth's own (ID_BASE in the
// configs): RUN/oci-ids/BASE names the container that holds the range (its --root and id).
// Under /run: an OCI container does not outlive a reboot, and nothing on disk keeps the range
// (its root is an idmapped view: its files keep their on-disk ids).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readIfExists, writeFileAtomic } from './fs-util.ts';
import type { Paths } from './paths.ts';

export interface OciIdHolder {
  root: string;
  id: string;
}

export const ociIdsDir = (p: Paths): string => join(p.run, 'oci-ids');

/** Every recorded range: its base and holder (null: a file that is not a holder's). */
export function readOciIdHolders(p: Paths): { base: number; holder: OciIdHolder | null }[] {
  let names: string[];
  try {
    names = readdirSync(ociIdsDir(p));
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d{1,10}$/.test(n))
    .map((n) => {
      try {
        const h = JSON.parse(readIfExists(join(ociIdsDir(p), n)) ?? 'null') as OciIdHolder | null;
        const ok = h && typeof h.root === 'string' && typeof h.id === 'string';
        return { base: Number(n), holder: ok ? { root: h.root, id: h.id } : null };
      } catch {
        return { base: Number(n), holder: null };
      }
    });
}

export function writeOciIdHolder(p: Paths, base: number, holder: OciIdHolder): void {
  // no fsync: like the containers it names, it lives until the next boot, which a crash is
  // (every create paid one, a real disk write where BERTH_ROOT is on disk, as the benches')
  writeFileAtomic(join(ociIdsDir(p), String(base)), JSON.stringify(holder), 0o600, false);
}

export function removeOciIdHolder(p: Paths, base: number): void {
  rmSync(join(ociIdsDir(p), String(base)), { force: true });
}
