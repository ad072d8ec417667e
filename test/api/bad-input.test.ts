import { toHttpError } from '../../src/api/errors';
import {
  addConnection,
  addIntegration,
  call,
  expectErrorResponse,
  expectUnchanged,
  oauth2,
  startTestApi,
  writeRecords,
  type RawRequest,
  type TestApi,
} from '../helpers/api';

let api: TestApi;
let cursor: string;

const onC1 = { 'Connection-Id': 'c1', 'Provider-Config-Key': 'github' };
const credentials = oauth2('c1');

beforeAll(async () => {
  api = await startTestApi();
  await addIntegration(api.dev, 'github');
  await addConnection(api.dev, 'github', 'c1', { metadata: { keep: true } });
  await writeRecords(api, 'github', 'c1', 'Issue', [{ id: 'i1' }, { id: 'i2' }]);
  cursor = (await api.dev.listRecords({ providerConfigKey: 'github', connectionId: 'c1', model: 'Issue' })).records[0]!._nango_metadata.cursor;
  await api.dev.setEnvironmentVariables([{ name: 'KEEP', value: 'me' }]);
});
afterAll(() => api.close());

/** Sends the request and checks status, code and that no row of any table changed. */
async function rejects(method: string, path: string, request: RawRequest, status: number, code: string) {
  await expectUnchanged(api.store.db, async () => expectErrorResponse(await call(api, method, path, request), status, code));
}

// Every row has all three cells: jest would take a missing last argument for a `done` callback.
const writes: Array<[string, string, Record<string, string>]> = [
  ['POST', '/connections', {}],
  ['PATCH', '/connections/c1?provider_config_key=github', {}],
  ['POST', '/connections/metadata', {}],
  ['PATCH', '/connections/metadata', {}],
  ['POST', '/integrations', {}],
  ['PATCH', '/integrations/github', {}],
  ['POST', '/environment-variables', {}],
  ['PATCH', '/environment/settings', {}],
  ['PATCH', '/records/prune', onC1],
];

describe('bodies', () => {
  test.each(writes)('%s %s: malformed JSON is a 400 invalid_json', async (method, path, headers) => {
    await rejects(method, path, { text: '{"metadata": {"a": 1,}', headers }, 400, 'invalid_json');
  });

  test.each(writes)('%s %s: no body at all is a 400 missing_body', async (method, path, headers) => {
    await rejects(method, path, { headers }, 400, 'missing_body');
  });

  test('a body that is not JSON (text/plain) counts as missing', async () => {
    await rejects('POST', '/integrations', { text: 'unique_key=x', headers: { 'content-type': 'text/plain' } }, 400, 'missing_body');
  });

  test('an unsupported charset is a 415', async () => {
    await rejects('POST', '/integrations', { text: '{}', headers: { 'content-type': 'application/json; charset=klingon' } }, 415, 'unsupported_encoding');
  });

  test('a body over the 10mb limit is a 413 payload_too_large; one just under it is accepted', async () => {
    const body = (size: number) => JSON.stringify({ provider_config_key: 'github', connection_id: 'big', credentials, metadata: { blob: 'x'.repeat(size) } });
    await rejects('POST', '/connections', { text: body(10 * 1024 * 1024) }, 413, 'payload_too_large');
    const accepted = await call(api, 'POST', '/connections', { text: body(10 * 1024 * 1024 - 1000) });
    expect(accepted.status).toBe(201);
    await api.dev.deleteConnection('github', 'big');
  });
});

describe('missing or wrong fields name the field', () => {
  test.each<[string, string, string, unknown, string]>([
    ['import without credentials', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'new' }, 'credentials'],
    ['import without provider_config_key', 'POST', '/connections', { connection_id: 'new', credentials }, 'provider_config_key'],
    ['OAUTH2 without access_token', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'c1', credentials: { type: 'OAUTH2' } }, 'credentials.access_token'],
    ['an unknown credentials type', 'POST', '/connections', { provider_config_key: 'github', credentials: { type: 'MAGIC' } }, 'credentials.type'],
    ['an empty connection_id', 'POST', '/connections', { provider_config_key: 'github', connection_id: '', credentials }, 'connection_id'],
    ['a 256-character connection_id', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'x'.repeat(256), credentials }, 'connection_id'],
    ['a control character in connection_id', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'a\nb', credentials }, 'connection_id'],
    ['metadata that is an array', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'c1', credentials, metadata: [1] }, 'metadata'],
    ['a bad end user email', 'POST', '/connections', { provider_config_key: 'github', connection_id: 'c1', credentials, end_user: { id: 'u', email: 'nope' } }, 'end_user.email'],
    ['more than 10 tags', 'PATCH', '/connections/c1?provider_config_key=github', { tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v'])) }, 'tags'],
    ['a tag value that is not a string', 'PATCH', '/connections/c1?provider_config_key=github', { tags: { plan: 1 } }, 'tags.plan'],
    ['a webhook override that is not http(s)', 'PATCH', '/connections/c1?provider_config_key=github', { webhook_url_override: 'ftp://x' }, 'webhook_url_override'],
    ['metadata change without metadata', 'POST', '/connections/metadata', { provider_config_key: 'github', connection_id: 'c1' }, 'metadata'],
    ['metadata change with an empty id list', 'PATCH', '/connections/metadata', { provider_config_key: 'github', connection_id: [], metadata: {} }, 'connection_id'],
    ['integration without provider', 'POST', '/integrations', { unique_key: 'new' }, 'provider'],
    ['integration key with a slash', 'POST', '/integrations', { unique_key: 'my/key', provider: 'github' }, 'unique_key'],
    ['integration credentials without type', 'PATCH', '/integrations/github', { credentials: { client_id: 'x' } }, 'credentials.type'],
    ['prune without until_cursor', 'PATCH', '/records/prune', { model: 'Issue' }, 'until_cursor'],
  ])('%s is a 400 invalid_body', async (_what, method, path, json, field) => {
    const res = await call(api, method, path, { json, headers: path === '/records/prune' ? onC1 : {} });
    expectErrorResponse(res, 400, 'invalid_body');
    expect(res.body.error.errors).toContainEqual(expect.objectContaining({ path: field }));
    expect(res.body.error.message).toContain(field);
    await expect(api.dev.getConnection('github', 'c1', false, true)).resolves.toMatchObject({ metadata: { keep: true }, credentials });
  });

  test.each([
    ['GET /connections/:id without provider_config_key', '/connections/c1'],
    ['GET /records without model', '/records'],
    ['a non-numeric page', '/connections?page=two'],
  ])('%s is a 400 invalid_query', async (_what, path) => {
    await rejects('GET', path, { headers: onC1 }, 400, 'invalid_query');
  });

  test('GET /records without the Connection-Id header is a 400 missing_header', async () => {
    await rejects('GET', '/records?model=Issue', { headers: { 'Provider-Config-Key': 'github' } }, 400, 'missing_header');
  });
});

describe('unknown objects', () => {
  test.each<[string, string, string, RawRequest]>([
    ['GET', '/connections/nobody?provider_config_key=github', 'unknown_connection', {}],
    ['GET', '/connections/c1?provider_config_key=nope', 'unknown_provider_config', {}],
    ['PATCH', '/connections/nobody?provider_config_key=github', 'unknown_connection', { json: { tags: {} } }],
    ['DELETE', '/connections/c1?provider_config_key=nope', 'unknown_provider_config', {}],
    ['POST', '/connections', 'unknown_provider_config', { json: { provider_config_key: 'nope', connection_id: 'c1', credentials } }],
    ['POST', '/connections/metadata', 'unknown_provider_config', { json: { provider_config_key: 'nope', connection_id: 'c1', metadata: { a: 1 } } }],
    ['PATCH', '/connections/metadata', 'unknown_connection', { json: { provider_config_key: 'github', connection_id: ['c1', 'nobody'], metadata: { a: 1 } } }],
    ['GET', '/integrations/nope', 'unknown_provider_config', {}],
    ['PATCH', '/integrations/nope', 'unknown_provider_config', { json: { display_name: 'x' } }],
    ['DELETE', '/integrations/nope', 'unknown_provider_config', {}],
    ['DELETE', '/environment-variables/NOPE', 'unknown_environment_variable', {}],
    ['GET', '/records?model=Issue', 'unknown_connection', { headers: { 'Connection-Id': 'nobody', 'Provider-Config-Key': 'github' } }],
    ['PATCH', '/records/prune', 'unknown_provider_config', { json: { model: 'Issue', until_cursor: 'x' }, headers: { 'Connection-Id': 'c1', 'Provider-Config-Key': 'nope' } }],
  ])('%s %s is a 404 %s', async (method, path, code, request) => {
    await rejects(method, path, request, 404, code);
  });
});

describe('cursors and limits', () => {
  const notACursor = Buffer.from('yesterday||i1').toString('base64');
  const badDate = Buffer.from('2024-13-45T99:00:00Z||i1').toString('base64');

  test.each([
    ['garbage', 'not-a-cursor!'],
    ['base64 without a timestamp', notACursor],
    ['an impossible date', badDate],
  ])('a cursor that is %s is a 400 invalid_cursor, on GET /records and on prune', async (_what, bad) => {
    await rejects('GET', `/records?model=Issue&cursor=${encodeURIComponent(bad)}`, { headers: onC1 }, 400, 'invalid_cursor');
    await rejects('PATCH', '/records/prune', { json: { model: 'Issue', until_cursor: bad }, headers: onC1 }, 400, 'invalid_cursor');
  });

  test.each(['0', '-1', '10001', '1.5', 'abc', ''])('GET /records?limit=%s is a 400', async (limit) => {
    await rejects('GET', `/records?model=Issue&limit=${limit}`, { headers: onC1 }, 400, 'invalid_query');
  });

  test('limit 10000 is the largest accepted', async () => {
    const res = await call(api, 'GET', '/records?model=Issue&limit=10000', { headers: onC1 });
    expect(res.status).toBe(200);
  });

  test.each(['0', '1001', '-5'])('GET /connections?limit=%s is a 400', async (limit) => {
    await rejects('GET', `/connections?limit=${limit}`, {}, 400, 'invalid_query');
  });

  test.each([0, 10_001, 2.5])('prune with limit %s is a 400', async (limit) => {
    await rejects('PATCH', '/records/prune', { json: { model: 'Issue', until_cursor: cursor, limit }, headers: onC1 }, 400, 'invalid_body');
  });

  test.each([
    ['a modified_after that is not a date', 'modified_after=last-tuesday'],
    ['an unknown filter', 'filter=created'],
    ['more than 100 ids', Array.from({ length: 101 }, (_, i) => `ids=${i}`).join('&')],
    ['a variant with a space', 'variant=a%20b'],
  ])('%s is a 400', async (_what, query) => {
    await rejects('GET', `/records?model=Issue&${query}`, { headers: onC1 }, 400, 'invalid_query');
  });
});

describe('text Postgres cannot store, dates it cannot hold, providers that do not exist', () => {
  const invalidUtf8 = Buffer.concat([Buffer.from('{"provider_config_key":"github","connection_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from(`","credentials":${JSON.stringify(credentials)}}`)]);
  test.each<[string, string, string, RawRequest, string]>([
    ['a NUL in tags', 'PATCH', '/connections/c1?provider_config_key=github', { json: { tags: { plan: 'a\u0000' } } }, 'invalid_body'],
    ['a NUL in metadata', 'POST', '/connections/metadata', { json: { provider_config_key: 'github', connection_id: 'c1', metadata: { a: '\u0000' } } }, 'invalid_body'],
    ['a NUL in connection_config', 'POST', '/connections', { json: { provider_config_key: 'github', connection_id: 'n', credentials, connection_config: { s: 'x\u0000' } } }, 'invalid_body'],
    ['a NUL in a display name', 'PATCH', '/integrations/github', { json: { display_name: 'Git\u0000Hub' } }, 'invalid_body'],
    ['a lone surrogate in a display name', 'PATCH', '/integrations/github', { json: { display_name: 'Git\ud800Hub' } }, 'invalid_body'],
    ['a NUL in ?model=', 'GET', '/records?model=Is%00sue', { headers: onC1 }, 'invalid_query'],
    ['a NUL in an integration key in the path', 'DELETE', '/integrations/git%00hub', {}, 'invalid_params'],
    ['invalid UTF-8 in connection_id', 'POST', '/connections', { text: invalidUtf8 }, 'invalid_body'],
    ['an encoded lone surrogate in a path', 'GET', '/integrations/%ed%a0%80', {}, 'invalid_params'],
    ['modified_after=99999-01-01', 'GET', '/records?model=Issue&modified_after=99999-01-01', { headers: onC1 }, 'invalid_query'],
    ['a path parameter that does not decode', 'GET', '/integrations/%zz', {}, 'bad_request'],
  ])('%s is a 400 that changes nothing', async (_what, method, path, request, code) => {
    await rejects(method, path, request, 400, code);
  });

  test('the body error names the field', async () => {
    const res = await call(api, 'PATCH', '/connections/c1?provider_config_key=github', { json: { tags: { plan: 'a\u0000' } } });
    expect(res.body.error.errors).toEqual([expect.objectContaining({ path: 'tags.plan' })]);
  });

  test('a value Postgres refuses that validation let through (SQLSTATE class 22) maps to a 400, not a 500', async () => {
    const refusal = await api.store.db.query("SELECT '99999-13-45'::date").catch((err: unknown) => err);
    expect(toHttpError(refusal)).toEqual({ status: 400, body: { error: { code: 'invalid_value', message: expect.any(String) } } });
  });

  test.each(['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])('POST /integrations with provider "%s" is a 400 naming provider', async (provider) => {
    await rejects('POST', '/integrations', { json: { unique_key: 'new', provider } }, 400, 'invalid_body');
    const res = await call(api, 'POST', '/integrations', { json: { unique_key: 'new', provider } });
    expect(res.body.error.errors).toContainEqual(expect.objectContaining({ path: 'provider' }));
  });
});

describe('strings that look like SQL are data', () => {
  const sql = "'; DROP TABLE records; --";

  test('as connection id, metadata, tags, end user and search they are stored and returned verbatim', async () => {
    const fields = {
      metadata: { [sql]: sql, nested: { q: `" OR 1=1 --` } },
      tags: { note: sql },
      end_user: { id: sql, display_name: `Robert'); DROP TABLE connections;--` },
      connection_config: { subdomain: sql },
    };
    await addConnection(api.dev, 'github', sql, fields);
    expect(await api.dev.getConnection('github', sql)).toMatchObject({ connection_id: sql, ...fields });
    expect((await api.dev.listConnections(sql)).connections.map((c) => c.connection_id)).toEqual([sql]);
    expect((await api.dev.listConnections(undefined, "DROP TABLE records; --")).connections.map((c) => c.connection_id)).toEqual([sql]);
    expect((await api.dev.listConnections({ userId: sql, tags: { note: sql } })).connections).toHaveLength(1);
    await api.dev.updateMetadata('github', [sql, 'c1'], { [sql]: 'merged' });
    expect(await api.dev.getMetadata('github', sql)).toMatchObject({ [sql]: 'merged' });
  });

  test('as record ids, fields, model names and header values', async () => {
    await writeRecords(api, 'github', sql, sql, [{ id: sql, [sql]: sql }]);
    const page = await api.dev.listRecords({ providerConfigKey: 'github', connectionId: sql, model: sql, ids: [sql] });
    expect(page.records).toEqual([expect.objectContaining({ id: sql, [sql]: sql })]);
  });

  test('as environment variable values and integration display names', async () => {
    await api.dev.setEnvironmentVariables([{ name: 'SQL', value: sql }]);
    expect(await api.dev.getEnvironmentVariables()).toContainEqual({ name: 'SQL', value: sql });
    await api.dev.updateIntegration({ uniqueKey: 'github' }, { display_name: sql });
    expect((await api.dev.getIntegration({ uniqueKey: 'github' })).data.display_name).toBe(sql);
  });

  test('integration keys may be any URL-safe text, SQL-looking included', async () => {
    await api.dev.createIntegration({ unique_key: sql, provider: 'github' });
    expect((await api.dev.getIntegration({ uniqueKey: sql })).data.unique_key).toBe(sql);
    await api.dev.deleteIntegration(sql);
  });

  test('where the format is restricted (variable names) they are a 400, not an error 500', async () => {
    await rejects('POST', '/environment-variables', { json: [{ name: sql, value: 'x' }] }, 400, 'invalid_body');
  });

  test('every table is still there, with its rows', async () => {
    const { rows } = await api.store.db.query<{ records: number; connections: number }>(
      'SELECT (SELECT count(*)::int FROM records) AS records, (SELECT count(*)::int FROM connections) AS connections',
    );
    expect(rows[0]).toEqual({ records: 3, connections: 2 });
  });

  test('ids with URL-special characters round-trip through the path', async () => {
    const odd = 'a/b?c=d#e%20f g';
    await addConnection(api.dev, 'github', odd);
    await expect(api.dev.getConnection('github', odd)).resolves.toMatchObject({ connection_id: odd });
    await api.dev.deleteConnection('github', odd);
    expect((await api.dev.listConnections(odd)).connections).toEqual([]);
  });
});
