// The debian-12 template for the full-distro tests: built once per recipe and kept across runs
// (debootstrap takes about a minute), then linked into each sandbox's template cache.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_RECIPE } from '../../src/host/template.ts';
import { BERTH, ROOT_SKIP, type Sandbox } from './harness.ts';

const CACHE_ROOT = process.env['BERTH_TEST_CACHE'] ?? '/var/cache/berth-test';

function cachedDebian(): string | null {
  const root = join(CACHE_ROOT, DEBIAN_RECIPE);
  const file = join(root, 'var/lib/berth/template/cache/debian-12.tar.zst');
  if (existsSync(file)) return file;
  mkdirSync(root, { recursive: true });
  const r = spawnSync(BERTH, ['--root', root, 'template', 'create', 'debian-12'], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    return null;
  }
  return file;
}

const tpl = ROOT_SKIP ? null : cachedDebian();
export const DEBIAN_SKIP =
  ROOT_SKIP || (tpl ? false : 'debian-12 template could not be built (is the Debian mirror reachable?)');

/** Puts the cached debian-12 template into the sandbox's cache (a hard link where possible). */
export function useDebian(s: Sandbox): void {
  const dest = join(s.root, 'var/lib/berth/template/cache/debian-12.tar.zst');
  mkdirSync(join(s.root, 'var/lib/berth/template/cache'), { recursive: true });
  try {
    linkSync(tpl as string, dest);
  } catch {
    copyFileSync(tpl as string, dest);
  }
}
