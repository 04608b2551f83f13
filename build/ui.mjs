// Builds the dashboard (src/dashboard) into one module of strings, dist/src/daemon/ui-assets.js,
// which the daemon imports: esbuild's bundle of it ends up inside bin/berth, no files beside it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const dir = new URL('../src/dashboard/', import.meta.url).pathname;
const out = new URL('../dist/src/daemon/ui-assets.js', import.meta.url).pathname;

const app = await build({
  entryPoints: [`${dir}main.ts`],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
// xterm.js's own CSS goes first in the one stylesheet, so ours can adjust it
const xtermCss = readFileSync(createRequire(import.meta.url).resolve('@xterm/xterm/css/xterm.css'), 'utf8');
const files = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(`${dir}index.html`, 'utf8') },
  '/ui/app.js': { type: 'text/javascript; charset=utf-8', body: app.outputFiles[0].text },
  '/ui/style.css': { type: 'text/css; charset=utf-8', body: `${xtermCss}\n${readFileSync(`${dir}style.css`, 'utf8')}` },
};
for (const f of Object.values(files)) f.etag = `"${createHash('sha256').update(f.body).digest('base64url').slice(0, 22)}"`;
mkdirSync(new URL('.', `file://${out}`).pathname, { recursive: true });
writeFileSync(out, `// built by build/ui.mjs from src/dashboard\nexport const UI_FILES = ${JSON.stringify(files)};\n`);
