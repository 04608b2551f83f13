// Imports point one way: cli | oci | daemon -> ops -> engine -> core + host; host -> core; core -> nothing
// (and no node I/O); api (wire types) -> nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  host: ['core', 'host'],
  engine: ['core', 'host', 'engine'],
  ops: ['core', 'host', 'engine', 'ops'],
  // cli -> oci: the one executable is berth-oci when run under that name (cli/entry.ts)
  cli: ['core', 'host', 'engine', 'ops', 'cli', 'api', 'daemon', 'oci'],
  oci: ['core', 'host', 'engine', 'ops', 'oci'],
  // daemon -> cli: the command table is the one definition of each verb's options and version
  daemon: ['core', 'host', 'engine', 'ops', 'daemon', 'api', 'cli'],
  api: ['api'],
  // the dashboard runs in the browser: it knows the API's wire types and nothing else
  dashboard: ['dashboard', 'api'],
};
// One file per verb in ops: a verb imports another only where it is made of it (restart = stop + start).
const CROSS_VERB = [
  'backup -> destroy',
  'boot -> start',
  'boot -> stop',
  'enter -> exec',
  'migrate -> backup',
  'migrate -> chkpnt', // --online: the dump here, and the abort's restore of it
  'migrate -> destroy',
  'migrate -> restore-dump',
  'migrate -> start',
  'migrate -> stop',
  'restart -> start',
  'restart -> stop',
];
const NODE_IO = /^node:(fs|child_process|net|http|dgram)/;
// ops and engine reach files through host/ and the kernel through ctx.host (host/host.ts), so
// that unit tests run them on a temp tree with a fake host
const NO_DIRECT_LINUX = ['ops', 'engine'];
const LINUX_IO = /^node:(fs|child_process)/;

const IMPORTS = /^(?:import|export)[^'"]*from\s+'([^']+)'/gm;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('import directions follow the layering', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const layer = f.slice(SRC.length).split('/')[0] ?? '';
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORTS)) {
      const spec = m[1] ?? '';
      if (spec.startsWith('node:')) {
        if (layer === 'core' && NODE_IO.test(spec)) bad.push(`${f}: core must not import ${spec}`);
        if (NO_DIRECT_LINUX.includes(layer) && LINUX_IO.test(spec)) bad.push(`${f}: ${layer} must not import ${spec}`);
        continue;
      }
      const target = new URL(spec, `file://${f}`).pathname.slice(SRC.length).split('/')[0] ?? '';
      if (NO_DIRECT_LINUX.includes(layer) && /\/host\/(spawn|tools)\.ts$/.test(spec))
        bad.push(`${f}: ${layer} runs processes through ctx.host`);
      if (!(ALLOWED[layer] ?? []).includes(target)) bad.push(`${f}: ${layer} -> ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('ops files import no other verb but the listed ones', () => {
  const found: string[] = [];
  for (const f of files(join(SRC, 'ops'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORTS)) {
      const spec = m[1] ?? '';
      if (spec.startsWith('./')) found.push(`${f.slice(SRC.length + 4, -3)} -> ${spec.slice(2, -3)}`);
    }
  }
  assert.deepEqual(found.sort(), CROSS_VERB);
});
