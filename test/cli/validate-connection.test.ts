import fs from 'node:fs';
import path from 'node:path';
import { fakeApiProject, runCli } from '../helpers/cli';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';

// A validate-connection script of ours (createOnEvent, test/fixtures/validate-connection), deployed
// with the CLI, judges every connection of its integration before it counts, as in Nango: through
// POST /connections and the connect flow, for new connections and new credentials alike. A refused
// one answers 400 connection_validation_failed with the script's message and leaves nothing.
jest.setTimeout(120_000);

const FIXTURE = path.join(__dirname, '../fixtures/validate-connection/nango-integrations');

let t: OrchestrationTest;
let cwd: string;

beforeAll(async () => {
  t = await startOrchestrationTest();
  const project = fakeApiProject(t, 'validate-connection', FIXTURE);
  cwd = project.cwd;
  const deploy = await runCli(['deploy'], project);
  if (deploy.code !== 0) throw new Error(`deploy failed: ${deploy.stdout}${deploy.stderr}`);
  t.fake.accounts['k-other'] = { id: 'acct-2', status: 'active' };
  t.fake.accounts['k-new'] = { id: 'acct-1', status: 'active' };
  t.fake.accounts['k-suspended'] = { id: 'acct-9', status: 'suspended' };
}, 90_000);

afterAll(async () => {
  await t?.close();
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
});

const importConnection = (connectionId: string, apiKey: string) =>
  t.request('POST', '/connections', { json: { provider_config_key: 'fake', connection_id: connectionId, credentials: { type: 'API_KEY', apiKey } } });
// Every column but last_fetched_at, which the script's own reads of the connection set.
const connectionRows = async () => (await t.store.db.query<{ row: string }>(`SELECT (to_jsonb(c) - 'last_fetched_at')::text AS row FROM connections c ORDER BY id`)).rows.map((r) => r.row);
const accountChecks = () => t.fake.requestsTo('/account').map((r) => r.headers['x-api-key']);
const welcomed = (connectionId: string) => t.fake.requestsTo('/offset/items').filter((r) => r.query.from === 'welcome' && r.query.connection === connectionId);
const refusal = (message: string) => ({ status: 400, body: { error: { code: 'connection_validation_failed', message } } });

test('the deploy carries the validate-connection script', async () => {
  expect((await t.store.scripts.onEvent(t.dev.id, 'fake', 'validate-connection')).map((s) => s.name)).toEqual(['check-account']);
});

test('an import whose key opens an active account counts once validated, with the metadata the script set; then it is announced', async () => {
  const res = await importConnection('acme', 'k');
  expect(res).toMatchObject({ status: 201, body: { connection_id: 'acme', credentials: { apiKey: 'k' }, metadata: { accountId: 'acct-1' } } });
  expect(accountChecks()).toEqual(['k']);
  // post-connection-creation runs after the validation, as for any new connection.
  const [welcome] = await waitFor('the welcome script', () => welcomed('acme').length > 0 && welcomed('acme'));
  expect(welcome!.at).toBeGreaterThanOrEqual(t.fake.requestsTo('/account')[0]!.at);
});

test('a key the provider refuses: 400 with the message of what the script threw, and no connection', async () => {
  const before = await connectionRows();
  expect(await importConnection('stranger', 'nope')).toMatchObject(refusal('The provider refused the API key'));
  expect(await connectionRows()).toEqual(before);
  expect((await t.request('GET', '/connection/stranger?provider_config_key=fake')).status).toBe(404);
  // The refusal is in the logs of the script's run.
  const logs = (await t.request('GET', '/logs?order=asc&limit=1000')).body.logs as Array<{ operation: string; name: string; kind: string; level: string; connection_id: string; message: string }>;
  expect(logs.find((l) => l.operation === 'on-event' && l.connection_id === 'stranger' && l.kind === 'outcome')).toMatchObject({ name: 'check-account', level: 'error' });
});

test("an ActionError refuses with its payload's message", async () => {
  expect(await importConnection('dormant', 'k-suspended')).toMatchObject(refusal('Account acct-9 is suspended'));
  expect((await t.request('GET', '/connection/dormant?provider_config_key=fake')).status).toBe(404);
});

test('new credentials of another account are refused and the connection stays as it was; those of the same account replace the old', async () => {
  const before = await connectionRows();
  expect(await importConnection('acme', 'k-other')).toMatchObject(refusal('This connection belongs to account acct-1, not acct-2'));
  expect(await connectionRows()).toEqual(before);

  expect(await importConnection('acme', 'k-new')).toMatchObject({ status: 200, body: { credentials: { apiKey: 'k-new' }, metadata: { accountId: 'acct-1' } } });
  expect(accountChecks().slice(-2)).toEqual(['k-other', 'k-new']);
});

test('the connect flow: a key typed by the end user is validated the same way; a refused reconnection is an auth webhook that failed', async () => {
  expect((await t.request('PATCH', '/environment/webhook', { json: { primary_url: `${t.fake.url}/hooks/echo` } })).status).toBe(200);
  const authHooks = () =>
    t.fake
      .requestsTo('/hooks/echo')
      .map((r) => r.body as { type: string; connectionId: string; operation: string; success: boolean; error?: unknown })
      .filter((b) => b.type === 'auth' && b.connectionId === 'user-7-fake');
  const session = await t.request('POST', '/connect/sessions', { json: { end_user: { id: 'user-7' } } });
  expect(session.status).toBe(201);
  const auth = (token: string, apiKey: string) => t.request('POST', `/connect/auth/fake?connect_session_token=${token}&connection_id=user-7-fake`, { key: null, json: { apiKey } });
  const before = await connectionRows();
  expect(await auth(session.body.data.token, 'k-suspended')).toMatchObject(refusal('Account acct-9 is suspended'));
  expect(await connectionRows()).toEqual(before);

  expect(await auth(session.body.data.token, 'k')).toMatchObject({ status: 201, body: { providerConfigKey: 'fake', connectionId: 'user-7-fake' } });
  const connection = await t.request('GET', '/connection/user-7-fake?provider_config_key=fake');
  expect(connection.body).toMatchObject({ metadata: { accountId: 'acct-1' }, end_user: { id: 'user-7' } });
  await waitFor('the welcome script', () => welcomed('user-7-fake').length > 0);
  await waitFor('the creation webhook', () => authHooks().length === 1);

  // Reconnecting with a key of another account: refused, the connection as it was.
  const reconnect = await t.request('POST', '/connect/sessions/reconnect', { json: { connection_id: 'user-7-fake', integration_id: 'fake', end_user: { id: 'user-7' } } });
  expect(reconnect.status).toBe(201);
  const settled = await connectionRows();
  expect(await auth(reconnect.body.data.token, 'k-other')).toMatchObject(refusal('This connection belongs to account acct-1, not acct-2'));
  expect(await connectionRows()).toEqual(settled);
  await waitFor('the failed override webhook', () => authHooks().length === 2);
  expect(authHooks()).toMatchObject([
    { operation: 'creation', success: true },
    { operation: 'override', success: false, error: { type: 'connection_validation_failed', description: 'This connection belongs to account acct-1, not acct-2' } },
  ]);
});
