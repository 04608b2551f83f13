// The API's route table: each route a method, a path template and a handler. The same table
// is checked against the OpenAPI document (test/unit/daemon/openapi.test.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError } from '../core/errors.ts';
import type { Reply } from './http-errors.ts';

export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** the JSON body, read once (bounded; malformed JSON is a 400) */
  json: () => Promise<unknown>;
  req: IncomingMessage;
  /** a plain request's response; an upgrade (websocket) has none */
  res: ServerResponse;
  /** a websocket upgrade: the connection and what came after the request's head */
  upgrade?: { socket: Duplex; head: Buffer };
}

/** null: the handler answered itself (a stream, an upgrade) */
export type Handler = (r: ApiRequest) => Promise<Reply | null>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  handler: Handler;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

/** The route for a method and path; 404 for an unknown path, 405 for a known one's other method. */
export function matchRoute(routes: readonly Route[], method: string, path: string): Match {
  const parts = path.split('/');
  let pathKnown = false;
  for (const route of routes) {
    const tpl = route.path.split('/');
    if (tpl.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i] ?? '';
      const p = parts[i] ?? '';
      if (t.startsWith('{')) {
        try {
          params[t.slice(1, -1)] = decodeURIComponent(p);
        } catch {
          ok = false;
        }
        ok &&= p !== '';
      } else ok = t === p;
    }
    if (!ok) continue;
    pathKnown = true;
    if (route.method === method) return { route, params };
  }
  if (pathKnown) throw new BerthError('NOT_ALLOWED', `${method} ${clipPath(path)}: not allowed on this path`);
  throw new BerthError('NOT_FOUND', `${clipPath(path)}: no such API path`, {
    hint: 'GET /1.0/openapi.json lists them',
  });
}

const clipPath = (p: string) => JSON.stringify(p.length > 200 ? `${p.slice(0, 200)}...` : p);
