import { useCliServer } from '../helpers/cli';

jest.setTimeout(60_000);

const t = useCliServer('settings-cli');
const { syncline } = t;

test('settings show / set change only what is given', async () => {
  const show = await syncline(['settings', 'show']);
  expect(show).toMatchObject({ code: 0, stderr: '', stdout: 'validate-action-input\toff\nvalidate-action-output\toff\nvalidate-sync-records\toff\n' });
  const set = await syncline(['settings', 'set', '--validate-action-output', 'on', '--validate-sync-records', 'on']);
  expect(set).toMatchObject({ code: 0, stderr: '', stdout: 'validate-action-input\toff\nvalidate-action-output\ton\nvalidate-sync-records\ton\n' });
  expect(await t.server.store.environmentSettings.get(t.server.env.dev)).toEqual({ validateActionInput: false, validateActionOutput: true, validateSyncRecords: true });
  expect(await t.server.store.environmentSettings.get(t.server.env.prod)).toEqual({ validateActionInput: false, validateActionOutput: false, validateSyncRecords: false });
});

test('bad values are one line and exit 1, nothing changed', async () => {
  const before = await t.server.store.environmentSettings.get(t.server.env.dev);
  const bad = await syncline(['settings', 'set', '--validate-action-input', 'maybe']);
  expect(bad).toMatchObject({ code: 1, stderr: 'syncline: --validate-action-input: expected on or off, got "maybe"\n' });
  const none = await syncline(['settings', 'set']);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/^syncline: nothing to set: give --validate-action-input, --validate-action-output, --validate-sync-records/);
  expect(await t.server.store.environmentSettings.get(t.server.env.dev)).toEqual(before);
});
