// The dashboard's files as the daemon serves them: embedded (no file read), with their type, a
// strict Content-Security-Policy and an ETag that answers 304; an unknown file is the 404 body.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { uiRoutes } from '../../../src/daemon/routes/ui.ts';
import { httpServer } from '../../../src/daemon/server.ts';

test('/ and /ui/{file}: the embedded dashboard, its type, CSP and ETag; 404 for another file', async (t) => {
  const srv = httpServer(
    uiRoutes(),
    () => null,
    () => {},
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;

  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await page.text();
  for (const [file, type] of [
    ['/ui/app.js', /^text\/javascript/],
    ['/ui/style.css', /^text\/css/],
  ] as const) {
    assert.ok(html.includes(`"${file}"`), `the page loads ${file}`);
    const r = await fetch(`${base}${file}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', type);
    assert.ok((await r.text()).length > 100);
    const again = await fetch(`${base}${file}`, { headers: { 'if-none-match': r.headers.get('etag') ?? '' } });
    assert.equal(again.status, 304);
  }
  const missing = await fetch(`${base}/ui/secret.txt`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { name: string } }).error.name, 'NOT_FOUND');
  const traversal = await fetch(`${base}/ui/..%2F..%2Fetc%2Fpasswd`);
  assert.equal(traversal.status, 404);
});
