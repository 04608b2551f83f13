// berth daemon: one per host root (the lock lock/berthd.lck), serving the API on the unix
// socket until SIGTERM or SIGINT. Operations still running when it stops go on by themselves:
// each is a berth process of its own, holding its own locks.
import type { Server } from 'node:http';
import { join } from 'node:path';
import { BerthError } from '../core/errors.ts';
import { removeDeadParts } from '../host/backup-store.ts';
import { ADMIN_GROUP, groupId, prepareSocket, removeSocket, secureSocket } from '../host/daemon-socket.ts';
import { acquireLock } from '../host/lock.ts';
import type { Paths } from '../host/paths.ts';
import { Daemon } from './daemon.ts';
import type { Route } from './router.ts';
import { containerRoutes } from './routes/containers.ts';
import { hostRoutes } from './routes/host.ts';
import { serverRoutes } from './routes/server.ts';
import { storageRoutes } from './routes/storage.ts';
import { uiRoutes } from './routes/ui.ts';
import { httpServer } from './server.ts';

export const socketPath = (p: Paths) => join(p.run, 'berthd.sock');

export function daemonRoutes(d: Daemon): Route[] {
  const routes: Route[] = [];
  routes.push(...serverRoutes(d, () => routes), ...containerRoutes(d), ...storageRoutes(d), ...hostRoutes(d));
  routes.push(...uiRoutes());
  return routes;
}

export async function runDaemon(paths: Paths, log: (m: string) => void): Promise<number> {
  let lock: { release(): void };
  try {
    lock = acquireLock(paths.helper, join(paths.lockDir, 'berthd.lck'), 'daemon');
  } catch (err) {
    if (err instanceof BerthError && err.code === 'LOCKED') {
      throw new BerthError('DAEMON_RUNNING', `daemon: another berthd serves ${paths.prefix}: ${err.message}`, {
        hint: `its socket: ${socketPath(paths)}`,
      });
    }
    throw err;
  }
  const socket = socketPath(paths);
  const servers: Server[] = [];
  try {
    const d = new Daemon(paths, log);
    const routes = daemonRoutes(d);
    removeDeadParts(paths);
    const gid = groupId(ADMIN_GROUP);
    prepareSocket(socket, gid);
    const local = httpServer(routes, () => null, log);
    servers.push(local);
    await new Promise<void>((resolve, reject) => {
      local.once('error', reject);
      local.listen(socket, resolve);
    });
    secureSocket(socket, gid);
    log(
      `berthd: serving ${socket}${gid === null ? ` (root only: no ${ADMIN_GROUP} group)` : ` (root and ${ADMIN_GROUP})`}`,
    );
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log(`berthd: ${sig}: stopping`);
        for (const s of servers) {
          s.close();
          s.closeAllConnections?.();
        }
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  } finally {
    removeSocket(socket);
    lock.release();
  }
}
