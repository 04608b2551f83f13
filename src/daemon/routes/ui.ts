// The web dashboard's own files: / and /ui/{file}, built from src/dashboard into the executable
// (build/ui.mjs). Not API paths, so not in the OpenAPI document; the page uses only /1.0.
import { BerthError } from '../../core/errors.ts';
import type { ApiRequest, Route } from '../router.ts';
import { UI_FILES } from '../ui-assets.js';

/** the page loads only its own script and style, and talks only to its own origin */
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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

export function uiRoutes(): Route[] {
  return [
    { method: 'GET', path: '/', handler: async (r) => serve(r, '/') },
    { method: 'GET', path: '/ui/{file}', handler: async (r) => serve(r, `/ui/${r.params['file']}`) },
  ];
}
