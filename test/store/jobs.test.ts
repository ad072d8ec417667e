import type { Store } from '../../src/store';
import type { SyncJobRef } from '../../src/store/logs';
import { testStore } from '../helpers/db';

let store: Store & { drop(): Promise<void> };
let environmentId: number;
let conn: number;
let run: SyncJobRef;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  const env = (await store.environments.byName('dev'))!;
  environmentId = env.id;
  await store.integrations.create(env.id, { uniqueKey: 'github', provider: 'github' });
  conn = (await store.connections.upsert(env.id, 'github', { connectionId: 'first', credentials: { type: 'API_KEY', apiKey: 'k' } })).connection.id;
  run = { environmentId: env.id, environment: env.name, integration: 'github', connectionId: 'first', script: 'issues' };
  await store.jobs.ensureSync(conn, 'issues');
});

afterAll(() => store.drop());

let runs = 0;
async function begin(): Promise<number> {
  const begun = await store.jobs.beginJob({ connectionPk: conn, name: 'issues', variant: 'base' }, `run-${++runs}`, false, null);
  return begun!.job.id;
}

describe("a sync job's end brings back the environment's sync webhook rules", () => {
  test('null while the environment has no webhook settings, and none are created by it', async () => {
    const ended = await store.jobs.finishJob(await begin(), { success: true, connectionPk: conn, deleteUnseen: [], logs: [], run });
    expect(ended.status).toBe('SUCCESS');
    expect(ended.syncWebhookRules).toBeNull();
    const { rows } = await store.db.query('SELECT 1 FROM webhook_settings WHERE environment_id = $1', [environmentId]);
    expect(rows).toHaveLength(0);
  });

  test('the settings as they are when it ends, from the one-statement end and from the end that deletes unseen records', async () => {
    await store.webhooks.update(environmentId, { primaryUrl: 'https://hooks.example/a', onSyncCompletionAlways: true, onSyncError: false });
    const expected = { primaryUrl: 'https://hooks.example/a', secondaryUrl: null, onSyncCompletionAlways: true, onSyncError: false };
    const plain = await store.jobs.finishJob(await begin(), { success: true, connectionPk: conn, deleteUnseen: [], logs: [{ level: 'info', message: 'hi' }], run });
    expect(plain.syncWebhookRules).toEqual(expected);
    const deleting = await store.jobs.finishJob(await begin(), { success: true, connectionPk: conn, deleteUnseen: ['Issue'], logs: [], run });
    expect(deleting.syncWebhookRules).toEqual(expected);

    await store.webhooks.update(environmentId, { secondaryUrl: 'https://hooks.example/b', onSyncError: true });
    const failed = await store.jobs.finishJob(await begin(), { success: false, error: { type: 'script_error', message: 'boom' }, logs: [], run });
    expect(failed.status).toBe('ERROR');
    expect(failed.syncWebhookRules).toEqual({ ...expected, secondaryUrl: 'https://hooks.example/b', onSyncError: true });
  });

  test('not read when the end does not name its sync', async () => {
    const ended = await store.jobs.finishJob(await begin(), { success: true, connectionPk: conn, deleteUnseen: [], logs: [] });
    expect(ended.status).toBe('SUCCESS');
    expect(ended).not.toHaveProperty('syncWebhookRules');
  });
});
