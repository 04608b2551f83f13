// A real browser on berthd's dashboard: Debian's chromium driven by playwright-core, headless,
// in a fresh profile, and the login link it opens the dashboard with. Everything closes after the test.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningDaemon } from './daemon-harness.ts';
import { REPO, type Sandbox } from './harness.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** DASHBOARD_SCREENSHOTS=1: the tests rewrite docs/images/dashboard-*.png */
export const SHOTS = process.env['DASHBOARD_SCREENSHOTS'] === '1' ? join(REPO, 'docs/images') : null;

export async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });
}

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
    ignoreHTTPSErrors: true,
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
 * berthd's HTTPS front as an admin's browser meets it: a one-time token from `berth trust
 * token`, the page opened at its login link (the session cookie, the page's CSP and the
 * websockets all go the way they do for an admin), the list shown. The browser context
 * ignores the certificate's name: berthd's own self-signed one. errors: the page's script and
 * CSP errors.
 */
export async function openDashboard(
  t: TestContext,
  s: Sandbox,
  d: RunningDaemon,
  downloads: string,
): Promise<{ page: Page; origin: string; errors: string[] }> {
  if (d.port === null) throw new Error('the daemon has no HTTPS port: startDaemon(t, s, { listen: true })');
  const origin = `https://127.0.0.1:${d.port}`;
  const token = s.ok(['trust', 'token', '--ttl', '10m']).trim();
  const page = await (await browser(t, downloads)).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // the browser logs each 4xx answer it gets (the favicon's, the refusals a test asks for)
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  await page.goto(`${origin}/1.0/login?token=${token}`);
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
  return { page, origin, errors };
}
