// Browser sessions over TCP: a one-time token from `berth trust token` becomes a session cookie
// (HttpOnly, Secure, SameSite=Strict). Certificate clients and the unix socket need none.
import { BerthError } from '../../core/errors.ts';
import { redeemToken } from '../../host/tls.ts';
import { SESSION_COOKIE } from '../auth.ts';
import type { Daemon } from '../daemon.ts';
import type { Reply } from '../http-errors.ts';
import type { Route } from '../router.ts';

function session(d: Daemon, token: unknown): Record<string, string> {
  if (typeof token !== 'string' || !redeemToken(d.paths, token)) {
    throw new BerthError('NOT_TRUSTED', 'login: the token is unknown, used or expired', {
      hint: 'berth trust token makes a new one',
    });
  }
  const s = d.access.newSession();
  return { 'set-cookie': `${SESSION_COOKIE}=${s.id}; Max-Age=${s.maxAge}; Path=/; HttpOnly; Secure; SameSite=Strict` };
}

export function authRoutes(d: Daemon): Route[] {
  return [
    {
      method: 'GET',
      path: '/1.0/login',
      // the link `berth trust token` prints: a browser lands on the dashboard with its session
      handler: async (r): Promise<Reply> => ({
        status: 303,
        body: {},
        headers: { ...session(d, r.query.get('token')), location: '/' },
      }),
    },
    {
      method: 'POST',
      path: '/1.0/login',
      handler: async (r): Promise<Reply> => {
        const body = (await r.json()) as { token?: unknown } | null;
        return { status: 200, body: {}, headers: session(d, body?.token) };
      },
    },
    {
      method: 'POST',
      path: '/1.0/logout',
      handler: async (r): Promise<Reply> => {
        d.access.endSession(r.req);
        return {
          status: 200,
          body: {},
          headers: { 'set-cookie': `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Strict` },
        };
      },
    },
  ];
}
