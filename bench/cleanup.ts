// What a bench's berth root holds beyond its containers: berth's lxcfs, which berth leaves
// running for later starts (its mount would keep the work tree from being removed).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Stops every lxcfs mounted under DIR (SIGTERM makes it unmount; a stuck one goes lazily). */
export function stopLxcfsUnder(dir: string): void {
  const mounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(' - fuse.lxcfs '))
      .map((l) => l.split(' ')[4] ?? '')
      .filter((mp) => mp.startsWith(dir));
  for (const mp of mounts()) {
    try {
      process.kill(Number(readFileSync(`${mp}.pid`, 'utf8').trim()), 'SIGTERM');
    } catch {}
  }
  for (let i = 0; i < 100 && mounts().length; i++) spawnSync('sleep', ['0.02']);
  for (const mp of mounts()) spawnSync('umount', ['-l', mp]);
}

/** berth-oci's call server of ROOT: calls served, declined and left to the client (its stats file). */
export function serverCounts(root: string): string {
  try {
    const st = JSON.parse(readFileSync(join(root, 'run/berth/oci-server/stats.json'), 'utf8'));
    return `served ${st.served}, declined ${st.declined}, all workers busy ${st.allBusy}`;
  } catch {
    return 'no stats (no server ran)';
  }
}
