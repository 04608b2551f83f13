// berthd's HTTP front: node:http on the unix socket (root and berth-admin), and on TCP only
// behind TLS with a client certificate from the trust store. Each request: authenticate, match
// a route, run its handler, answer JSON; every failure through http-errors.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError } from '../core/errors.ts';
import { errorReply, type Reply } from './http-errors.ts';
import { type ApiRequest, matchRoute, type Route } from './router.ts';
import { loginNeeded } from './routes/ui.ts';

/** JSON bodies: a create or a set is a few hundred bytes; exec's stdin is the big one */
export const MAX_BODY = 4 << 20;

/** How a request's body reads: bounded, as JSON, a 413 past MAX_BODY. */
function jsonReader(req: IncomingMessage): () => Promise<unknown> {
  let read: Promise<unknown> | null = null;
  return () => {
    read ??= new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = Number(req.headers['content-length'] ?? 0);
      if (size > MAX_BODY) {
        reject(new BerthError('TOO_LARGE', `request body of ${size} bytes: the API takes at most ${MAX_BODY}`));
        return;
      }
      size = 0;
      req.on('data', (b: Buffer) => {
        size += b.length;
        if (size > MAX_BODY) {
          reject(new BerthError('TOO_LARGE', `request body over ${MAX_BODY} bytes`));
          req.destroy();
        } else chunks.push(b);
      });
      req.on('error', reject);
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim() === '') return resolve({});
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          reject(new BerthError('BAD_SYNTAX', `request body: malformed JSON: ${(err as Error).message.slice(0, 200)}`));
        }
      });
    });
    return read;
  };
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = reply.raw ? reply.raw.data : `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, {
    'content-type': reply.raw ? reply.raw.type : 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...reply.headers,
  });
  res.end(text);
}

/** authorize: null lets the request through; an error refuses it (TCP without a trusted cert) */
export type Authorizer = (req: IncomingMessage) => BerthError | null;

export function handler(routes: readonly Route[], authorize: Authorizer, log: (m: string) => void) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    let reply: Reply | null;
    try {
      const url = new URL(req.url ?? '/', 'http://berthd');
      const refusal = authorize(req);
      // a browser sent to the dashboard without a session: a page that says how to get one
      if (refusal && url.pathname === '/' && req.method === 'GET') return send(res, loginNeeded(req));
      if (refusal) throw refusal;
      const { route, params } = matchRoute(routes, req.method ?? 'GET', url.pathname);
      const r: ApiRequest = { method: route.method, params, query: url.searchParams, json: jsonReader(req), req, res };
      reply = await route.handler(r);
    } catch (err) {
      reply = errorReply(err);
      if (reply.status >= 500) log(`berthd: ${req.method} ${req.url?.slice(0, 200)}: ${JSON.stringify(reply.body)}`);
    }
    if (reply) send(res, reply);
  };
}

/** Websocket upgrades: the same authorization and routes (GET), then the handler owns the socket. */
function upgrades(routes: readonly Route[], authorize: Authorizer, log: (m: string) => void) {
  return async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      const refusal = authorize(req);
      if (refusal) throw refusal;
      const url = new URL(req.url ?? '/', 'http://berthd');
      const { route, params } = matchRoute(routes, 'GET', url.pathname);
      const r = {
        method: 'GET',
        params,
        query: url.searchParams,
        json: async () => ({}),
        req,
        res: null as unknown as ServerResponse,
        upgrade: { socket, head },
      };
      const reply = await route.handler(r);
      if (reply) throw new BerthError('BAD_SYNTAX', `${url.pathname}: not a websocket`);
    } catch (err) {
      const reply = errorReply(err);
      if (reply.status >= 500) log(`berthd: upgrade ${req.url?.slice(0, 200)}: ${JSON.stringify(reply.body)}`);
      const text = `${JSON.stringify(reply.body)}\n`;
      socket.end(
        `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    }
  };
}

export function httpServer(routes: readonly Route[], authorize: Authorizer, log: (m: string) => void): Server {
  const srv = createServer(handler(routes, authorize, log));
  srv.on('upgrade', upgrades(routes, authorize, log));
  // a slow or idle client never holds the daemon: headers in 10 s; a long poll (?wait, events) is a response
  srv.headersTimeout = 10_000;
  srv.requestTimeout = 0;
  srv.keepAliveTimeout = 30_000;
  return srv;
}
