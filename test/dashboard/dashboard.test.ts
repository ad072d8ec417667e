import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

/**
 * The dashboard end to end in headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the real API, engine and worker: sign in, pause, start and trigger a sync and see its
 * status change, open a run's logs, browse records page by page, the workflow history.
 * Screenshots go to test-artifacts/.
 */
jest.setTimeout(90_000);

// The callbacks handed to page.evaluate and waitForFunction run in the browser.
declare const document: any, sessionStorage: any, localStorage: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts');

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every day
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
    name: string
`;

const ITEMS = `module.exports = async function fetchData(nango) {
  await nango.log('fetching items');
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1000 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;

let t: OrchestrationTest;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  [t, browser] = await Promise.all([
    startOrchestrationTest(),
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
  ]);
  t.fake.items = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
  expect((await t.deploy(YAML, { 'sync/items': ITEMS })).status).toBe(200);
  await t.connect('dash-1');
  // Connections of an integration without syncs, for paging and search.
  await t.store.integrations.create(t.env.dev, { uniqueKey: 'crowd', provider: 'fake' });
  for (let i = 1; i <= 30; i++) await t.connect(`crowd-${String(i).padStart(2, '0')}`, 'crowd');
  await waitFor('the first run', async () => {
    const [target] = await t.targets('dash-1', ['items']);
    return (await t.store.jobs.jobs(target!.row.id)).some((j) => j.status === 'SUCCESS');
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
const row = '[data-sync="dash-1/items"]';
const statusText = () => page.textContent(`${row} .status`);
/** Waits until the row's last run is a newer one than `before`. */
const newerRun = (before: string | null) =>
  page.waitForFunction(
    ([sel, previous]) => {
      const time = document.querySelector(sel)?.getAttribute('datetime');
      return !!time && time !== previous;
    },
    [`${row} .last-run time`, before] as const,
    { timeout: 30_000 },
  );

test('sign-in refuses a wrong key and keeps the right one for the session only', async () => {
  await page.goto(`${t.url}/`);
  await page.fill('#key', 'sk_dev_wrong-key-0000000000');
  await page.click('#sign-in');
  await page.waitForSelector('text=This secret key is not valid.');
  await page.fill('#key', t.keys.dev);
  await page.click('#sign-in');
  await page.waitForSelector(row);
  expect(page.url()).not.toContain(t.keys.dev);
  expect(await page.evaluate(() => sessionStorage.getItem('syncline.secretKey'))).toBe(t.keys.dev);
  expect(await page.evaluate(() => localStorage.length + document.cookie.length)).toBe(0);
});

test('pause, start and trigger a sync; the status follows', async () => {
  await page.goto(`${t.url}/#/connections?search=dash-1`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'SUCCESS', `${row} .status`);
  await shot('connections');

  await page.click(`${row} button[data-action=pause]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'PAUSED', `${row} .status`);
  expect(await page.textContent(`${row} .next-run`)).toBe('—');
  await shot('paused');
  const lastRun = await page.getAttribute(`${row} .last-run time`, 'datetime');

  // Starting runs now: a newer run finishes. So does triggering.
  await page.click(`${row} button[data-action=start]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent !== 'PAUSED', `${row} .status`);
  await newerRun(lastRun);
  await page.click(`${row} button[data-action=trigger]`);
  await newerRun(await page.getAttribute(`${row} .last-run time`, 'datetime'));
  expect(await statusText()).toBe('SUCCESS');
  expect(await page.textContent(`${row} .counts`)).toContain('Item 40');
  await shot('triggered');
  const [target] = await t.targets('dash-1', ['items']);
  expect((await t.store.jobs.jobs(target!.row.id)).filter((j) => j.status === 'SUCCESS').length).toBeGreaterThanOrEqual(3);
});

test("a run's logs: script lines, HTTP calls and the outcome", async () => {
  await page.goto(`${t.url}/#/connections?search=dash-1`);
  await page.click(`${row} a:text("Runs")`);
  await page.waitForSelector('tr.log.outcome');
  expect(await page.locator('tr.log.outcome').count()).toBeGreaterThanOrEqual(3);
  await page.click('tr.log.outcome >> nth=0 >> a.job-link');
  await page.waitForSelector('tr.log[data-kind=outcome]');
  const kinds = await page.locator('tr.log').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
  expect(kinds).toEqual(['log', 'http', 'outcome']);
  expect(await page.textContent('tr.log[data-kind=http] pre')).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/offset\/items\?offset=0&limit=1000 200 \(\d+ ms\)$/);
  expect(await page.textContent('tr.log[data-kind=outcome] pre')).toMatch(/Sync "items" succeeded/);
  await shot('run-logs');
});

test('records page by page', async () => {
  await page.goto(`${t.url}/#/connections?search=dash-1`);
  await page.click(`${row} .counts a:text("Item")`);
  await page.waitForSelector('tr.record');
  expect(await page.locator('tr.record').count()).toBe(25);
  const firstPage = await page.locator('tr.record').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  await shot('records');
  await page.click('#next-page');
  await page.waitForFunction(() => document.querySelectorAll('tr.record').length === 15);
  const secondPage = await page.locator('tr.record').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  expect(new Set([...firstPage, ...secondPage]).size).toBe(40);
  expect(await page.isDisabled('#next-page')).toBe(true);
  await page.click('#prev-page');
  await page.waitForFunction(() => document.querySelectorAll('tr.record').length === 25);
});

test("the sync workflow's Temporal history", async () => {
  await page.goto(`${t.url}/#/connections?search=dash-1`);
  await page.click(`${row} a:text("History")`);
  await page.waitForSelector('tr.event');
  const types = await page.locator('tr.event td:nth-child(3)').allTextContents();
  expect(types[0]).toBe('WorkflowExecutionStarted');
  expect(types).toEqual(expect.arrayContaining(['ActivityTaskScheduled', 'ActivityTaskCompleted', 'WorkflowExecutionSignaled']));
  expect(await page.textContent('body')).toContain('activity runSync');
  await shot('history');
  // Another environment's key cannot read it.
  const other = await t.request('GET', '/dashboard/api/history?provider_config_key=fake&connection_id=dash-1&sync=items', { key: t.keys.prod });
  expect(other.status).toBe(404);
});

test('connections are paged and searched on the server', async () => {
  await page.goto(`${t.url}/#/connections?integration=crowd`);
  await page.waitForSelector('tr.connection');
  expect(await page.locator('tr.connection').count()).toBe(25);
  await page.click('#next-page');
  await page.waitForFunction(() => document.querySelectorAll('tr.connection').length === 5);
  expect(await page.isDisabled('#next-page')).toBe(true);
  await page.fill('#search', 'crowd-07');
  await page.click('form.filters button');
  await page.waitForFunction(() => document.querySelectorAll('tr.connection').length === 1);
  expect(await page.getAttribute('tr.connection', 'data-connection')).toBe('crowd-07');

  await page.click('a[href="#/integrations"]');
  await page.waitForSelector('[data-integration=crowd]');
  await page.click('a[href="#/logs"]');
  await page.waitForSelector('tr.log');
  await shot('logs');
  await page.click('#sign-out');
  await page.waitForSelector('#key');
  expect(await page.evaluate(() => sessionStorage.getItem('syncline.secretKey'))).toBeNull();
});
