import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { useUserProviders } from '../../src/providers';
import { startOrchestration, type Orchestration } from '../../src/worker';
import { temporalDispatcher } from '../../src/webhooks';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { call, startTestApi, type TestApi } from '../helpers/api';
import { addFakeIntegration, connectSession, startFakeProvider } from '../helpers/oauth';
import { waitFor } from '../orchestration/helpers';
import { startReceiver, type Receiver } from './receiver';

// `auth` webhooks go through the auth_events outbox: written with the change they report by
// whichever process made it (here an API without orchestration), delivered by the process that
// orchestrates, once.

jest.setTimeout(90_000);

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed
}

let api: TestApi;
let app: Receiver;
let fake: FakeOAuthProvider;
let orchestration: Orchestration | undefined;

beforeAll(async () => {
  [api, app, fake] = await Promise.all([startTestApi(), startReceiver(), startFakeProvider()]);
  for (const key of ['fake-oauth2', 'fake-key']) await addFakeIntegration(api, key, fake);
  await api.dev.updateWebhookSettings({ primary_url: `${app.url}/hooks` });
});
afterAll(async () => {
  useUserProviders({});
  await orchestration?.close();
  await Promise.all([api?.close(), app?.close(), fake?.close()]);
});

interface OutboxRow {
  id: number;
  operation: string;
  success: boolean;
  connection_id: string;
  auth_mode: string;
  end_user_id: string | null;
  error: { type: string; description: string } | null;
  /** The transaction that wrote the row. */
  xmin: string;
}

const outbox = async (connectionId: string) =>
  (await api.store.db.query<OutboxRow>('SELECT e.*, e.id::int AS id, e.xmin::text AS xmin FROM auth_events e WHERE e.connection_id = $1 ORDER BY e.id', [connectionId])).rows;

/** Authorises `connectionId` of integration fake-key through a connect session, as an end user would. */
async function connect(token: string, connectionId: string): Promise<number> {
  const res = await fetch(`${api.url}/api-auth/api-key/fake-key`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: 'k', connection_id: connectionId }),
  });
  return res.status;
}

const authHooks = (connectionId: string) => app.find((b) => b.type === 'auth' && b.connectionId === connectionId, '/hooks');

describe('without orchestration', () => {
  test('a connection authorised by its end user has its creation, then override, event written by the statement that wrote it; an import has none', async () => {
    const { token } = await connectSession(api, { end_user: { id: 'u-late' }, tags: { plan: 'pro' } });
    expect(await connect(token, 'late-1')).toBe(201);
    const written = async () => (await api.store.db.query<{ xmin: string }>("SELECT xmin::text AS xmin FROM connections WHERE connection_id = 'late-1'")).rows[0]!.xmin;
    const [creation] = await outbox('late-1');
    expect(creation).toMatchObject({ operation: 'creation', success: true, auth_mode: 'API_KEY', end_user_id: 'u-late', error: null });
    expect(creation!.xmin).toBe(await written());

    expect(await connect(token, 'late-1')).toBe(201);
    const rows = await outbox('late-1');
    expect(rows.map((r) => r.operation)).toEqual(['creation', 'override']);
    expect(rows[1]!.xmin).toBe(await written());

    await api.dev.importConnection({ provider_config_key: 'fake-key', connection_id: 'imported', credentials: { type: 'API_KEY', apiKey: 'k' } });
    expect(await outbox('imported')).toEqual([]);
  });

  test("a refused token refresh has its event written in the transaction of its failure record; answers from the record during the cooldown write none", async () => {
    const tokens = fake.issue();
    await api.dev.importConnection({
      provider_config_key: 'fake-oauth2',
      connection_id: 'refused',
      credentials: { type: 'OAUTH2', ...tokens, expires_at: new Date(Date.now() - 60_000).toISOString() },
    });
    fake.refreshFailure = { status: 400, body: { error: 'invalid_grant', error_description: 'revoked' } };
    try {
      const failed = await call(api, 'GET', '/connections/refused?provider_config_key=fake-oauth2');
      expect(failed.status).toBe(424);
      // Nobody listens in this process and nothing orchestrates: the event is in the database already.
      const [event] = await outbox('refused');
      expect(event).toMatchObject({
        operation: 'refresh',
        success: false,
        auth_mode: 'OAUTH2',
        error: { type: 'refresh_token_external_error', description: failed.body.error.message },
      });
      // The failure's log line (which the refresh record points at) came from the same transaction.
      const { rows } = await api.store.db.query<{ xmin: string }>(
        `SELECT l.xmin::text AS xmin FROM logs l JOIN connection_refreshes r ON r.last_failure_log = l.job_id
         JOIN connections c ON c.id = r.connection_id WHERE c.connection_id = 'refused' AND r.failures = 1`,
      );
      expect(rows.map((r) => r.xmin)).toEqual([event!.xmin]);

      expect((await call(api, 'GET', '/connections/refused?provider_config_key=fake-oauth2&force_refresh=true')).status).toBe(424);
      expect(await outbox('refused')).toHaveLength(1);
    } finally {
      fake.refreshFailure = undefined;
    }
  });
});

test('once a process orchestrates, the events written without one are delivered as auth webhooks, once, and leave the outbox', async () => {
  expect(app.received).toEqual([]);
  orchestration = await startOrchestration({ store: api.store, logger: createLogger('silent'), enginePort: 0 });
  await waitFor('the auth outbox drained', async () => (await api.store.db.query('SELECT 1 FROM auth_events')).rows.length === 0);
  await waitFor('3 auth webhooks', () => authHooks('late-1').length + authHooks('refused').length >= 3);
  // Two events of one connection, delivered in parallel: in either order.
  expect(authHooks('late-1').map((h) => h.body).sort((a, b) => a.operation.localeCompare(b.operation))).toEqual([
    { from: 'nango', type: 'auth', operation: 'creation', connectionId: 'late-1', authMode: 'API_KEY', providerConfigKey: 'fake-key', provider: 'fake-key', environment: 'dev', success: true, tags: { plan: 'pro' }, endUser: { endUserId: 'u-late' } },
    expect.objectContaining({ operation: 'override', connectionId: 'late-1', success: true }),
  ]);
  expect(authHooks('refused').map((h) => h.body)).toEqual([
    expect.objectContaining({ operation: 'refresh', connectionId: 'refused', success: false, error: { type: 'refresh_token_external_error', description: expect.stringContaining('invalid_grant') } }),
  ]);
  await waitFor('deliveries done', async () => (await api.dev.listWebhookDeliveries({ type: 'auth' })).data.every((d) => d.status === 'DELIVERED'));
  expect((await api.dev.listWebhookDeliveries({ type: 'auth' })).data).toHaveLength(3);
  expect(app.received).toHaveLength(3);
});

/** With the orchestration's drain loop stopped (the test drains by hand), `connectionId` authorised by an end user, then `fn`. */
async function drainingByHand(connectionId: string, fn: (orchestrator: Orchestration['orchestrator']) => Promise<void>): Promise<void> {
  const { orchestrator } = orchestration!;
  await orchestrator.stopLifecycle();
  try {
    const { token } = await connectSession(api, { end_user: { id: `u-${connectionId}` } });
    expect(await connect(token, connectionId)).toBe(201);
    await fn(orchestrator);
  } finally {
    orchestrator.startLifecycle();
  }
}

/** Makes an outbox event due now, as when its lease or back-off ends. */
const due = (id: number) => api.store.db.query('UPDATE auth_events SET not_before = now() WHERE id = $1', [id]);

test('an event drained twice (its first drain died after enqueueing, before removing it) sends one webhook', () =>
  drainingByHand('twice-1', async (orchestrator) => {
    // The first drain: takes the event and enqueues its webhook, then dies.
    const [event] = await api.store.authEvents.take(10);
    expect(event).toMatchObject({ connectionId: 'twice-1', operation: 'creation' });
    await temporalDispatcher(api.store, orchestrator.client, orchestrator.taskQueue).auth(event!);
    await waitFor('the first delivery', () => authHooks('twice-1').length === 1);
    // Its lease ends; the next drain takes the event again.
    await due(event!.id);
    expect(await orchestrator.drainAuthEvents()).toBe(1);
    expect(await outbox('twice-1')).toEqual([]);
    const deliveries = async () => (await api.dev.listWebhookDeliveries({ type: 'auth', connectionId: 'twice-1' })).data;
    await waitFor('deliveries done', async () => (await deliveries()).every((d) => d.status === 'DELIVERED'));
    // A second delivery, had one been enqueued, would have been posted by now (the first took well under this).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await deliveries()).toHaveLength(1);
    expect(authHooks('twice-1')).toHaveLength(1);
  }));

test('an event whose enqueueing fails stays in the outbox and is retried with back-off', () =>
  drainingByHand('retry-1', async (orchestrator) => {
    const [row] = await outbox('retry-1');
    // The environment's settings cannot be read: enqueueing throws.
    await api.store.db.query('ALTER TABLE webhook_settings RENAME TO webhook_settings_away');
    try {
      expect(await orchestrator.drainAuthEvents()).toBe(1);
    } finally {
      await api.store.db.query('ALTER TABLE webhook_settings_away RENAME TO webhook_settings');
    }
    const [after] = (await api.store.db.query<{ attempts: number; due_in_ms: number }>(
      'SELECT attempts, extract(epoch FROM not_before - now()) * 1000 AS due_in_ms FROM auth_events WHERE id = $1',
      [row!.id],
    )).rows;
    expect(after!.attempts).toBe(1);
    expect(Number(after!.due_in_ms)).toBeGreaterThan(500);
    expect(Number(after!.due_in_ms)).toBeLessThanOrEqual(2000);
    await due(row!.id);
    expect(await orchestrator.drainAuthEvents()).toBe(1);
    await waitFor('the retried webhook', () => authHooks('retry-1').length === 1);
    expect(await outbox('retry-1')).toEqual([]);
  }));
