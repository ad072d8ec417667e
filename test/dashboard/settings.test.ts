import { openPage, useDashboard } from './browser';

/**
 * The dashboard's Settings page in headless Chromium against the real API: it shows the
 * environment's validation settings and a click changes one (the others stay), as the API does.
 */
jest.setTimeout(60_000);

// The callbacks handed to page.waitForFunction run in the browser.
declare const document: any;

const t = useDashboard();

test('the Settings page shows the validation settings and a click changes one', async () => {
  await t.server.store.environmentSettings.update(t.server.env.dev, { validateSyncRecords: true });
  await openPage(t.page, t.server.url, t.server.keys.dev, '#/settings');
  await t.page.waitForSelector('#validate_action_output');
  expect(await t.page.isChecked('#validate_action_input')).toBe(false);
  expect(await t.page.isChecked('#validate_action_output')).toBe(false);
  expect(await t.page.isChecked('#validate_sync_records')).toBe(true);

  await t.page.click('#validate_action_output');
  await t.page.waitForFunction(() => /^Saved/.test(document.querySelector('#settings-status')?.textContent ?? ''));
  expect(await t.page.textContent('#settings-status')).toBe('Saved: validate action outputs is on.');
  expect(await t.server.store.environmentSettings.get(t.server.env.dev)).toEqual({ validateActionInput: false, validateActionOutput: true, validateSyncRecords: true });
  expect(await t.server.store.environmentSettings.get(t.server.env.prod)).toEqual({ validateActionInput: false, validateActionOutput: false, validateSyncRecords: false });

  // What the page shows after a reload is what is stored.
  await t.page.reload();
  await t.page.waitForSelector('#validate_action_output');
  expect(await t.page.isChecked('#validate_action_output')).toBe(true);
});
