import fs from 'node:fs';
import path from 'node:path';
import { Nango } from '@nangohq/node';
import { fakeApiProject, runCli } from '../helpers/cli';
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
  ({ cwd, env } = fakeApiProject(t, 'zero-yaml-fixture', FIXTURE));
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
  expect(result.stdout).toBe('compiled fake/syncs/contacts.ts\ncompiled fake/syncs/items.ts\ncompiled fake/actions/find-contact.ts\n');
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
  expect(deploy.stdout).toContain('deployed sync fake/contacts\ndeployed sync fake/items\ndeployed action fake/find-contact\n');
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

test('dryrun of a sync with trackDeletesStart/End saves nothing and says that it deletes nothing', async () => {
  const result = await syncline(['dryrun', 'items', 'acme']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^save 10 Item\n/);
  expect(result.stdout + result.stderr).toContain('trackDeletesEnd("Item") has no effect in this run');
  expect(result.stdout + result.stderr).toContain('deleted: none');
});

test('trackDeletesStart/End: a run that failed halfway and the run that resumes it are one phase, and only what disappeared is deleted', async () => {
  const jobs = async () => {
    const [target] = await t.targets('acme', ['items']);
    return t.store.jobs.jobs(target!.row.id);
  };
  const ended = (n: number) => waitFor(`${n} ended items runs`, async () => ((await jobs()).filter((j) => j.status !== 'RUNNING').length >= n ? jobs() : undefined), 60_000);
  const first = await ended(1);
  expect(first[0]).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 23, updated: 0, deleted: 0 } } });
  // The script's Headers object arrived as request headers.
  expect(t.fake.requestsTo('/offset/items')[0]!.headers).toMatchObject({ accept: 'application/json', 'x-page-size': '10' });

  // Items 1-3 disappear; the next run saves the first page (4-13), then fails on the second.
  const gone = t.fake.items.splice(0, 3);
  t.fake.fail('/offset/items', { pass: true }, { status: 500 });
  await nango.triggerSync('fake', ['items'], 'acme');
  const failed = await ended(2);
  expect(failed[0]!.status).toBe('ERROR');
  // The run after it resumes at the second page (14-23): 4-13 count as saved in the phase, 1-3 are deleted.
  await nango.triggerSync('fake', ['items'], 'acme');
  const resumed = await ended(3);
  expect(resumed[0]).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 0, updated: 0, deleted: 3 } } });
  expect(t.fake.requestsTo('/offset/items').slice(-4).map((r) => r.query.offset)).toEqual(['0', '10', '10', '20']);
  const records = (await nango.listRecords<{ id: string }>({ providerConfigKey: 'fake', connectionId: 'acme', model: 'Item' })).records as Array<{ id: string; _nango_metadata: { deleted_at: string | null } }>;
  expect(records.filter((r) => r._nango_metadata.deleted_at).map((r) => r.id).sort()).toEqual(gone.map((i) => String(i.id)).sort());
  expect(records.filter((r) => !r._nango_metadata.deleted_at)).toHaveLength(20);
  const logs = await t.store.logs.list(t.env.dev, { jobId: String(resumed[0]!.id), kinds: ['log'], order: 'asc', limit: 10 });
  expect(logs.logs.map((l) => l.message)).toContain('deleted: 1,2,3');
});

test('the action answers through @nangohq/node; its ActionError reaches the caller with the payload unchanged', async () => {
  expect(await nango.triggerAction('fake', 'acme', 'find-contact', { email: 'c1@example.com' })).toEqual({ id: '1', email: 'c1@example.com' });
  expect(await nango.triggerAction('fake', 'acme', 'find-contact', { email: 'nobody@example.com' })).toBeNull();
  const blocked = await t.request('POST', '/action/trigger', { headers: { 'Connection-Id': 'acme', 'Provider-Config-Key': 'fake' }, json: { action_name: 'find-contact', input: { email: 'x@blocked.example' } } });
  expect(blocked.status).toBe(500);
  expect(blocked.body.error).toMatchObject({ code: 'action_script_runtime_error', payload: { message: 'This address is blocked', email: 'x@blocked.example' } });
});
