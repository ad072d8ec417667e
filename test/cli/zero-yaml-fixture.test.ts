import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Nango } from '@nangohq/node';
import { runCli } from '../helpers/cli';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

// Our own project in Nango's current format (scripts declare themselves, zod 4 models, no
// nango.yaml) the user's whole way: compile, dryrun against the fake API, deploy, the sync's runs
// on the server, records and actions through @nangohq/node.
jest.setTimeout(120_000);

const FIXTURE = path.join(__dirname, '../fixtures/zero-yaml/nango-integrations');

let t: OrchestrationTest;
let cwd: string;
let env: NodeJS.ProcessEnv;
let nango: Nango;

beforeAll(async () => {
  t = await startOrchestrationTest();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'syncline-zero-yaml-fixture-'));
  fs.cpSync(FIXTURE, path.join(cwd, 'nango-integrations'), { recursive: true });
  const providers = path.join(cwd, 'providers.yaml');
  fs.writeFileSync(providers, `fake:\n  display_name: Fake\n  auth_mode: API_KEY\n  proxy:\n    base_url: ${t.fake.url}\n    headers:\n      x-api-key: \${apiKey}\n`);
  const { SYNCLINE_SECRET_KEY: _a, SYNCLINE_URL: _b, ...base } = process.env;
  env = { ...base, SYNCLINE_URL: t.url, SYNCLINE_SECRET_KEY: t.keys.dev, SYNCLINE_PROVIDERS_FILE: providers };
  nango = new Nango({ secretKey: t.keys.dev, host: t.url });
  await t.connect('acme');
  await nango.setMetadata('fake', 'acme', { label: 'vip' });
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
});

const syncline = (args: string[]) => runCli(args, { cwd, env });
type Contact = { id: string; email: string; label?: string };

test('compile reads the definitions and type-checks the scripts index.ts imports', async () => {
  const result = await syncline(['compile']);
  expect(result.stderr).not.toContain('problem');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('compiled fake/syncs/contacts.ts\ncompiled fake/actions/find-contact.ts\n');
});

test('dryrun of the sync pages through the fake API with the metadata, saving a checkpoint per page', async () => {
  const result = await syncline(['dryrun', 'contacts', 'acme']);
  expect(result.code).toBe(0);
  const [, count, json] = /^save (\d+) Contact\n([\s\S]*?)\n(?=save|$)/.exec(result.stdout) ?? [];
  expect(Number(count)).toBe(2);
  expect(JSON.parse(json!)[0]).toEqual({ id: '1', email: 'c1@example.com', label: 'vip' });
  expect(t.fake.requestsTo('/crm/v3/objects/contacts').map((r) => r.query.after)).toEqual([undefined, '2', '4']);
});

test('deployed, the sync runs on the server and its records are read back with @nangohq/node; a second run deletes what disappeared', async () => {
  const deploy = await syncline(['deploy']);
  expect(deploy.stderr).not.toContain('problem');
  expect(deploy.code).toBe(0);
  expect(deploy.stdout).toContain('deployed sync fake/contacts\ndeployed action fake/find-contact\n');
  const list = async () => (await nango.listRecords<Contact>({ providerConfigKey: 'fake', connectionId: 'acme', model: 'Contact' })).records;
  const first = await waitFor('the first run', async () => {
    const records = await list();
    return records.length === 5 && records;
  }, 60_000);
  expect(first.map((r) => [r.id, r.email, r.label])).toContainEqual(['5', 'c5@example.com', 'vip']);

  // A contact removed at the source is marked deleted by the next run (trackDeletes).
  t.fake.contacts.pop();
  await nango.triggerSync('fake', ['contacts'], 'acme');
  const deleted = await waitFor('the deletion', async () => {
    const records = await list();
    const gone = records.find((r) => r.id === '5') as (Contact & { _nango_metadata: { deleted_at: string | null } }) | undefined;
    return gone?._nango_metadata.deleted_at ? gone : undefined;
  }, 60_000);
  expect(deleted.id).toBe('5');
});

test('the action answers through @nangohq/node; its ActionError reaches the caller with the payload unchanged', async () => {
  expect(await nango.triggerAction('fake', 'acme', 'find-contact', { email: 'c1@example.com' })).toEqual({ id: '1', email: 'c1@example.com' });
  expect(await nango.triggerAction('fake', 'acme', 'find-contact', { email: 'nobody@example.com' })).toBeNull();
  const blocked = await t.request('POST', '/action/trigger', { headers: { 'Connection-Id': 'acme', 'Provider-Config-Key': 'fake' }, json: { action_name: 'find-contact', input: { email: 'x@blocked.example' } } });
  expect(blocked.status).toBe(500);
  expect(blocked.body.error).toMatchObject({ code: 'action_script_runtime_error', payload: { message: 'This address is blocked', email: 'x@blocked.example' } });
});
