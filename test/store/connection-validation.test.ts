import type { Store } from '../../src/store';
import { storeWithGithub } from '../helpers/db';

/**
 * Pending connections (upsert with `pending`, settled by accept or refuse): what validate-connection
 * scripts judge. Nothing is announced before it is accepted, and a refusal leaves no trace.
 */
let store: Store & { drop(): Promise<void> };
let envId: number;

beforeAll(async () => {
  ({ store, envId } = await storeWithGithub());
});

afterAll(() => store.drop());

const lifecycle = async (connectionId: string) =>
  (await store.db.query<{ kind: string }>('SELECT kind FROM sync_lifecycle_events WHERE connection_id = $1 ORDER BY id', [connectionId])).rows.map((r) => r.kind);
const authEvents = async (connectionId: string) =>
  (
    await store.db.query<{ operation: string; success: boolean; error: unknown; end_user_id: string | null }>(
      'SELECT operation, success, error, end_user_id FROM auth_events WHERE connection_id = $1 ORDER BY id',
      [connectionId],
    )
  ).rows;
const write = (connectionId: string, apiKey: string, extra: { metadata?: Record<string, unknown>; tags?: Record<string, string> } = {}) =>
  store.connections.upsert(envId, 'github', { connectionId, credentials: { type: 'API_KEY', apiKey }, ...extra }, { pending: true, authEvent: { endUserId: 'u1' } });

test('a pending creation is readable but announced only once accepted, with its auth event', async () => {
  const { connection, created } = await write('new-ok', 'k1', { metadata: { a: 1 } });
  expect(created).toBe(true);
  // The scripts read it (and may write its metadata) while nothing else has heard of it.
  expect((await store.connections.get(envId, 'github', 'new-ok')).credentials).toMatchObject({ apiKey: 'k1' });
  await store.connections.setMetadata(envId, 'github', ['new-ok'], { accountId: 'acct-1' }, 'merge');
  expect(await lifecycle('new-ok')).toEqual([]);
  expect(await authEvents('new-ok')).toEqual([]);

  const accepted = await store.connections.accept(connection.id, { authEvent: { endUserId: 'u1' } });
  expect(accepted).toMatchObject({ created: true, connection: { connectionId: 'new-ok', metadata: { a: 1, accountId: 'acct-1' } } });
  expect(await lifecycle('new-ok')).toEqual(['connection_created']);
  expect(await authEvents('new-ok')).toEqual([{ operation: 'creation', success: true, error: null, end_user_id: 'u1' }]);
  // Settled once: a second settlement finds nothing pending.
  expect(await store.connections.accept(connection.id)).toBeNull();
  expect(await store.connections.refuse(connection.id)).toBeNull();
  expect(await lifecycle('new-ok')).toEqual(['connection_created']);
});

test('a refused creation is deleted without any event', async () => {
  const { connection } = await write('new-bad', 'k1');
  expect(await store.connections.refuse(connection.id, { authEvent: { endUserId: 'u1', error: { type: 'connection_validation_failed', description: 'no' } } })).toBe('deleted');
  await expect(store.connections.get(envId, 'github', 'new-bad')).rejects.toMatchObject({ code: 'unknown_connection' });
  expect(await lifecycle('new-bad')).toEqual([]);
  expect(await authEvents('new-bad')).toEqual([]);
});

test('a refused override gets back every column it replaced, and a failed override auth event', async () => {
  await store.connections.upsert(envId, 'github', {
    connectionId: 'old',
    credentials: { type: 'OAUTH2', access_token: 't1', expires_at: '2030-01-01T00:00:00.000Z' },
    connectionConfig: { subdomain: 'acme' },
    metadata: { accountId: 'acct-1' },
    tags: { plan: 'pro' },
    endUser: null,
    webhookUrlOverride: 'https://hooks.example/old',
  });
  const before = await store.connections.get(envId, 'github', 'old');
  const events = (await lifecycle('old')).length;

  const { connection, created } = await store.connections.upsert(
    envId,
    'github',
    { connectionId: 'old', credentials: { type: 'API_KEY', apiKey: 'k2' }, connectionConfig: {}, metadata: {}, tags: { plan: 'free' }, endUser: { id: 'u2', email: 'u2@example.com' }, webhookUrlOverride: null },
    { pending: true, authEvent: { endUserId: 'u2' } },
  );
  expect(created).toBe(false);
  // The scripts see the new values.
  expect(connection).toMatchObject({ credentials: { apiKey: 'k2' }, tags: { plan: 'free' }, endUser: { id: 'u2' } });

  const error = { type: 'connection_validation_failed', description: 'This connection belongs to account acct-1' };
  expect(await store.connections.refuse(connection.id, { authEvent: { endUserId: 'u2', error } })).toBe('restored');
  const after = await store.connections.get(envId, 'github', 'old');
  expect(after).toEqual(before);
  expect(after.credentials).toMatchObject({ type: 'OAUTH2', access_token: 't1' });
  expect(await authEvents('old')).toEqual([{ operation: 'override', success: false, error, end_user_id: 'u2' }]);
  expect(await lifecycle('old')).toHaveLength(events);
});

test('an accepted override keeps the new values and writes a successful override event', async () => {
  await store.connections.upsert(envId, 'github', { connectionId: 'renewed', credentials: { type: 'API_KEY', apiKey: 'k1' } });
  const { connection } = await write('renewed', 'k2');
  expect(await store.connections.accept(connection.id, { authEvent: { endUserId: 'u1' } })).toMatchObject({ created: false, connection: { credentials: { apiKey: 'k2' } } });
  expect(await authEvents('renewed')).toEqual([{ operation: 'override', success: true, error: null, end_user_id: 'u1' }]);
  expect(await lifecycle('renewed')).toEqual(['connection_created']);
});

test('an ordinary write over a pending creation settles and announces it', async () => {
  const { connection } = await write('raced', 'k1');
  await store.connections.upsert(envId, 'github', { connectionId: 'raced', credentials: { type: 'API_KEY', apiKey: 'k2' } });
  expect(await lifecycle('raced')).toEqual(['connection_created']);
  expect(await store.connections.refuse(connection.id)).toBeNull();
  expect((await store.connections.get(envId, 'github', 'raced')).credentials).toMatchObject({ apiKey: 'k2' });
});
