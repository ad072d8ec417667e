import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { Syncline } from '../../src/sdk';
import { MAX_KEYWORD_LENGTH, MAX_WORKFLOW_ID_LENGTH, syncWorkflowId } from '../../src/worker/workflow-ids';
import { syncWorkflow } from '../../src/workflows';
import { fullSyncWorkflowId, SEARCH_ATTRIBUTES, type SyncKey } from '../../src/workflows/types';
import { MODES, startTemporalDevServer, type TemporalDevServer } from '../helpers/temporal';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// The README's tour as a test, run on the embedded engine and on a real Temporal server
// (`temporal server start-dev`) with the same code: the two modes are held to one standard.
jest.setTimeout(90_000);

// Names of the longest length the API accepts: the workflow ids built from them must still be accepted.
const LONG = { integration: `i:${'é'.repeat(253)}`, connection: `c/${'ç'.repeat(253)}`, sync: 's'.repeat(255), variant: 'v'.repeat(255) };

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
        sync_type: full
    actions:
      echo:
        endpoint: POST /echo
        input: EchoInput
  ${JSON.stringify(LONG.integration)}:
    syncs:
      ${LONG.sync}:
        runs: every hour
        output: Item
        endpoint: GET /long-items
models:
  Item:
    id: string
    name: string
  EchoInput:
    text: string
`;
// The script reads `nango.variant`, so a variant's records differ from the base sync's.
const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 1000 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: nango.variant + ':' + i.name })), 'Item');
};`;
const ECHO = `module.exports = async function runAction(nango, input) {
  const res = await nango.post({ endpoint: '/things/echo', data: input });
  return { echoed: res.data.body.text };
};`;

describe.each(MODES)('the README tour, %s', (mode) => {
  let temporal: TemporalDevServer | undefined;
  let t: OrchestrationTest;
  let hooks: Receiver;
  let syncline: Syncline;

  beforeAll(async () => {
    if (mode === 'cluster') temporal = await startTemporalDevServer();
    hooks = await startReceiver();
    t = await startOrchestrationTest({ temporalAddress: temporal?.address });
    syncline = new Syncline({ secretKey: t.keys.dev, host: t.url });
    await syncline.updateWebhookSettings({ primary_url: `${hooks.url}/hooks` });
    await t.store.integrations.create(t.dev.id, { uniqueKey: LONG.integration, provider: 'fake' });
    const deployed = await t.deploy(YAML, { 'sync/items': ITEMS, 'action/echo': ECHO, [`sync/${LONG.sync}/${LONG.integration}`]: ITEMS });
    expect(deployed.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await hooks?.close();
    await temporal?.close();
  });

  const workflow = () => t.orchestration.orchestrator.client.workflow;
  const target = async (connectionId: string, sync = 'items', integration = 'fake') => (await t.targets(connectionId, [sync], integration))[0]!;
  const finishedJobs = async (connectionId: string, n: number, sync = 'items', integration = 'fake') =>
    waitFor(`${n} finished ${sync} runs of ${connectionId}`, async () => {
      const jobs = (await t.store.jobs.jobs((await target(connectionId, sync, integration)).row.id)).filter((j) => j.status !== 'RUNNING');
      return jobs.length >= n && jobs;
    });
  const status = async (connectionId: string) => (await syncline.syncStatus('fake', ['items'], connectionId)).syncs[0]!;
  const workflowStatus = async (workflowId: string) => (await workflow().getHandle(workflowId).describe()).status.name;

  test('a connection gets its sync: the first run brings the records and sends a sync webhook', async () => {
    await t.connect('user-42');
    const [job] = await finishedJobs('user-42', 1);
    expect(job).toMatchObject({ status: 'SUCCESS', result: { Item: { added: 23, updated: 0, deleted: 0 } } });
    const records = await syncline.listRecords({ providerConfigKey: 'fake', connectionId: 'user-42', model: 'Item' });
    expect(records.records).toHaveLength(23);
    const done = await waitFor('status SUCCESS', async () => (await status('user-42')).status === 'SUCCESS' && status('user-42'));
    expect(done).toMatchObject({ frequency: 'every hour', recordCount: { Item: 23 } });
    const hook = await waitFor('the sync webhook', () => hooks.find((b) => b.type === 'sync' && b.connectionId === 'user-42')[0]);
    expect(hook.body).toMatchObject({ success: true, syncName: 'items', model: 'Item', responseResults: { added: 23 } });
    expect(hook.headers['x-nango-hmac-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  test('scheduled runs follow the frequency, with no trigger', async () => {
    const sync = await target('user-42');
    const before = (await finishedJobs('user-42', 1)).length;
    await t.orchestration.orchestrator.setFrequencyMs(sync, 1500);
    await finishedJobs('user-42', before + 2);
    expect(await t.orchestration.orchestrator.updateFrequency(sync, null)).toBe('every hour');
  });

  test('pause stops the schedule, start runs now, trigger runs now', async () => {
    await syncline.pauseSync('fake', ['items'], 'user-42');
    await waitFor('PAUSED', async () => (await status('user-42')).status === 'PAUSED');
    expect((await status('user-42')).nextScheduledSyncAt).toBeNull();
    const paused = (await finishedJobs('user-42', 1)).length;

    await syncline.startSync('fake', ['items'], 'user-42');
    await finishedJobs('user-42', paused + 1);
    expect(Date.parse((await status('user-42')).nextScheduledSyncAt!)).toBeGreaterThan(Date.now());

    t.fake.items.push({ id: 100, name: 'item 100' });
    await syncline.triggerSync('fake', ['items'], 'user-42');
    const [latest] = await finishedJobs('user-42', paused + 2);
    expect(latest!.result).toEqual({ Item: { added: 1, updated: 0, deleted: 0 } });
    t.fake.items.pop();
  });

  test('an action, called and waited for, then async with its result and webhook', async () => {
    expect(await syncline.triggerAction('fake', 'user-42', 'echo', { text: 'hello' })).toEqual({ echoed: 'hello' });
    const { id, statusUrl } = await syncline.triggerActionAsync('fake', 'user-42', 'echo', { text: 'later' });
    expect(statusUrl).toBe(`/action/${id}`);
    expect(await waitFor('the async result', () => syncline.getAsyncActionResult({ id }).catch(() => null))).toEqual({ echoed: 'later' });
    const hook = await waitFor('the async_action webhook', () => hooks.find((b) => b.type === 'async_action' && b.payload?.id === id)[0]);
    expect(hook.body).toMatchObject({ connectionId: 'user-42', payload: { id, statusUrl } });
  });

  test('a variant has its own workflow and records; deleting it stops its workflow', async () => {
    await syncline.createSyncVariant({ provider_config_key: 'fake', connection_id: 'user-42', name: 'items', variant: 'eu' });
    await finishedJobs('user-42', 1, 'items::eu');
    const records = await syncline.listRecords({ providerConfigKey: 'fake', connectionId: 'user-42', model: 'Item', variant: 'eu' });
    expect(records.records.map((r) => r.name)).toContain('eu:item 1');
    const id = syncWorkflowId((await target('user-42', 'items::eu')).key);
    expect(await workflowStatus(id)).toBe('RUNNING');
    await syncline.deleteSyncVariant({ provider_config_key: 'fake', connection_id: 'user-42', name: 'items', variant: 'eu' });
    expect(await workflowStatus(id)).toBe('TERMINATED');
  });

  test('deleting a connection stops its workflow', async () => {
    const id = syncWorkflowId((await target('user-42')).key);
    expect(await workflowStatus(id)).toBe('RUNNING');
    await syncline.deleteConnection('fake', 'user-42');
    await waitFor('the workflow terminated', async () => (await workflowStatus(id)) === 'TERMINATED');
  });

  test('255-character names: the shortened workflow ids are accepted, and the sync and its variant run', async () => {
    await t.connect(LONG.connection, LONG.integration);
    await syncline.createSyncVariant({ provider_config_key: LONG.integration, connection_id: LONG.connection, name: LONG.sync, variant: LONG.variant });
    for (const sync of [LONG.sync, `${LONG.sync}::${LONG.variant}`]) {
      const [job] = await finishedJobs(LONG.connection, 1, sync, LONG.integration);
      expect(job).toMatchObject({ status: 'SUCCESS', result: { [sync === LONG.sync ? 'Item' : `Item::${LONG.variant}`]: { added: 23 } } });
      const id = syncWorkflowId((await target(LONG.connection, sync, LONG.integration)).key);
      expect(id).toHaveLength(MAX_WORKFLOW_ID_LENGTH);
      const described = await workflow().getHandle(id).describe();
      expect(described.status.name).toBe('RUNNING');
      // SQL visibility keeps Keyword values in VARCHAR(255): `sync::variant` (511 characters) is shortened too.
      const syncAttribute = described.typedSearchAttributes.get(defineSearchAttributeKey('SynclineSync', SearchAttributeType.KEYWORD));
      expect(syncAttribute!.length).toBeLessThanOrEqual(MAX_KEYWORD_LENGTH);
      expect(syncAttribute!.startsWith(LONG.sync.slice(0, 100))).toBe(true);
    }
  });

  test('a sync workflow still running under an over-long id moves to its shortened id', async () => {
    // A connection id that makes the full id 267 characters: longer than ids may be, shorter than a server refuses.
    const connectionId = `legacy-${'x'.repeat(240)}`;
    await t.connect(connectionId);
    const { key } = await target(connectionId);
    const shortened = syncWorkflowId(key);
    await finishedJobs(connectionId, 1);
    // As an older version left it: the workflow under the full id, the shortened one not there.
    await workflow().getHandle(shortened).terminate('test: as before ids were shortened');
    const legacy = fullSyncWorkflowId(key);
    expect(legacy.length).toBeGreaterThan(MAX_WORKFLOW_ID_LENGTH);
    await workflow().start(syncWorkflow, { taskQueue: t.orchestration.orchestrator.taskQueue, workflowId: legacy, args: [{ key, frequencyMs: 3_600_000, paused: true }], typedSearchAttributes: legacyAttributes(key) });

    await waitFor('the migration to move it', async () => (await t.orchestration.orchestrator.migrateLongWorkflowIds()) > 0);
    expect(await workflowStatus(legacy)).toBe('TERMINATED');
    await waitFor('the shortened workflow running', async () => (await workflowStatus(shortened).catch(() => null)) === 'RUNNING');
    const [live] = await t.orchestration.orchestrator.live([await target(connectionId)]);
    expect(live).toMatchObject({ paused: false, key: { connectionId } });
    await finishedJobs(connectionId, 2);
  });
});

function legacyAttributes(key: SyncKey): TypedSearchAttributes {
  const values = [key.environment, key.integration, key.connectionId, key.sync];
  return new TypedSearchAttributes(SEARCH_ATTRIBUTES.map((name, i) => ({ key: defineSearchAttributeKey(name, SearchAttributeType.KEYWORD), value: values[i]! })));
}
