// The disk use of dir and overlay containers, for the dashboard's disk graph: a walk of the
// files (du), which takes seconds for a big tree and which a container can make long (millions
// of empty files). So it is never walked in a request: the request gets the last result, and a
// walk older than REFRESH_MS is queued; one walk runs at a time, niced, across the host.
// (An image container's use is a statfs, read in the request: ops/metrics.ts.)
import type { Host } from '../host/host.ts';

/** how old a walk's result may be before the next request queues another */
const REFRESH_MS = 60_000;

export class TreeUsage {
  private known = new Map<string, { bytes: number; at: number }>();
  private queued = new Set<string>();
  private walking = false;

  private readonly host: Host;

  constructor(host: Host) {
    this.host = host;
  }

  /** DIR's bytes as last walked (null: not walked yet); queues a walk when that is old. */
  bytes(dir: string): number | null {
    const k = this.known.get(dir);
    if (!k || Date.now() - k.at > REFRESH_MS) {
      this.queued.add(dir);
      void this.next();
    }
    return k?.bytes ?? null;
  }

  private async next(): Promise<void> {
    if (this.walking) return;
    const [dir] = this.queued;
    if (dir === undefined) return;
    this.queued.delete(dir);
    this.walking = true;
    try {
      let bytes: number | null = null;
      // -x: one filesystem; du follows no symlink. Exit 1 (an unreadable directory) still totals.
      await this.host.run(
        'nice',
        ['-n', '19', 'du', '-s', '-B1', '-x', '--', dir],
        (line) => {
          const m = /^(\d+)\s/.exec(line);
          if (m) bytes = Number(m[1]);
        },
        [1],
      );
      if (bytes === null) this.known.delete(dir);
      else this.known.set(dir, { bytes, at: Date.now() });
    } catch {
      this.known.delete(dir); // gone (destroyed meanwhile): asked again, walked again
    } finally {
      this.walking = false;
      void this.next();
    }
  }
}
