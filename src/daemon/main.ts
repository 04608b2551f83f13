// berth daemon: one per host root (the lock lock/berthd.lck), serving the API on the unix
// socket until SIGTERM or SIGINT. Operations still running when it stops go on by themselves:
// each is a berth process of its own, holding its own locks.
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { BerthError } from '../core/errors.ts';
import { removeDeadParts } from '../host/backup-store.ts';
import { ADMIN_GROUP, groupId, prepareSocket, removeSocket, secureSocket } from '../host/daemon-socket.ts';
import { removeDeadDumpParts } from '../host/dump-store.ts';
import { linuxHost } from '../host/host.ts';
import { acquireLock } from '../host/lock.ts';
import type { Paths } from '../host/paths.ts';
import { ensureServerCert, fingerprintOf } from '../host/tls.ts';
import type { PeerSocket } from './auth.ts';
import { Daemon } from './daemon.ts';
import type { Route } from './router.ts';
import { authRoutes } from './routes/auth.ts';
import { containerRoutes } from './routes/containers.ts';
import { hostRoutes } from './routes/host.ts';
import { pagesRoutes } from './routes/pages.ts';
import { metricsRoute, serverRoutes } from './routes/server.ts';
import { storageRoutes } from './routes/storage.ts';
import { terminalRoutes } from './routes/terminal.ts';
import { uiRoutes } from './routes/ui.ts';
import { httpServer } from './server.ts';

export const socketPath = (p: Paths) => join(p.run, 'berthd.sock');

export function daemonRoutes(d: Daemon): Route[] {
  const routes: Route[] = [];
  routes.push(
    ...serverRoutes(d, () => routes),
    ...authRoutes(d),
    ...containerRoutes(d),
    ...storageRoutes(d),
    ...pagesRoutes(d),
    ...hostRoutes(d),
    metricsRoute(d),
    ...terminalRoutes(d),
    ...uiRoutes(),
  );
  return routes;
}

/** ADDR:PORT ([::]:8443, 0.0.0.0:8443, 127.0.0.1:0) as host and port, or a BAD_VALUE */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new BerthError('BAD_VALUE', `daemon: --listen ${JSON.stringify(text.slice(0, 80))}: not ADDR:PORT`, {
      hint: '--listen 0.0.0.0:8443, or [::]:8443 for IPv6 too',
    });
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * HTTPS on TCP: the TLS handshake asks for a client certificate (any may be offered; the
 * authorizer decides), then the connection is handed to the same HTTP server as the socket's.
 */
function tlsFront(d: Daemon, routes: Route[], log: (m: string) => void): { front: TlsServer; fingerprint: string } {
  const id = ensureServerCert(d.paths);
  const web = httpServer(routes, (req) => d.access.authorize(req), log);
  const open = new Set<TLSSocket>();
  const front = createTlsServer(
    { key: id.key, cert: id.cert, requestCert: true, rejectUnauthorized: false },
    (sock) => {
      open.add(sock);
      sock.once('close', () => open.delete(sock));
      const peer = sock.getPeerCertificate?.() as { raw?: Buffer } | undefined;
      (sock as PeerSocket).berthFingerprint = peer?.raw ? fingerprintOf(peer.raw) : null;
      web.emit('connection', sock);
    },
  );
  front.on('tlsClientError', () => {}); // a client that fails the handshake is its own problem
  // a stop ends a browser's kept-alive connections and websockets too, else the process stays
  Object.assign(front, {
    closeAllConnections: () => {
      for (const s of open) s.destroy();
    },
  });
  return { front, fingerprint: id.fingerprint };
}

export async function runDaemon(paths: Paths, log: (m: string) => void, listen?: string): Promise<number> {
  const tcp = listen === undefined ? null : parseListen(listen);
  let lock: { release(): void };
  try {
    lock = acquireLock(linuxHost, paths.helper, join(paths.lockDir, 'berthd.lck'), 'daemon');
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
    removeDeadDumpParts(paths);
    const gid = groupId(ADMIN_GROUP);
    prepareSocket(socket, gid);
    const local = httpServer(routes, () => null, log);
    servers.push(local);
    await new Promise<void>((resolve, reject) => {
      local.once('error', reject);
      local.listen(socket, resolve);
    });
    secureSocket(socket, gid);
    if (tcp) {
      const { front, fingerprint } = tlsFront(d, routes, log);
      servers.push(front as unknown as Server);
      await new Promise<void>((resolve, reject) => {
        front.once('error', reject);
        front.listen(tcp.port, tcp.host, resolve);
      });
      const addr = front.address();
      const port = typeof addr === 'object' && addr ? addr.port : tcp.port;
      log(
        `berthd: serving https://${tcp.host.includes(':') ? `[${tcp.host}]` : tcp.host}:${port} (trusted client certificates, token sessions; fingerprint ${fingerprint})`,
      );
    }
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
