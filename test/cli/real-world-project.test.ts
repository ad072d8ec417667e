import fs from 'node:fs';
import path from 'node:path';
import { Nango } from '@nangohq/node';
import { savePublicUrl } from '../../src/store/settings';
import { fakeApiProject, runCli } from '../helpers/cli';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

// A project of our own shaped like Nango's public template scripts (test/fixtures/real-world): each
// script uses a form those templates use and Syncline once refused (a model field that is a YAML
// list, type expressions and primitives as action input/output, a literal with parentheses,
// nango.ActionError and the imported class, zod 3, loose paginate typings, .nango/schema,
// getWebhookURL). It goes the user's whole way: compile, dryrun against the fake API, deploy, run.
jest.setTimeout(120_000);

const FIXTURE = path.join(__dirname, '../fixtures/real-world/nango-integrations');

let t: OrchestrationTest;
let cwd: string;
let env: NodeJS.ProcessEnv;
let nango: Nango;

beforeAll(async () => {
  t = await startOrchestrationTest();
  // What `syncline start` records: scripts build nango.getWebhookURL() from it.
  await savePublicUrl(t.store.db, { url: t.url, configured: true });
  ({ cwd, env } = fakeApiProject(t, 'real-world', FIXTURE));
  nango = new Nango({ secretKey: t.keys.dev, host: t.url });
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
});

const syncline = (args: string[]) => runCli(args, { cwd, env });

test('generate writes models.ts with the list field and the anonymous input/output types, and .nango/schema.ts', async () => {
  const result = await syncline(['generate']);
  expect(result.code).toBe(0);
  const models = fs.readFileSync(path.join(cwd, 'nango-integrations/models.ts'), 'utf8');
  expect(models).toMatch(/phones: \(?\{[^}]*number: string;[^}]*kind: 'work' \| 'home' \| 'mobile\(primary\)';[^}]*\}\)?\[\];/);
  expect(models).toContain('export type Anonymous_fake_action_fetchnote_output = string');
  expect(models).toMatch(/export type Anonymous_fake_action_createcontacts_input = ContactInput\[\]/);
  const schema = fs.readFileSync(path.join(cwd, 'nango-integrations/.nango/schema.ts'), 'utf8');
  expect(schema).toContain('export interface Contact {');
  expect(schema).not.toContain('NangoSync');
});

test('compile type-checks and bundles every script', async () => {
  const result = await syncline(['compile']);
  expect(result.stderr).not.toContain('problem');
  expect(result.code).toBe(0);
  expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(
    ['change-contact', 'create-contacts', 'fetch-note', 'find-contact', 'legacy-shape', 'webhook-url'].map((a) => `compiled fake/actions/${a}.ts`).concat('compiled fake/syncs/contacts.ts').sort(),
  );
});

describe('with a connection', () => {
  beforeAll(async () => {
    await t.connect('acme');
  });

  test('dryrun of the sync pages with the string limit and prints the contacts with their phone lists', async () => {
    const result = await syncline(['dryrun', 'contacts', 'acme']);
    expect(result.stderr).toContain('nothing was saved');
    expect(result.code).toBe(0);
    const [, count, json] = /^save (\d+) Contact\n([\s\S]*?)\n(?=save|$)/.exec(result.stdout) ?? [];
    expect(Number(count)).toBe(5);
    expect(JSON.parse(json!)[1]).toEqual({ id: '2', email: 'c2@example.com', phones: [{ number: '+15550002', kind: 'work' }, { number: '+15559992', kind: 'mobile(primary)' }], tags: [] });
    // Five contacts, two a page: the string limit went out as the page size.
    const pages = t.fake.requestsTo('/crm/v3/objects/contacts');
    expect(pages.map((r) => [r.query.limit, r.query.after])).toEqual([['2', undefined], ['2', '2'], ['2', '4']]);
  });

  test('dryrun of an action with an array input runs it through zod 3', async () => {
    const result = await syncline(['dryrun', 'create-contacts', 'acme', '--input', '[{"email":"a@example.com"},{"email":"b@example.com"}]']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { id: 'new-1', email: 'a@example.com', phones: [], tags: [] },
      { id: 'new-2', email: 'b@example.com', phones: [], tags: [] },
    ]);
  });

  test('deployed, the sync saves the records with their list fields', async () => {
    const deploy = await syncline(['deploy']);
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toContain('deployed sync fake/contacts');
    const records = await waitFor('the first run', async () => {
      const page = await nango.listRecords<{ id: string; phones: Array<{ kind: string }> }>({ providerConfigKey: 'fake', connectionId: 'acme', model: 'Contact' });
      return page.records.length === 5 && page.records;
    }, 60_000);
    expect(records.find((r) => r.id === '4')!.phones.map((p) => p.kind)).toEqual(['work', 'mobile(primary)']);
  });

  test('actions with primitive, array, union and nullable outputs answer through @nangohq/node', async () => {
    const trigger = (action: string, input?: unknown) => nango.triggerAction('fake', 'acme', action, input as never);
    expect(await trigger('fetch-note')).toBe('note: hello');
    expect(await trigger('create-contacts', [{ email: 'x@example.com' }])).toEqual([{ id: 'new-1', email: 'x@example.com', phones: [], tags: [] }]);
    expect(await trigger('change-contact', { id: 'c-1', stage: 'customer' })).toBe(true);
    expect(await trigger('change-contact', { id: 'c-1', owner: 'ada' })).toBe(true);
    expect(await trigger('find-contact', { email: 'c3@example.com' })).toEqual({ id: '3', email: 'c3@example.com', phones: [], tags: [] });
    expect(await trigger('find-contact', { email: 'nobody@example.com' })).toBeNull();
    const { uuid } = (await t.store.webhooks.environmentById(t.dev.id))!;
    expect(await trigger('webhook-url')).toBe(`${t.url}/webhook/${uuid}/fake`);
  });

  test('an output of another shape than its model succeeds, with a warning in the run logs', async () => {
    const response = await t.request('POST', '/action/trigger', { headers: { 'Connection-Id': 'acme', 'Provider-Config-Key': 'fake' }, json: { action_name: 'legacy-shape' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ address: 'old@example.com' });
    const warnings = await t.request('GET', '/logs?action=legacy-shape&level=warn&kind=log');
    expect(warnings.body.logs.map((l: { message: string }) => l.message)).toEqual([expect.stringMatching(/^The output does not match model "ContactInput": .*email/)]);
  });

  test('ActionError from the helper object, the imported class and zodValidateInput reach the caller as Nango returns them (500, the payload unchanged)', async () => {
    const call = (action_name: string, input: unknown) =>
      t.request('POST', '/action/trigger', { headers: { 'Connection-Id': 'acme', 'Provider-Config-Key': 'fake' }, json: { action_name, input } });
    const fromHelper = await call('change-contact', { id: 'x-9', stage: 'lead' });
    const imported = await call('find-contact', { email: 'who@blocked.example' });
    const invalid = await call('find-contact', { email: 'not an address' });
    for (const response of [fromHelper, imported, invalid]) {
      expect(response.status).toBe(500);
      expect(response.body.error).toMatchObject({ code: 'action_script_runtime_error', message: 'The action script failed with a runtime error' });
    }
    expect(fromHelper.body.error.payload).toEqual({ message: 'Unknown contact', id: 'x-9' });
    expect(imported.body.error.payload).toEqual({ message: 'This address is blocked', email: 'who@blocked.example' });
    expect(invalid.body.error.payload).toMatchObject({ message: 'Invalid input provided' });
  });
});
