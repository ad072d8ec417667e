import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(60_000);

let server: TestServer;
let cwd: string;

beforeAll(async () => {
  server = await startTestServer();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-settings-cli-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(cwd, { recursive: true, force: true });
});

function syncline(args: string[]) {
  const { SYNCLINE_SECRET_KEY: _a, SYNCLINE_URL: _b, ...base } = process.env;
  return runCli(args, { cwd, env: { ...base, SYNCLINE_URL: server.url, SYNCLINE_SECRET_KEY: server.keys.dev } });
}

test('settings show / set change only what is given', async () => {
  const show = await syncline(['settings', 'show']);
  expect(show).toMatchObject({ code: 0, stderr: '', stdout: 'validate-action-input\toff\nvalidate-action-output\toff\nvalidate-sync-records\toff\n' });
  const set = await syncline(['settings', 'set', '--validate-action-output', 'on', '--validate-sync-records', 'on']);
  expect(set).toMatchObject({ code: 0, stderr: '', stdout: 'validate-action-input\toff\nvalidate-action-output\ton\nvalidate-sync-records\ton\n' });
  expect(await server.store.environmentSettings.get(server.env.dev)).toEqual({ validateActionInput: false, validateActionOutput: true, validateSyncRecords: true });
  expect(await server.store.environmentSettings.get(server.env.prod)).toEqual({ validateActionInput: false, validateActionOutput: false, validateSyncRecords: false });
});

test('bad values are one line and exit 1, nothing changed', async () => {
  const before = await server.store.environmentSettings.get(server.env.dev);
  const bad = await syncline(['settings', 'set', '--validate-action-input', 'maybe']);
  expect(bad).toMatchObject({ code: 1, stderr: 'syncline: --validate-action-input: expected on or off, got "maybe"\n' });
  const none = await syncline(['settings', 'set']);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/^syncline: nothing to set: give --validate-action-input, --validate-action-output, --validate-sync-records/);
  expect(await server.store.environmentSettings.get(server.env.dev)).toEqual(before);
});
