import { createHmac } from 'node:crypto';
import { useUserProviders, type ProviderDefinition } from '../../src/providers';
import { Syncline } from '../../src/sdk';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from '../orchestration/helpers';
import { startReceiver, type Receiver } from './receiver';

jest.setTimeout(90_000);

// `gh` uses the real GitHub catalogue entry (X-Hub-Signature-256, X-GitHub-Event, routing by
// installation.id or repository.full_name); `acme` a user provider routed by a connection config field.
const YAML = `integrations:
  gh:
    syncs:
      issues:
        runs: every day
        auto_start: false
        output: GithubIssue
        endpoint: GET /issues
        webhook-subscriptions: [issues]
      events:
        runs: every day
        auto_start: false
        output: GithubEvent
        endpoint: GET /events
        webhook-subscriptions: ['*']
      plain:
        runs: every day
        auto_start: false
        output: PlainThing
        endpoint: GET /plain
      stars:
        runs: every day
        auto_start: false
        output: Star
        endpoint: GET /stars
        webhook-subscriptions: [star]
  acme:
    syncs:
      contacts:
        runs: every day
        auto_start: false
        output: Contact
        endpoint: GET /contacts
        webhook-subscriptions: [contact.created]
models:
  GithubIssue:
    id: string
    title: string
  GithubEvent:
    id: string
    kind: string
  Contact:
    id: string
    name: string
  PlainThing:
    id: string
  Star:
    id: string
    count: number
`;

const ISSUES = `module.exports = async function fetchData() {};
module.exports.onWebhookPayloadReceived = async function (nango, payload) {
  const issue = { id: String(payload.issue.id), title: payload.issue.title };
  if (payload.action === 'deleted') await nango.batchDelete([issue], 'GithubIssue');
  else await nango.batchSave([issue], 'GithubIssue');
};`;
const EVENTS = `module.exports = async function fetchData() {};
module.exports.onWebhookPayloadReceived = async function (nango, payload) {
  await nango.batchSave([{ id: String(payload.delivery), kind: payload.action || 'push' }], 'GithubEvent');
};`;
// A handler keeping a count in its checkpoint.
const STARS = `module.exports = async function fetchData() {};
module.exports.onWebhookPayloadReceived = async function (nango, payload) {
  const stars = ((await nango.getCheckpoint())?.stars ?? 0) + 1;
  await nango.batchSave([{ id: String(payload.delivery), count: stars }], 'Star');
  await nango.saveCheckpoint({ stars });
};`;
const PLAIN = `module.exports = async function fetchData() {};
module.exports.onWebhookPayloadReceived = async function (nango) {
  await nango.batchSave([{ id: 'never' }], 'PlainThing');
};`;
// The createSync form: a default export with exec and onWebhook; events arrive in batches.
const CONTACTS = `module.exports = { default: {
  exec: async () => {},
  onWebhook: async (nango, events) => {
    await nango.batchSave(events.map((e) => ({ id: String(e.objectId), name: e.name + '@' + nango.connectionId })), 'Contact');
  },
} };`;

const SECRET = 'gh-webhook-secret';
let t: OrchestrationTest;
let app: Receiver;
let sdk: Syncline;
let uuid: string;

beforeAll(async () => {
  [t, app] = await Promise.all([startOrchestrationTest(), startReceiver()]);
  useUserProviders({
    fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: t.fake.url } } as ProviderDefinition,
    acme: {
      display_name: 'Acme',
      auth_mode: 'API_KEY',
      proxy: { base_url: t.fake.url },
      webhook: { event_type: { payload_path: 'type' }, connection: [{ payload_path: 'portal', connection_config: 'portal_id' }] },
    } as ProviderDefinition,
  });
  sdk = new Syncline({ secretKey: t.keys.dev, host: t.url });
  await sdk.createIntegration({ unique_key: 'gh', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'cs', webhook_secret: SECRET } });
  await sdk.createIntegration({ unique_key: 'acme', provider: 'acme' });
  uuid = (await sdk.updateWebhookSettings({ primary_url: `${app.url}/app` })).data.environment_uuid;
  const res = await t.deploy(YAML, { 'sync/issues/gh': ISSUES, 'sync/events/gh': EVENTS, 'sync/plain/gh': PLAIN, 'sync/stars/gh': STARS, 'sync/contacts/acme': CONTACTS });
  expect(res.status).toBe(200);
  const oauth = { type: 'OAUTH2', access_token: 'x' };
  await sdk.importConnection({ provider_config_key: 'gh', connection_id: 'octo', credentials: oauth, metadata: { repo: 'octo/hello' } });
  // As the seeds' GitHub sync keeps it: owner and repo apart.
  await sdk.importConnection({ provider_config_key: 'gh', connection_id: 'other', credentials: oauth, metadata: { owner: 'other', repo: 'repo' } });
  await sdk.importConnection({ provider_config_key: 'gh', connection_id: 'app-install', credentials: oauth, connection_config: { installation_id: 77 } });
  for (const [id, portal] of [['p1', 'P-1'], ['p2', 'P-2'], ['p3', 'P-3']]) {
    await sdk.importConnection({ provider_config_key: 'acme', connection_id: id!, credentials: { type: 'API_KEY', apiKey: 'k' }, connection_config: { portal_id: portal } });
  }
});
afterAll(async () => {
  await t?.close();
  await app?.close();
});

function github(payload: unknown, event: string, secret = SECRET, integration = 'gh', env = uuid) {
  const body = JSON.stringify(payload);
  return fetch(`${t.url}/webhook/${env}/${integration}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
    body,
  });
}
const records = async (integration: string, connectionId: string, model: string) =>
  (await sdk.listRecords<{ id: string; title?: string; kind?: string; name?: string }>({ providerConfigKey: integration, connectionId, model })).records;
const handlerRuns = async () => (await t.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incoming_webhooks')).rows[0]!.n;

test("a signed GitHub webhook runs the subscribed syncs' handlers for the connection it names; their records are saved", async () => {
  const res = await github({ action: 'opened', delivery: 'd1', issue: { id: 101, title: 'Hello' }, repository: { full_name: 'octo/hello' } }, 'issues');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ success: true });
  const saved = await waitFor('the issue saved', async () => {
    const r = await records('gh', 'octo', 'GithubIssue');
    return r.length > 0 && r;
  });
  expect(saved).toEqual([expect.objectContaining({ id: '101', title: 'Hello', _nango_metadata: expect.objectContaining({ last_action: 'ADDED' }) })]);
  // `*` subscribes too; a sync without webhook-subscriptions never runs its handler.
  await waitFor('the event saved', async () => (await records('gh', 'octo', 'GithubEvent')).length === 1);
  expect(await records('gh', 'octo', 'GithubEvent')).toEqual([expect.objectContaining({ id: 'd1', kind: 'opened' })]);
  expect(await records('gh', 'octo', 'PlainThing')).toEqual([]);
  // Other connections are untouched.
  expect(await records('gh', 'other', 'GithubIssue')).toEqual([]);

  // The app gets the raw payload forwarded, and a sync webhook for what the handler saved.
  const forward = await waitFor('forward webhook', () => app.find((b) => b.type === 'forward' && b.payload?.delivery === 'd1')[0]);
  expect(forward.body).toEqual({ from: 'nango', type: 'forward', connectionId: 'octo', providerConfigKey: 'gh', payload: { action: 'opened', delivery: 'd1', issue: { id: 101, title: 'Hello' }, repository: { full_name: 'octo/hello' } } });
  const sync = await waitFor('sync webhook', () => app.find((b) => b.type === 'sync' && b.syncName === 'issues' && b.connectionId === 'octo')[0]);
  expect(sync.body).toMatchObject({ syncType: 'WEBHOOK', model: 'GithubIssue', success: true, responseResults: { added: 1, updated: 0, deleted: 0 } });
  const key = (await sdk.getWebhookSettings()).data.signing_key;
  expect(new Syncline({ secretKey: 'x', webhookSigningKey: key }).verifyIncomingWebhookRequest(forward.raw, forward.headers as Record<string, string>)).toBe(true);
  // The handler run is logged with the sync's runs, ending with its outcome line.
  const logged = await waitFor('the handler run logged', async () => (await sdk.listLogs({ connectionId: 'octo', sync: 'issues', kind: 'outcome' })).logs.find((l) => l.operation === 'webhook'));
  expect(logged.message).toMatch(/^Webhook handler "issues" succeeded in \d+\.\d\d s \(GithubIssue: 1 added, 0 updated, 0 deleted\)$/);
});

test('the handler may delete; an event type no sync subscribes to except * runs only that one', async () => {
  expect((await github({ action: 'deleted', delivery: 'd2', issue: { id: 101, title: 'Hello' }, repository: { full_name: 'octo/hello' } }, 'issues')).status).toBe(200);
  await waitFor('the issue deleted', async () => (await records('gh', 'octo', 'GithubIssue'))[0]?._nango_metadata.last_action === 'DELETED');
  expect((await github({ delivery: 'd3', repository: { full_name: 'octo/hello' } }, 'push')).status).toBe(200);
  await waitFor('the push event', async () => (await records('gh', 'octo', 'GithubEvent')).some((r) => r.id === 'd3'));
  expect((await records('gh', 'octo', 'GithubEvent')).find((r) => r.id === 'd3')).toMatchObject({ kind: 'push' });
});

test("a sync's variants each run the handler into their own records; a deleted variant no longer does", async () => {
  await sdk.createSyncVariant({ provider_config_key: 'gh', connection_id: 'other', name: 'issues', variant: 'mirror' });
  const event = (delivery: string, id: number) => github({ action: 'opened', delivery, issue: { id, title: `Issue ${id}` }, repository: { full_name: 'other/repo' } }, 'issues');
  const variantRecords = async () =>
    (await sdk.listRecords<{ id: string }>({ providerConfigKey: 'gh', connectionId: 'other', model: 'GithubIssue', variant: 'mirror' })).records.map((r) => r.id);
  expect((await event('v1', 201)).status).toBe(200);
  await waitFor('the issue in base and in the variant', async () => (await records('gh', 'other', 'GithubIssue')).length === 1 && (await variantRecords()).length === 1);
  expect(await variantRecords()).toEqual(['201']);
  const hooks = await waitFor('a sync webhook per variant', () => {
    const found = app.find((b) => b.type === 'sync' && b.syncName === 'issues' && b.connectionId === 'other');
    return found.length >= 2 && found;
  });
  expect(hooks.map((h) => h.body.syncVariant).sort()).toEqual(['base', 'mirror']);

  await sdk.deleteSyncVariant({ provider_config_key: 'gh', connection_id: 'other', name: 'issues', variant: 'mirror' });
  expect((await event('v2', 202)).status).toBe(200);
  await waitFor('the second issue in base', async () => (await records('gh', 'other', 'GithubIssue')).some((r) => r.id === '202'));
  await waitFor("the base run's sync webhook", () => app.find((b) => b.type === 'sync' && b.syncName === 'issues' && b.connectionId === 'other').length >= 3);
  expect(app.find((b) => b.type === 'sync' && b.connectionId === 'other' && b.syncVariant === 'mirror')).toHaveLength(1);
  expect(await variantRecords()).not.toContain('202');
});

test("a handler run that used its checkpoint sends sync webhooks with Nango's checkpoints {from, to}", async () => {
  const starHook = (stars: number) =>
    waitFor(`the stars webhook of star ${stars}`, () => app.find((b) => b.type === 'sync' && b.syncName === 'stars' && b.connectionId === 'octo' && b.checkpoints?.to?.stars === stars)[0]);
  expect((await github({ action: 'created', delivery: 's1', repository: { full_name: 'octo/hello' } }, 'star')).status).toBe(200);
  expect((await starHook(1)).body).toMatchObject({ syncType: 'WEBHOOK', model: 'Star', checkpoints: { from: null, to: { stars: 1 } } });
  expect((await github({ action: 'created', delivery: 's2', repository: { full_name: 'octo/hello' } }, 'star')).status).toBe(200);
  expect((await starHook(2)).body.checkpoints).toEqual({ from: { stars: 1 }, to: { stars: 2 } });
});

test('routing by a connection config field (installation.id), and by a field in every event of a batch', async () => {
  expect((await github({ action: 'opened', delivery: 'd4', issue: { id: 7, title: 'From the app' }, installation: { id: 77 } }, 'issues')).status).toBe(200);
  await waitFor('the app installation issue', async () => (await records('gh', 'app-install', 'GithubIssue')).length === 1);

  const events = [
    { type: 'contact.created', portal: 'P-1', objectId: 1, name: 'ada' },
    { type: 'contact.created', portal: 'P-2', objectId: 2, name: 'bob' },
  ];
  const res = await fetch(`${t.url}/webhook/${uuid}/acme`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(res.status).toBe(200);
  // Each connection's handler gets the whole delivery, as in Nango.
  await waitFor('both portals', async () => (await records('acme', 'p1', 'Contact')).length === 2 && (await records('acme', 'p2', 'Contact')).length === 2);
  expect((await records('acme', 'p1', 'Contact')).map((r) => r.name).sort()).toEqual(['ada@p1', 'bob@p1']);
  expect(await records('acme', 'p3', 'Contact')).toEqual([]);
});

test('bad or missing signatures are refused with 401 and nothing runs or is forwarded', async () => {
  const runsBefore = await handlerRuns();
  const forwardsBefore = app.find((b) => b.type === 'forward').length;
  const payload = { action: 'opened', delivery: 'evil', issue: { id: 666, title: 'Evil' }, repository: { full_name: 'octo/hello' } };
  const wrong = await github(payload, 'issues', 'not-the-secret');
  expect(wrong.status).toBe(401);
  expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_webhook_signature');
  const unsigned = await fetch(`${t.url}/webhook/${uuid}/gh`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'issues' }, body: JSON.stringify(payload) });
  expect(unsigned.status).toBe(401);
  // A valid signature over another body.
  const signature = `sha256=${createHmac('sha256', SECRET).update('{}').digest('hex')}`;
  const tampered = await fetch(`${t.url}/webhook/${uuid}/gh`, { method: 'POST', headers: { 'x-github-event': 'issues', 'x-hub-signature-256': signature }, body: JSON.stringify(payload) });
  expect(tampered.status).toBe(401);
  expect(await handlerRuns()).toBe(runsBefore);
  await new Promise((r) => setTimeout(r, 300));
  expect(app.find((b) => b.type === 'forward').length).toBe(forwardsBefore);
  expect((await records('gh', 'octo', 'GithubIssue')).map((r) => r.id)).not.toContain('666');
});

test('an unknown environment or integration is a 404; the secret key is not needed nor used', async () => {
  const payload = { action: 'opened', issue: { id: 1, title: 'x' } };
  expect((await github(payload, 'issues', SECRET, 'gh', '00000000-0000-4000-8000-000000000000')).status).toBe(404);
  expect((await github(payload, 'issues', SECRET, 'gh', 'dev')).status).toBe(404);
  const unknown = await github(payload, 'issues', SECRET, 'nope');
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_provider_config');
  // Another environment's uuid does not open this one's integrations.
  const prodUuid = (await new Syncline({ secretKey: t.keys.prod, host: t.url }).getWebhookSettings()).data.environment_uuid;
  expect((await github(payload, 'issues', SECRET, 'gh', prodUuid)).status).toBe(404);
});

test("Slack's signed URL verification is answered with its challenge", async () => {
  await sdk.createIntegration({ unique_key: 'slack', provider: 'slack', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'cs', webhook_secret: 'slack-signing' } });
  const body = JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' });
  const ts = String(Math.floor(Date.now() / 1000));
  const post = (signature: string) =>
    fetch(`${t.url}/webhook/${uuid}/slack`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature }, body });
  const ok = await post(`v0=${createHmac('sha256', 'slack-signing').update(`v0:${ts}:${body}`).digest('hex')}`);
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ challenge: 'c-123' });
  expect((await post('v0=00')).status).toBe(401);
});

test('HubSpot v3: the signature over method, the full URL called, body and timestamp holds; signed for another URL it does not', async () => {
  await sdk.createIntegration({ unique_key: 'hs', provider: 'hubspot', credentials: { type: 'OAUTH2', client_id: 'id', client_secret: 'hs-secret' } });
  const body = JSON.stringify([{ subscriptionType: 'contact.creation', portalId: 404, objectId: 1 }]);
  const path = `/webhook/${uuid}/hs`;
  const post = (signedUrl: string) => {
    const ts = String(Date.now());
    const signature = createHmac('sha256', 'hs-secret').update(`POST${signedUrl}${body}${ts}`).digest('base64');
    return fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hubspot-request-timestamp': ts, 'x-hubspot-signature-v3': signature }, body });
  };
  expect((await post(`${t.url}${path}`)).status).toBe(200);
  const refused = await post(`https://elsewhere.example.com${path}`);
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ error: { code: 'invalid_webhook_signature', message: 'The webhook signature is not valid' } });
});

test('a GitHub payload finds a connection whose metadata keeps owner and repo apart (owner/repo = repository.full_name)', async () => {
  expect((await github({ action: 'opened', delivery: 'split', issue: { id: 202, title: 'Split' }, repository: { full_name: 'other/repo' } }, 'issues')).status).toBe(200);
  await waitFor('the issue saved for other', async () => (await records('gh', 'other', 'GithubIssue')).some((r) => r.id === '202'));
  expect((await records('gh', 'octo', 'GithubIssue')).some((r) => r.id === '202')).toBe(false);
});

test('a payload naming no connection is forwarded without connectionId; forward_webhooks false forwards nothing', async () => {
  expect((await github({ action: 'opened', delivery: 'nobody', issue: { id: 5, title: 'x' }, repository: { full_name: 'nobody/none' } }, 'issues')).status).toBe(200);
  const forward = await waitFor('forward without connection', () => app.find((b) => b.type === 'forward' && b.payload?.delivery === 'nobody')[0]);
  expect(forward.body).toEqual({ from: 'nango', type: 'forward', providerConfigKey: 'gh', payload: expect.objectContaining({ delivery: 'nobody' }) });

  await sdk.updateIntegration({ uniqueKey: 'gh' }, { forward_webhooks: false });
  expect((await github({ action: 'opened', delivery: 'quiet', issue: { id: 6, title: 'Quiet' }, repository: { full_name: 'octo/hello' } }, 'issues')).status).toBe(200);
  await waitFor('the quiet issue saved', async () => (await records('gh', 'octo', 'GithubIssue')).some((r) => r.id === '6'));
  expect((await sdk.listWebhookDeliveries({ type: 'forward' })).data.some((d) => (d.body.payload as { delivery?: string }).delivery === 'quiet')).toBe(false);
});

test('records a handler saves are held to their model as the sync\'s own: a warning by default, a failed run with validate_sync_records', async () => {
  const issue = (id: number, delivery: string) => github({ action: 'opened', delivery, issue: { id, title: id }, repository: { full_name: 'other/repo' } }, 'issues');
  const logs = async (filter: string) => (await t.request('GET', `/logs?connectionId=other&sync=issues&${filter}`)).body.logs as Array<{ message: string; operation: string }>;
  expect((await issue(301, 'v1')).status).toBe(200);
  await waitFor('the issue saved', async () => (await records('gh', 'other', 'GithubIssue')).some((r) => r.id === '301'));
  // A run's log lines reach the store in batches (about once a second), so possibly after its records.
  const warnings = await waitFor('the warning logged', async () => {
    const lines = await logs('level=warn');
    return lines.length > 0 ? lines : undefined;
  });
  expect(warnings).toEqual([expect.objectContaining({ operation: 'webhook', message: expect.stringMatching(/record "301" of model "GithubIssue" does not match the model/) })]);

  await sdk.updateEnvironmentSettings({ validate_sync_records: true });
  try {
    expect((await issue(302, 'v2')).status).toBe(200);
    const failed = await waitFor('the handler run failed', async () => (await logs('kind=outcome&level=error'))[0]);
    expect(failed).toMatchObject({ operation: 'webhook', message: expect.stringContaining('invalid_sync_record') });
    expect((await records('gh', 'other', 'GithubIssue')).some((r) => r.id === '302')).toBe(false);
  } finally {
    await sdk.updateEnvironmentSettings({ validate_sync_records: false });
  }
});
