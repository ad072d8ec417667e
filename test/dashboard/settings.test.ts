import type { Page } from 'playwright-core';
import type { TestServer } from '../helpers/server';
import { dashboardOnTestServer, openPage } from './browser';

/**
 * The dashboard's Settings page in headless Chromium against the real API: it shows the
 * environment's validation settings and a click changes one (the others stay), as the API does.
 */
jest.setTimeout(60_000);

// The callbacks handed to page.waitForFunction run in the browser.
declare const document: any;

let dashboard: Awaited<ReturnType<typeof dashboardOnTestServer>>;
let server: TestServer;
let page: Page;

beforeAll(async () => {
  dashboard = await dashboardOnTestServer();
  ({ server, page } = dashboard);
});
afterAll(() => dashboard?.close());

test('the Settings page shows the validation settings and a click changes one', async () => {
  await server.store.environmentSettings.update(server.env.dev, { validateSyncRecords: true });
  await openPage(page, server.url, server.keys.dev, '#/settings');
  await page.waitForSelector('#validate_action_output');
  expect(await page.isChecked('#validate_action_input')).toBe(false);
  expect(await page.isChecked('#validate_action_output')).toBe(false);
  expect(await page.isChecked('#validate_sync_records')).toBe(true);

  await page.click('#validate_action_output');
  await page.waitForFunction(() => /^Saved/.test(document.querySelector('#settings-status')?.textContent ?? ''));
  expect(await page.textContent('#settings-status')).toBe('Saved: validate action outputs is on.');
  expect(await server.store.environmentSettings.get(server.env.dev)).toEqual({ validateActionInput: false, validateActionOutput: true, validateSyncRecords: true });
  expect(await server.store.environmentSettings.get(server.env.prod)).toEqual({ validateActionInput: false, validateActionOutput: false, validateSyncRecords: false });

  // What the page shows after a reload is what is stored.
  await page.reload();
  await page.waitForSelector('#validate_action_output');
  expect(await page.isChecked('#validate_action_output')).toBe(true);
});
