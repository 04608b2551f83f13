// A real browser on berthd's dashboard: Debian's chromium driven by playwright-core, headless,
// in a fresh profile, and the address it opens the dashboard at. Everything closes after the test.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import type { RunningDaemon } from './daemon-harness.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false. */
export const BROWSER_SKIP: string | false = !existsSync(CHROMIUM)
  ? 'needs chromium (the setup installs it: apt-get install chromium)'
  : Number(process.versions.node.split('.')[0]) < 20
    ? 'playwright-core needs Node.js 20 or newer'
    : false;

/** The machine notes' flags: no sandbox as root, no GPU, nothing that reaches the network by itself. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless chromium with a new, empty profile (--user-data-dir), closed and removed after the test. */
export async function browser(t: TestContext, downloads: string): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'berth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    downloadsPath: downloads,
    viewport: { width: 1280, height: 800 },
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/**
 * The origin the browser opens the dashboard at. The browser cannot reach a unix socket, so for
 * now a loopback TCP relay to the daemon's socket (127.0.0.1, a random port, closed after the
 * test). When berthd serves HTTPS with a login, this function is the one change: its URL and
 * the one-time-token login instead of the relay.
 */
export async function dashboardOrigin(t: TestContext, d: RunningDaemon): Promise<string> {
  const open = new Set<Socket>();
  const relay = createServer((client) => {
    const daemon = createConnection(d.socket);
    open.add(client).add(daemon);
    const end = () => {
      client.destroy();
      daemon.destroy();
      open.delete(client);
      open.delete(daemon);
    };
    client.on('error', end).on('close', end);
    daemon.on('error', end).on('close', end);
    client.pipe(daemon).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(0, '127.0.0.1', resolve);
  });
  t.after(async () => {
    for (const s of open) s.destroy();
    await new Promise((r) => relay.close(r));
  });
  const addr = relay.address();
  if (addr === null || typeof addr === 'string') throw new Error('the relay has no TCP address');
  return `http://127.0.0.1:${addr.port}`;
}
