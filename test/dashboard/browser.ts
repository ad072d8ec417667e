import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium for the dashboard tests; fails with how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A test server (API only) and a browser page, for dashboard pages that need no engine. */
export async function dashboardOnTestServer(): Promise<{ server: TestServer; page: Page; close(): Promise<void> }> {
  const [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
  return {
    server,
    page: await browser.newPage(),
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * For a test file: a dashboard on a test server, started before its tests and closed after them.
 *
 * @example
 * const t = useDashboard();
 * test('...', async () => { await openPage(t.page, t.server.url, t.server.keys.dev, '#/settings'); });
 */
export function useDashboard(): { server: TestServer; page: Page } {
  const current = {} as { server: TestServer; page: Page };
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dashboard = await dashboardOnTestServer();
    ({ close } = dashboard);
    Object.assign(current, { server: dashboard.server, page: dashboard.page });
  });
  afterAll(() => close?.());
  return current;
}

/** Signs in with `key` and opens the page the nav link `hash` (`#/settings`) leads to. */
export async function openPage(page: Page, url: string, key: string, hash: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('#key', key);
  await page.click('#sign-in');
  await page.waitForSelector(`nav a[href="${hash}"]`);
  await page.click(`nav a[href="${hash}"]`);
}
