// The dashboard's terminal in a real browser (chromium, headless) over berthd's HTTPS front, the
// way an admin gets there (a token's login link, the session cookie on the wss handshake, the
// page's CSP): a shell that answers what is typed, follows the window's size (stty size) and
// ends with its exit code; the console shows what the container writes to /dev/console.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { BROWSER_SKIP, openDashboard, shot } from './browser-harness.ts';
import { startDaemon } from './daemon-harness.ts';
import { ROOT_SKIP, sandbox } from './harness.ts';

/** a line of the terminal's screen (xterm's DOM rows) that matches */
const row = (page: Page, text: RegExp) => page.locator('.xterm-rows > div', { hasText: text });

/** Types a command line into the terminal, then Enter. */
async function run(page: Page, line: string): Promise<void> {
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** the sizes `echo S=$(stty size)` printed so far, in order */
async function sizes(page: Page): Promise<string[]> {
  const rows = await page.locator('.xterm-rows > div').allTextContents();
  return rows.flatMap((r) => /^S=(\d+ \d+)\s*$/.exec(r)?.[1] ?? []);
}

test('dashboard terminal: a shell and the console over wss, with resize and the exit code', {
  skip: ROOT_SKIP || BROWSER_SKIP,
  timeout: 300_000,
}, async (t) => {
  const s = sandbox(t);
  s.ok(['create', '101', '--hostname', 'web1']);
  s.ok(['start', '101']);
  t.after(() => s.berth(['stop', '--fast', '101']));
  const d = await startDaemon(t, s, { listen: true });
  const { page, errors } = await openDashboard(t, s, d, join(s.root, 'downloads'));
  page.setDefaultTimeout(30_000);
  await page.getByRole('link', { name: /^101 web1/ }).click();
  await page.getByRole('tab', { name: 'Console' }).click();

  // the shell: what is typed runs in the container
  await page.getByText('Shell: connected').waitFor({ timeout: 15_000 });
  await page.locator('.term .xterm-screen').click();
  await run(page, 'echo $((6*7)) $(hostname)');
  await row(page, /^42 web1\s*$/).waitFor({ timeout: 10_000 });

  await run(page, 'ls -l /');
  await shot(page, 'console');
  await run(page, 'clear');
  // its size is the terminal's, and follows the window
  await run(page, 'echo S=$(stty size)');
  await row(page, /^S=\d+ \d+/).waitFor({ timeout: 10_000 });
  const [before] = await sizes(page);
  await page.setViewportSize({ width: 700, height: 600 });
  await page.waitForTimeout(500);
  await run(page, 'echo S=$(stty size)');
  await row(page, /^S=\d+ \d+/)
    .nth(1)
    .waitFor();
  const after = (await sizes(page))[1];
  t.diagnostic(`stty size ${before} at 1280x800, ${after} at 700x600`);
  assert.notEqual(after, before, 'the window resized the terminal');
  const [rows, cols] = (after ?? '').split(' ').map(Number);
  assert.ok((cols ?? 0) < 90 && (rows ?? 0) > 5, `a narrower window, fewer columns: ${after}`);

  // its end: the exit code, and a way back
  await run(page, 'exit 3');
  await page.getByText('Shell ended: exit code 3').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Reconnect' }).click();
  await page.getByText('Shell: connected').waitFor({ timeout: 15_000 });

  // the console: what the container writes to /dev/console
  await page.getByRole('button', { name: 'Console', exact: true }).click();
  await page.getByText('Console: connected').waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  s.ok(['exec', '101', '--', 'sh', '-c', 'echo console-says-$((40+2)) > /dev/console']);
  await row(page, /console-says-42/).waitFor({ timeout: 10_000 });

  // a phone's width: the terminal fits, nothing wider than the window
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(500);
  const overflow = await page
    .locator('html')
    .evaluate((html: { scrollWidth: number; clientWidth: number }) => html.scrollWidth - html.clientWidth);
  assert.equal(overflow, 0, 'the console at 360 px');
  assert.deepEqual(errors, [], 'no script or CSP errors in the page');
});
