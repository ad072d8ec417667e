import { Syncline, SynclineApiError } from '../../src/sdk';
import type { ApiConnectionFull, ImportConnectionBody } from '../../src/sdk';
import type { Queryable } from '../../src/store';
import { startTestServer, type TestServer } from './server';

/** A test server with an SDK client per environment. */
export interface TestApi extends TestServer {
  dev: Syncline;
  prod: Syncline;
}

/** startTestServer plus `dev` and `prod` SDK clients pointed at it. */
export async function startTestApi(): Promise<TestApi> {
  const server = await startTestServer();
  return Object.assign(server, {
    dev: new Syncline({ secretKey: server.keys.dev, host: server.url }),
    prod: new Syncline({ secretKey: server.keys.prod, host: server.url }),
  });
}

export interface RawRequest {
  /** Secret key to send; `null` sends no Authorization header. Default: dev's key. */
  key?: string | null;
  /** Serialised as JSON. */
  json?: unknown;
  /** Sent as is, with `Content-Type: application/json` unless `headers` says otherwise. */
  text?: string | Buffer;
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  /** Parsed JSON (or the text when it is not JSON); `any` so tests can read into it freely. */
  body: any;
  headers: Headers;
}

/** One request with plain fetch, for what the SDK would never send. */
export async function call(api: TestServer, method: string, path: string, request: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  const key = request.key === undefined ? api.keys.dev : request.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const payload = request.json !== undefined ? JSON.stringify(request.json) : request.text;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, request.headers);
  const response = await fetch(api.url + path, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

/** Awaits a rejection and checks it is a SynclineApiError with this status, code and error body. */
export async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<SynclineApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SynclineApiError);
  const apiError = err as SynclineApiError;
  expect({ status: apiError.status, code: apiError.code }).toEqual({ status, code });
  expect(apiError.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(apiError.message.length).toBeGreaterThan(0);
  return apiError;
}

/** Checks a raw response is an error with this status and code in the `{error:{code,message}}` shape. */
export function expectErrorResponse(response: RawResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(typeof response.body.error.message).toBe('string');
}

/**
 * Every row of every table of the current schema, as text, sorted: compare two snapshots to prove
 * a request changed nothing, or search one for a string.
 */
export async function snapshot(db: Queryable): Promise<Record<string, string[]>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const result: Record<string, string[]> = {};
  for (const { name } of tables) {
    const { rows } = await db.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t ORDER BY 1`);
    result[name] = rows.map((r) => r.row);
  }
  return result;
}

/** Runs `fn` and checks that the database is exactly as before. */
export async function expectUnchanged(db: Queryable, fn: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(db);
  await fn();
  expect(await snapshot(db)).toEqual(before);
}

/** OAuth2 credentials whose tokens carry `tag`, so tests can tell them apart. */
export const oauth2 = (tag: string) => ({
  type: 'OAUTH2' as const,
  access_token: `access-${tag}`,
  refresh_token: `refresh-${tag}`,
  expires_at: '2099-01-01T00:00:00.000Z',
  raw: { access_token: `access-${tag}`, token_type: 'bearer' },
});

/** Imports an OAuth2 connection (tokens tagged with its id) on an existing integration. */
export function addConnection(
  sdk: Syncline,
  providerConfigKey: string,
  connectionId: string,
  extra: Partial<ImportConnectionBody> = {},
): Promise<ApiConnectionFull> {
  return sdk.importConnection({ provider_config_key: providerConfigKey, connection_id: connectionId, credentials: oauth2(connectionId), ...extra });
}

/** Creates an integration (provider = key unless given) with OAuth app credentials. */
export function addIntegration(sdk: Syncline, uniqueKey: string, provider = uniqueKey) {
  return sdk.createIntegration({
    unique_key: uniqueKey,
    provider,
    credentials: { type: 'OAUTH2', client_id: `client-${uniqueKey}`, client_secret: `secret-${uniqueKey}`, scopes: 'read' },
  });
}

/** Writes records straight through the store, as a sync would. */
export async function writeRecords(api: TestServer, key: string, connectionId: string, model: string, records: unknown[], env: 'dev' | 'prod' = 'dev') {
  const connection = await api.store.connections.get(api.env[env], key, connectionId);
  return api.store.records.upsert(connection.id, model, records);
}
