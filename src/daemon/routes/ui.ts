// The web dashboard's own files: / and /ui/{file}, built from src/dashboard into the executable
// (build/ui.mjs). Not API paths, so not in the OpenAPI document; the page uses only /1.0.
import type { IncomingMessage } from 'node:http';
import { BerthError } from '../../core/errors.ts';
import type { Reply } from '../http-errors.ts';
import type { ApiRequest, Route } from '../router.ts';
import { UI_FILES } from '../ui-assets.js';

/**
 * the page loads only its own script and style, and talks only to its own origin (its
 * websockets too); xterm.js sizes and colours the terminal in <style> elements and style
 * attributes it writes, which take no nonce (xtermjs/xterm.js#4445): inline style, never script
 */
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function serve(r: ApiRequest, path: string) {
  const f = UI_FILES[path];
  if (!f) throw new BerthError('NOT_FOUND', `${JSON.stringify(path.slice(0, 200))}: no such dashboard file`);
  if (r.req.headers['if-none-match'] === f.etag) {
    r.res.writeHead(304, { etag: f.etag, ...HEADERS });
    r.res.end();
    return null;
  }
  r.res.writeHead(200, {
    'content-type': f.type,
    'content-length': Buffer.byteLength(f.body),
    etag: f.etag,
    ...HEADERS,
  });
  r.res.end(f.body);
  return null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GET / over TCP with no session: a short page (403) that says how to begin one. */
export function loginNeeded(req: IncomingMessage): Reply {
  const link = escapeHtml(`https://${(req.headers.host ?? 'HOST:PORT').slice(0, 200)}/1.0/login?token=TOKEN`);
  return {
    status: 403,
    body: null,
    headers: { ...HEADERS, 'cache-control': 'no-store' },
    raw: {
      type: 'text/html; charset=utf-8',
      data: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>berth: log in</title></head>
<body><h1>berth</h1>
<p>This browser has no session with berthd. On the host, run <code>berth trust token</code>
and open the link it prints: <code>${link}</code>, with the token in place of TOKEN.</p>
<p>Opened it from another site's page? <a href="/">Open the dashboard</a> from here.</p>
</body></html>
`,
    },
  };
}

export function uiRoutes(): Route[] {
  return [
    { method: 'GET', path: '/', handler: async (r) => serve(r, '/') },
    { method: 'GET', path: '/ui/{file}', handler: async (r) => serve(r, `/ui/${r.params['file']}`) },
  ];
}
