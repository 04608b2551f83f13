// Who may use berthd over TCP: a client certificate in the trust store (berth trust add), or a
// browser session begun with a one-time token (berth trust token). The unix socket needs
// neither: its mode and group are its access control.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { BerthError } from '../core/errors.ts';
import type { Paths } from '../host/paths.ts';
import { listTrust, trustStamp } from '../host/tls.ts';

export const SESSION_COOKIE = 'berth_session';
const SESSION_MS = 12 * 3600_000;

/** the fingerprint the TLS front stored on the socket when the handshake ended */
export type PeerSocket = TLSSocket & { berthFingerprint?: string | null };

export class Access {
  private readonly paths: Paths;
  private sessions = new Map<string, number>();
  private trusted = new Map<string, string>();
  private stamp = -1;

  constructor(paths: Paths) {
    this.paths = paths;
  }

  /** name of the trusted certificate with this fingerprint, or null (the store re-read when it changed) */
  trustedName(fp: string | null | undefined): string | null {
    const stamp = trustStamp(this.paths);
    if (stamp !== this.stamp) {
      this.trusted = new Map(listTrust(this.paths).map((t) => [t.fingerprint, t.name]));
      this.stamp = stamp;
    }
    return fp ? (this.trusted.get(fp) ?? null) : null;
  }

  newSession(): { id: string; maxAge: number } {
    const now = Date.now();
    for (const [id, end] of this.sessions) if (end <= now) this.sessions.delete(id);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, now + SESSION_MS);
    return { id, maxAge: SESSION_MS / 1000 };
  }

  endSession(req: IncomingMessage): void {
    const id = cookie(req, SESSION_COOKIE);
    if (id) this.sessions.delete(id);
  }

  private sessionOk(req: IncomingMessage): boolean {
    const id = cookie(req, SESSION_COOKIE);
    const end = id ? this.sessions.get(id) : undefined;
    return end !== undefined && end > Date.now();
  }

  /** The TCP front's check, before any route runs: null lets the request through. */
  authorize(req: IncomingMessage): BerthError | null {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/1.0/login') return null; // the token is its authentication
    // a browser sends its cookie (and its certificate) with another site's form or websocket
    // too: a change or a terminal must come from berthd's own page (no CSRF, no CSWSH)
    const origin = req.headers.origin;
    const change = (req.method !== 'GET' && req.method !== 'HEAD') || req.headers.upgrade !== undefined;
    if (change && origin !== undefined && origin !== `https://${req.headers.host}`) {
      return new BerthError(
        'NOT_TRUSTED',
        `${req.method} ${path}${req.headers.upgrade ? ' (websocket)' : ''}: a request from another site (${origin.slice(0, 100)})`,
      );
    }
    if (this.trustedName((req.socket as PeerSocket).berthFingerprint)) return null;
    if (this.sessionOk(req)) return null;
    return new BerthError('NOT_TRUSTED', 'this client presented no trusted certificate and has no session', {
      hint: 'on the host: berth trust add NAME CERT, or berth trust token for a browser',
    });
  }
}

export function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}
