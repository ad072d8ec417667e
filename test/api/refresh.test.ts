import { openDb, openStore } from '../../src/store';
import { onAuthEvent, useUserProviders, type AuthEvent } from '../../src/providers';
import { CredentialRefresher, getFreshConnection } from '../../src/providers/refresh';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { call, startTestApi, type TestApi } from '../helpers/api';
import { onPostgres } from '../helpers/db';
import { addFakeIntegration, startFakeProvider } from '../helpers/oauth';

let api: TestApi;
let fake: FakeOAuthProvider;

beforeAll(async () => {
  [api, fake] = await Promise.all([startTestApi(), startFakeProvider()]);
  await addFakeIntegration(api, 'fake-oauth2', fake);
  await addFakeIntegration(api, 'fake-cc', fake);
});
afterAll(async () => {
  useUserProviders({});
  await Promise.all([api.close(), fake.close()]);
});
afterEach(() => {
  fake.refreshFailure = undefined;
  fake.rotateRefreshToken = true;
  fake.tokenDelayMs = 0;
});

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

/** An OAuth2 connection whose token (valid at the fake) expires in `minutes`. */
async function connection(id: string, minutes: number) {
  const tokens = fake.issue();
  await api.dev.importConnection({
    provider_config_key: 'fake-oauth2',
    connection_id: id,
    credentials: { type: 'OAUTH2', ...tokens, expires_at: inMinutes(minutes), raw: tokens },
  });
  return tokens;
}

const get = (id: string, query = '') => call(api, 'GET', `/connections/${id}?provider_config_key=fake-oauth2${query}`);

test('a token expiring within 15 minutes is refreshed; one expiring later is not', async () => {
  const late = await connection('late', 20);
  const soon = await connection('soon', 10);
  const calls = fake.calls.refresh_token;
  expect((await get('late')).body.credentials.access_token).toBe(late.access_token);
  expect(fake.calls.refresh_token).toBe(calls);
  const refreshed = (await get('soon', '&refresh_token=true')).body.credentials;
  expect(fake.calls.refresh_token).toBe(calls + 1);
  expect(refreshed.access_token).not.toBe(soon.access_token);
  expect(refreshed.refresh_token).not.toBe(soon.refresh_token);
  expect(Date.parse(refreshed.expires_at)).toBeGreaterThan(Date.now() + 3500_000);
  expect(refreshed.raw).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
  // Fresh now: the next read does not call the provider.
  await get('soon');
  expect(fake.calls.refresh_token).toBe(calls + 1);
});

test('force_refresh always refreshes; the refresh token is returned only with refresh_token=true', async () => {
  const tokens = await connection('forced', 600);
  const calls = fake.calls.refresh_token;
  const forced = await get('forced', '&force_refresh=true');
  expect(fake.calls.refresh_token).toBe(calls + 1);
  expect(forced.body.credentials.access_token).not.toBe(tokens.access_token);
  expect(forced.body.credentials).not.toHaveProperty('refresh_token');
  expect(JSON.stringify(forced.body)).not.toMatch(/rt-\d+/);
  const withToken = await api.dev.getConnection('fake-oauth2', 'forced', false, true);
  expect(withToken.credentials.refresh_token).toMatch(/^rt-/);
});

test('a refresh token the provider does not rotate is kept', async () => {
  const tokens = await connection('no-rotation', 1);
  fake.rotateRefreshToken = false;
  const { credentials } = await api.dev.getConnection('fake-oauth2', 'no-rotation', false, true);
  expect(credentials.access_token).not.toBe(tokens.access_token);
  expect(credentials.refresh_token).toBe(tokens.refresh_token);
});

test('20 concurrent requests on an expired token make one provider call', async () => {
  await connection('race', -5);
  fake.tokenDelayMs = 150;
  const calls = fake.calls.refresh_token;
  const results = await Promise.all(Array.from({ length: 20 }, () => get('race')));
  expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
  expect(new Set(results.map((r) => r.body.credentials.access_token)).size).toBe(1);
  expect(fake.calls.refresh_token).toBe(calls + 1);
});

test('refreshers that share nothing but the database (separate processes) still make one call: a claim on the row and re-check', async () => {
  await connection('race-2', -5);
  fake.tokenDelayMs = 100;
  const calls = fake.calls.refresh_token;
  // On Postgres the second refresher uses its own pool, like another process would.
  const url = process.env.DATABASE_URL;
  const schema = url ? (await api.store.db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s : undefined;
  const otherDb = url ? await openDb({ url, schema, maxConnections: 5 }) : undefined;
  const otherStore = otherDb ? await openStore(otherDb, (api.store.cipher as unknown as { key: Buffer }).key) : api.store;
  try {
    const refreshers = [new CredentialRefresher(api.store), new CredentialRefresher(otherStore), new CredentialRefresher(api.store), new CredentialRefresher(otherStore)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => refreshers[i % refreshers.length]!.connection(api.env.dev, 'fake-oauth2', 'race-2')),
    );
    expect(new Set(results.map((c) => c.credentials.access_token)).size).toBe(1);
    expect(fake.calls.refresh_token).toBe(calls + 1);
  } finally {
    await otherDb?.close();
  }
});

test('a failed refresh is recorded with the provider error and a cooldown, without a tight retry loop', async () => {
  await connection('failing', -1);
  fake.refreshFailure = { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been revoked' } };
  const calls = fake.calls.refresh_token;
  const events: AuthEvent[] = [];
  const stop = onAuthEvent((e) => events.push(e));
  const first = await get('failing');
  expect(first.status).toBe(424);
  expect(first.body.error).toMatchObject({
    code: 'refresh_failed',
    message: expect.stringContaining('invalid_grant'),
    errors: { provider_status: 400, provider_error: { error: 'invalid_grant' }, failures: 1, retry_after: expect.any(String) },
  });
  const retryAfter = Date.parse(first.body.error.errors.retry_after);
  expect(retryAfter - Date.now()).toBeGreaterThan(20_000);
  // Within the cooldown: the recorded failure, no new provider call, even when forced.
  const again = await Promise.all([get('failing'), get('failing', '&force_refresh=true')]);
  expect(again.map((r) => r.body.error.code)).toEqual(['refresh_failed', 'refresh_failed']);
  expect(fake.calls.refresh_token).toBe(calls + 1);
  stop();
  // One auth webhook event for the provider's refusal, none for the answers given from the record.
  expect(events).toEqual([
    expect.objectContaining({ operation: 'refresh', success: false, connectionId: 'failing', error: expect.objectContaining({ description: expect.stringContaining('invalid_grant') }) }),
  ]);
  // The same one waits in the outbox for the `auth` webhook.
  const outbox = await api.store.db.query<{ operation: string; error: unknown }>("SELECT operation, error FROM auth_events WHERE connection_id = 'failing'");
  expect(outbox.rows).toEqual([{ operation: 'refresh', error: events[0]!.error }]);
  const stored = await api.store.connections.get(api.env.dev, 'fake-oauth2', 'failing');
  expect(await api.store.auth.refreshState(stored.id)).toMatchObject({ failures: 1, lastError: { status: 400, body: { error: 'invalid_grant' } } });
  // The connection reports it, pointing at the log line of the failure.
  const listed = await call(api, 'GET', '/connections?connectionId=failing');
  const errors = listed.body.connections[0].errors;
  expect(errors).toEqual([{ type: 'auth', log_id: expect.any(String) }]);
  const logs = await call(api, 'GET', `/logs?jobId=${encodeURIComponent(errors[0].log_id)}`);
  expect(logs.body.logs).toEqual([expect.objectContaining({ operation: 'auth', level: 'error', connection_id: 'failing', message: expect.stringContaining('invalid_grant') })]);

  // After the cooldown the provider is asked again; success clears the failure.
  await api.store.db.query("UPDATE connection_refreshes SET retry_after = now() - interval '1 second' WHERE connection_id = $1", [stored.id]);
  fake.refreshFailure = undefined;
  const recovered = await get('failing');
  expect(recovered.status).toBe(200);
  expect(fake.calls.refresh_token).toBe(calls + 2);
  expect(await api.store.auth.refreshState(stored.id)).toMatchObject({ failures: 0, lastError: null, retryAfter: null });
  expect((await call(api, 'GET', '/connections?connectionId=failing')).body.connections[0].errors).toEqual([]);
});

test('client-credentials tokens are fetched again when expiring; the runtime gets fresh credentials too', async () => {
  const tokens = fake.issue();
  await api.dev.importConnection({
    provider_config_key: 'fake-cc',
    connection_id: 'cc',
    credentials: { type: 'OAUTH2_CC', token: tokens.access_token, client_id: fake.clientId, client_secret: fake.clientSecret, expires_at: inMinutes(2) } as never,
  });
  const calls = fake.calls.client_credentials;
  const fresh = await getFreshConnection(api.store, api.env.dev, 'fake-cc', 'cc');
  expect(fake.calls.client_credentials).toBe(calls + 1);
  expect(fresh.credentials).toMatchObject({ type: 'OAUTH2_CC', token: expect.not.stringMatching(tokens.access_token), client_id: fake.clientId });
  expect(await getFreshConnection(api.store, api.env.dev, 'fake-cc', 'cc')).toMatchObject({ credentials: fresh.credentials });
  expect(fake.calls.client_credentials).toBe(calls + 1);
});

test('a slow token endpoint holds up only that connection, not the rest of the API', async () => {
  await connection('slow', -1);
  fake.tokenDelayMs = 1000;
  let refreshedAt = 0;
  const refreshing = get('slow').then((r) => ((refreshedAt = Date.now()), r));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const other = await call(api, 'GET', '/integrations');
  const otherAt = Date.now();
  expect(other.status).toBe(200);
  expect((await refreshing).status).toBe(200);
  expect(refreshedAt - otherAt).toBeGreaterThan(300);
});

onPostgres('refreshes waiting on a slow provider hold no database connection: a pool of 2 still answers at once', async () => {
  const ids = ['pool-a', 'pool-b', 'pool-c', 'pool-d'];
  for (const id of ids) await connection(id, -1);
  fake.tokenDelayMs = 1500;
  const schema = (await api.store.db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
  const smallDb = await openDb({ url: process.env.DATABASE_URL, schema, maxConnections: 2 });
  const smallStore = await openStore(smallDb, (api.store.cipher as unknown as { key: Buffer }).key);
  try {
    const refresher = new CredentialRefresher(smallStore);
    const refreshing = Promise.all(ids.map((id) => refresher.connection(api.env.dev, 'fake-oauth2', id)));
    await new Promise((resolve) => setTimeout(resolve, 300)); // all four are now waiting on the provider
    const started = Date.now();
    await smallDb.query('SELECT 1');
    expect(Date.now() - started).toBeLessThan(500);
    const refreshed = await refreshing;
    expect(refreshed.map((c) => c.credentials.expires_at).every((at) => Date.parse(String(at)) > Date.now())).toBe(true);
  } finally {
    await smallDb.close();
  }
});
