// berthd's web dashboard in a real browser (chromium, headless): every action done through the
// page (create, start, settings, snapshots, backups, restart, stop, destroy), each checked on
// the host; errors shown with their hint; the list refreshed by events of a change made with
// the CLI; no horizontal scroll at 360 px. DASHBOARD_SCREENSHOTS=1 writes docs/images/dashboard-*.png.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { BROWSER_SKIP, openDashboard, SHOTS, shot } from './browser-harness.ts';
import { startDaemon } from './daemon-harness.ts';
import { ROOT_SKIP, type Sandbox, sandbox } from './harness.ts';

/**
 * How the action titled TITLE ended in the activity area: waits for its line to leave
 * "running", returns its class and text, and removes the line (a later action may share its title).
 */
async function outcome(page: Page, title: string, timeout = 90_000): Promise<{ ok: boolean; text: string }> {
  const line = page.locator('#activity li:not(.running)', { has: page.locator('.what', { hasText: title }) }).first();
  await line.waitFor({ timeout });
  const ok = (await line.getAttribute('class')) === 'success';
  const text = ((await line.textContent()) ?? '').replace(/\s+/g, ' ');
  await line.evaluate((el) => el.remove());
  return { ok, text };
}

async function succeeded(page: Page, title: string): Promise<string> {
  const r = await outcome(page, title);
  assert.ok(r.ok, `${title}: ${r.text}`);
  return r.text;
}

/** Answers the confirmation dialog that the click opened. */
async function confirm(page: Page, yes: boolean): Promise<void> {
  const dialog = page.locator('dialog#confirm[open]');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: yes ? /^(Stop|Restart|Destroy|Switch|Delete)$/ : 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** a busy loop in the container's shell, holding 8 MB in a variable */
const BUSY = 'x=$(head -c 8000000 /dev/zero | tr "\\0" a); while :; do :; done';

const statusOf = (s: Sandbox, id: string) => s.ok(['status', id]).trim();
const conf = (s: Sandbox, id: string) => readFileSync(join(s.root, 'etc/berth/ct', `${id}.conf`), 'utf8');
const pidOf = (s: Sandbox, id: string) => Number(JSON.parse(s.ok(['status', id, '--json'])).pid);

async function rowStatus(page: Page, id: string, status: string, timeout = 30_000): Promise<void> {
  await page.locator(`[data-ctid="${id}"] [data-status="${status}"]`).waitFor({ timeout });
}

/** no element makes the page wider than its window */
const overflow = (page: Page) =>
  page
    .locator('html')
    .evaluate((html: { scrollWidth: number; clientWidth: number }) => html.scrollWidth - html.clientWidth);

test('dashboard: every action through the page, checked on the host', {
  skip: ROOT_SKIP || BROWSER_SKIP,
  timeout: 600_000,
}, async (t) => {
  const s = sandbox(t);
  // a second container, made with the CLI: the list shows it, and events bring its start
  s.ok(['create', '102', '--hostname', 'db1']);
  const d = await startDaemon(t, s, { listen: true });
  const downloads = join(s.root, 'downloads');
  mkdirSync(downloads);
  const { page, origin, errors } = await openDashboard(t, s, d, downloads);
  await rowStatus(page, '102', 'stopped');
  await page.locator('#live.on').waitFor();

  // a change made with the CLI shows through the event stream, before the next poll
  s.ok(['start', '102']);
  const sawAt = Date.now();
  await rowStatus(page, '102', 'running', 4000);
  t.diagnostic(`the CLI's start showed in the page after ${Date.now() - sawAt} ms`);

  // create from a template, in the dialog
  await page.getByRole('button', { name: 'New container', exact: true }).click();
  const create = page.locator('dialog#create[open]');
  await create.getByLabel('Container ID').fill('101');
  await create.getByLabel('Template').selectOption('busybox');
  await create.getByLabel('Hostname').fill('web1');
  await shot(page, 'create');
  await create.getByLabel('Start it once created').uncheck();
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  await succeeded(page, 'create 101');
  await rowStatus(page, '101', 'stopped');
  assert.match(conf(s, '101'), /^HOSTNAME="web1"$/m);
  assert.match(statusOf(s, '101'), /exist unmounted down/);

  await page.getByRole('button', { name: 'Start 101', exact: true }).click();
  await succeeded(page, 'start 101');
  await rowStatus(page, '101', 'running');
  assert.match(statusOf(s, '101'), /running/);
  await page.locator('[data-ctid="101"]', { hasText: 'Memory' }).waitFor({ timeout: 15_000 });
  await shot(page, 'list');

  // its page: live graphs from the polled counters
  await page.getByRole('link', { name: /^101 web1/ }).click();
  await page.getByRole('heading', { name: 'Container 101 · web1' }).waitFor();
  const cpu = page.locator('figure.chart', { hasText: 'CPU' }).locator('.legend');
  await page.locator('figure.chart .legend', { hasText: /use [0-9.]+ %/ }).waitFor({ timeout: 15_000 });
  assert.match((await cpu.textContent()) ?? '', /use [0-9.]+ %/);
  assert.match(
    (await page.locator('figure.chart', { hasText: 'Memory' }).locator('.legend').textContent()) ?? '',
    /RAM [0-9.]+ (KiB|MiB)/,
  );
  assert.match(
    (await page.locator('figure.chart', { hasText: 'Network' }).locator('canvas').getAttribute('aria-label')) ?? '',
    /no network interface/,
  );
  if (SHOTS) {
    // something to draw: 8 MB held and a busy CPU, drawn while it lasts
    const busy = s.spawn(['exec', '101', '--', 'timeout', '24', 'sh', '-c', BUSY]);
    await page.waitForTimeout(20_000);
    await shot(page, 'detail');
    await new Promise((r) => (busy.exitCode === null ? busy.once('exit', r) : r(null)));
  }

  // settings: a bad value shows the API's message and hint; good ones reach the config
  await page.getByRole('tab', { name: 'Settings' }).click();
  const settings = page.locator('form.settings');
  await settings.getByLabel('Memory (RAM)').fill('bogus');
  await settings.getByRole('button', { name: 'Apply', exact: true }).click();
  const bad = await outcome(page, 'set 101');
  assert.ok(!bad.ok);
  assert.match(bad.text, /invalid size for ram: "bogus".*use a number/);
  assert.match(
    (await settings.getByRole('alert').textContent()) ?? '',
    /use a number with an optional K, M, G or T suffix/,
  );
  await settings.getByLabel('Hostname').fill('web2');
  await settings.getByLabel('Memory (RAM)').fill('300M');
  await settings.getByLabel('Processes').fill('200');
  await settings.getByRole('button', { name: 'Apply', exact: true }).click();
  assert.match(await succeeded(page, 'set 101'), /applied and saved/);
  const saved = conf(s, '101');
  assert.match(saved, /^HOSTNAME="web2"$/m);
  assert.match(saved, /^PHYSPAGES="0:300M"$/m);
  assert.match(saved, /^NUMPROC="200"$/m);
  assert.equal(s.ok(['list', '-H', '-o', 'hostname,physpages', '101']).trim().split(/\s+/).join(' '), 'web2 300M');
  await page.getByRole('heading', { name: 'Container 101 · web2' }).waitFor();

  // snapshots: take one, then a file made after it; switching is refused while it runs (with the hint)
  await page.getByRole('tab', { name: 'Snapshots' }).click();
  await page.getByLabel('Snapshot name').fill('snap1');
  await page.getByRole('button', { name: 'Take snapshot', exact: true }).click();
  await succeeded(page, 'snapshot 101');
  await page.locator('[data-snapshot="snap1"]').waitFor();
  assert.deepEqual(
    (JSON.parse(s.ok(['snapshot-list', '101', '--json'])) as { name: string }[]).map((x) => x.name),
    ['snap1'],
  );
  s.ok(['exec', '101', '--', 'touch', '/after-snapshot']);
  const after = join(s.root, 'var/lib/berth/private/101/upper/after-snapshot');
  assert.ok(existsSync(after));
  await page.getByRole('button', { name: 'Switch to snapshot snap1', exact: true }).click();
  await confirm(page, true);
  const refused = await outcome(page, 'snapshot-switch 101 snap1');
  assert.ok(!refused.ok);
  assert.match(refused.text, /container is running.*berth stop 101/);

  // restart (asks first): a new init
  const pid = pidOf(s, '101');
  await page.getByRole('button', { name: 'Restart 101', exact: true }).click();
  await confirm(page, true);
  await succeeded(page, 'restart 101');
  assert.notEqual(pidOf(s, '101'), pid, 'a new init after restart');

  // stop asks first: cancelled, nothing happens; confirmed, it stops
  await page.getByRole('button', { name: 'Stop 101', exact: true }).click();
  await confirm(page, false);
  assert.match(statusOf(s, '101'), /running/);
  await page.getByRole('button', { name: 'Stop 101', exact: true }).click();
  await confirm(page, true);
  await succeeded(page, 'stop 101');
  assert.match(statusOf(s, '101'), /down/);

  // stopped, the switch goes through: the file made after the snapshot is gone; then delete it
  await page.getByRole('button', { name: 'Switch to snapshot snap1', exact: true }).click();
  await confirm(page, true);
  await succeeded(page, 'snapshot-switch 101 snap1');
  assert.ok(!existsSync(after), 'the files are the snapshot');
  await page.getByRole('button', { name: 'Delete snapshot snap1', exact: true }).click();
  await confirm(page, true);
  await succeeded(page, 'snapshot-delete 101 snap1');
  await page.locator('[data-snapshot="snap1"]').waitFor({ state: 'detached' });
  assert.deepEqual(JSON.parse(s.ok(['snapshot-list', '101', '--json'])), []);

  // backups: take one into the store and download it
  await page.getByRole('tab', { name: 'Backups' }).click();
  await page.getByLabel('Backup name').fill('web-101.tar');
  await page.getByRole('button', { name: 'Take backup', exact: true }).click();
  await succeeded(page, 'backup 101');
  const stored = join(s.root, 'var/lib/berth/backup/web-101.tar');
  assert.ok(existsSync(stored));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download backup web-101.tar' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'web-101.tar');
  const got = join(downloads, 'web-101.tar');
  await download.saveAs(got);
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(sha(got), sha(stored), 'the download is the stored archive');
  await page.getByRole('tab', { name: 'Console' }).click();
  await page.getByText('The container is not running').waitFor();

  // destroy asks first, then the page goes back to the list without it
  await page.getByRole('button', { name: 'Destroy 101', exact: true }).click();
  await confirm(page, true);
  await succeeded(page, 'destroy 101');
  assert.ok(!existsSync(join(s.root, 'etc/berth/ct/101.conf')));
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
  await page.locator('[data-ctid="101"]').waitFor({ state: 'detached' });

  // a phone's width: one column, nothing wider than the window, on each page
  await page.setViewportSize({ width: 360, height: 740 });
  await rowStatus(page, '102', 'running');
  assert.equal(await overflow(page), 0, 'the list at 360 px');
  await shot(page, 'list-phone');
  await page.goto(`${origin}/#/ct/102/graphs`);
  await page.getByRole('heading', { name: 'Container 102 · db1' }).waitFor();
  await page.waitForTimeout(SHOTS ? 6000 : 500);
  assert.equal(await overflow(page), 0, 'the container page at 360 px');
  await shot(page, 'detail-phone');
  for (const tab of ['Settings', 'Snapshots', 'Backups']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.locator('[role="tabpanel"] h2').waitFor();
    assert.equal(await overflow(page), 0, `${tab} at 360 px`);
  }
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'New container', exact: true }).click();
  await page.locator('dialog#create[open]').waitFor();
  assert.equal(await overflow(page), 0, 'the create dialog at 360 px');
  await shot(page, 'create-phone');
  assert.deepEqual(errors, [], 'no script errors in the page');
});
