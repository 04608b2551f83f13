// The debian-12 template for the full-distro tests: built once per recipe and kept across runs
// (debootstrap takes about a minute), then linked into each sandbox's template cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { DEBIAN_RECIPE } from '../../src/host/template.ts';
import { BERTH, ROOT_SKIP, type Sandbox, sandbox, waitFor } from './harness.ts';

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

/** A sandbox with the debian-12 template, its berth in network namespace NS (playing the host). */
export function debianInNetns(t: TestContext, ns: string): Sandbox {
  // the sandbox first: its cleanup (stop, destroy) must run before the namespace goes
  const s = sandbox(t);
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0);
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  s.wrap = ['nsenter', `--net=/run/netns/${ns}`];
  useDebian(s);
  return s;
}

/** Waits for container ID's systemd to finish booting; returns its state ("running", "degraded"). */
export async function booted(s: Sandbox, id: string, timeoutMs = 90_000): Promise<string> {
  let state = '';
  await waitFor(
    `${id}: systemd to finish booting`,
    () => {
      state = s.berth(['exec', id, '--', 'systemctl', 'is-system-running']).out.trim();
      return state !== 'starting' && state !== 'initializing' && state !== '';
    },
    timeoutMs,
  );
  return state;
}
