import type { ListRecordsConfig, NangoRecord } from '../../src/sdk';
import { addConnection, addIntegration, call, expectApiError, expectErrorResponse, startTestApi, writeRecords, type TestApi } from '../helpers/api';

let api: TestApi;

interface Issue extends Record<string, unknown> {
  title: string;
  labels?: string[];
}

beforeAll(async () => {
  api = await startTestApi();
  await addIntegration(api.dev, 'github');
  for (const id of ['reader', 'pager', 'changes', 'pruner', 'variants']) await addConnection(api.dev, 'github', id);
  await writeRecords(api, 'github', 'reader', 'Issue', [
    { id: 'i1', title: 'one', labels: ['bug'] },
    { id: 'i2', title: 'two' },
    { id: 'i3', title: 'three' },
  ]);
});
afterAll(() => api.close());

const on = (connectionId: string, extra: Partial<ListRecordsConfig> = {}): ListRecordsConfig => ({ providerConfigKey: 'github', connectionId, model: 'Issue', ...extra });
const idsOf = (records: Array<{ id: string | number }>) => records.map((r) => r.id);

/** Every record of a connection's model, page by page. */
async function readAll(config: ListRecordsConfig): Promise<NangoRecord[]> {
  const all: NangoRecord[] = [];
  let cursor: string | null = config.cursor ?? null;
  do {
    const page = await api.dev.listRecords({ ...config, cursor });
    all.push(...page.records);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

describe('GET /records', () => {
  test('a page of large records ends at 16 MB of JSON whatever its limit; next_cursor leads to the rest', async () => {
    await addConnection(api.dev, 'github', 'large');
    await writeRecords(api, 'github', 'large', 'Issue', Array.from({ length: 6 }, (_, i) => ({ id: `l${i}`, title: String(i).padEnd(4 * 1024 * 1024, 'x') })));
    const first = await api.dev.listRecords(on('large', { limit: 10_000 }));
    expect(idsOf(first.records)).toEqual(['l0', 'l1', 'l2', 'l3']);
    expect(first.next_cursor).toEqual(expect.any(String));
    expect(idsOf(await readAll(on('large', { limit: 10_000 })))).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5']);
  });

  test('more readers at once than pages read at once: every one answered in full, errors not held back', async () => {
    const reads = Array.from({ length: 30 }, (_, i) => (i % 10 === 9 ? api.dev.listRecords(on('nobody')) : api.dev.listRecords(on('reader'))));
    const results = await Promise.allSettled(reads);
    results.forEach((result, i) => {
      if (i % 10 === 9) expect(result).toMatchObject({ status: 'rejected', reason: { status: 404 } });
      else expect(result.status === 'fulfilled' && idsOf(result.value.records)).toEqual(['i1', 'i2', 'i3']);
    });
  });

  test('returns the payload with id and _nango_metadata, and no next_cursor on the last page', async () => {
    const page = await api.dev.listRecords<Issue>(on('reader'));
    expect(page.next_cursor).toBeNull();
    expect(page.records).toHaveLength(3);
    const first = page.records[0]!;
    expect(first).toEqual({
      id: 'i1',
      title: 'one',
      labels: ['bug'],
      _nango_metadata: {
        first_seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
        last_modified_at: expect.any(String),
        last_action: 'ADDED',
        deleted_at: null,
        pruned_at: null,
        cursor: expect.any(String),
      },
    });
    expect(first.title.toUpperCase()).toBe('ONE'); // typed by the generic
  });

  test('the raw response is {records, next_cursor}', async () => {
    const res = await call(api, 'GET', '/records?model=Issue&limit=1', { headers: { 'Connection-Id': 'reader', 'Provider-Config-Key': 'github' } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['next_cursor', 'records']);
    expect(res.body.next_cursor).toEqual(expect.any(String));
  });

  test('the deprecated getRecords returns the same records as an array', async () => {
    const records = await api.dev.getRecords<Issue>(on('reader'));
    expect(records).toEqual((await api.dev.listRecords(on('reader'))).records);
  });

  test('an unknown model is an empty page', async () => {
    expect(await api.dev.listRecords(on('reader', { model: 'Nope' }))).toEqual({ records: [], next_cursor: null });
  });

  test('ids selects records, also more than 20 of them (repeated ids= query keys)', async () => {
    expect(idsOf((await api.dev.listRecords(on('reader', { ids: ['i3', 'i1', 'missing'] }))).records)).toEqual(['i1', 'i3']);
    const many = ['i2', ...Array.from({ length: 40 }, (_, i) => `absent-${i}`)];
    expect(idsOf((await api.dev.listRecords(on('reader', { ids: many }))).records)).toEqual(['i2']);
  });

  test('headers pick the connection: missing header 400, unknown connection or integration 404', async () => {
    const res = await call(api, 'GET', '/records?model=Issue', { headers: { 'Provider-Config-Key': 'github' } });
    expectErrorResponse(res, 400, 'missing_header');
    expect(res.body.error.message).toContain('Connection-Id');
    await expectApiError(api.dev.listRecords(on('nobody')), 404, 'unknown_connection');
    await expectApiError(api.dev.listRecords({ ...on('reader'), providerConfigKey: 'gitlab' }), 404, 'unknown_provider_config');
  });
});

describe('paging', () => {
  beforeAll(() => writeRecords(api, 'github', 'pager', 'Issue', Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, title: `t${i}` }))));

  test('limit pages through every record exactly once, in order', async () => {
    const first = await api.dev.listRecords(on('pager', { limit: 3 }));
    expect(idsOf(first.records)).toEqual(['p0', 'p1', 'p2']);
    const all = await readAll(on('pager', { limit: 3 }));
    expect(idsOf(all)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  test("a record's own cursor resumes right after it", async () => {
    const { records } = await api.dev.listRecords(on('pager'));
    const rest = await api.dev.listRecords(on('pager', { cursor: records[4]!._nango_metadata.cursor }));
    expect(idsOf(rest.records)).toEqual(['p5', 'p6']);
  });
});

describe('changes since a cursor or an instant', () => {
  let end: string;

  beforeAll(async () => {
    await writeRecords(api, 'github', 'changes', 'Issue', [
      { id: 'a', title: 'a' },
      { id: 'b', title: 'b' },
      { id: 'c', title: 'c' },
    ]);
    const last = (await api.dev.listRecords(on('changes'))).records.at(-1)!;
    end = last._nango_metadata.cursor;
    await writeRecords(api, 'github', 'changes', 'Issue', [
      { id: 'b', title: 'b2' },
      { id: 'd', title: 'd' },
    ]);
    const connection = await api.store.connections.get(api.env.dev, 'github', 'changes');
    await api.store.records.delete(connection.id, 'Issue', [{ id: 'a' }]);
  });

  test('the last cursor of an earlier read returns only what changed since, with its last action', async () => {
    const { records } = await api.dev.listRecords(on('changes', { cursor: end }));
    expect(records.map((r) => [r.id, r._nango_metadata.last_action])).toEqual([
      ['b', 'UPDATED'],
      ['d', 'ADDED'],
      ['a', 'DELETED'],
    ]);
    expect(records[0]!.title).toBe('b2');
    expect(records[2]!._nango_metadata.deleted_at).toEqual(expect.any(String));
  });

  test('modifiedAfter (and the deprecated delta) return records modified at or after the instant', async () => {
    const all = (await api.dev.listRecords(on('changes'))).records;
    const since = all.find((r) => r.id === 'b')!._nango_metadata.last_modified_at;
    expect(idsOf((await api.dev.listRecords(on('changes', { modifiedAfter: since }))).records)).toEqual(['b', 'd', 'a']);
    expect(idsOf((await api.dev.listRecords(on('changes', { delta: since }))).records)).toEqual(['b', 'd', 'a']);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await api.dev.listRecords(on('changes', { modifiedAfter: future }))).records).toEqual([]);
  });

  test('filter takes one action or two, in either case', async () => {
    expect(idsOf((await api.dev.listRecords(on('changes', { filter: 'deleted' }))).records)).toEqual(['a']);
    expect(idsOf((await api.dev.listRecords(on('changes', { filter: 'UPDATED' }))).records)).toEqual(['b']);
    expect(idsOf((await api.dev.listRecords(on('changes', { filter: 'added,updated' }))).records).sort()).toEqual(['b', 'c', 'd']);
  });
});

describe('variants', () => {
  beforeAll(async () => {
    await writeRecords(api, 'github', 'variants', 'Issue', [{ id: 'base-1', title: 'base' }]);
    await writeRecords(api, 'github', 'variants', 'Issue::eu', [{ id: 'eu-1', title: 'eu' }]);
  });

  test('variant reads Model::variant; "base" or none reads the model itself', async () => {
    expect(idsOf((await api.dev.listRecords(on('variants', { variant: 'eu' }))).records)).toEqual(['eu-1']);
    expect(idsOf((await api.dev.listRecords(on('variants', { variant: 'base' }))).records)).toEqual(['base-1']);
    expect(idsOf((await api.dev.listRecords(on('variants'))).records)).toEqual(['base-1']);
  });

  test('pruning a variant leaves the base model alone', async () => {
    const [eu] = (await api.dev.listRecords(on('variants', { variant: 'eu' }))).records;
    const untilCursor = eu!._nango_metadata.cursor;
    const result = await api.dev.pruneRecords({ providerConfigKey: 'github', connectionId: 'variants', model: 'Issue', variant: 'eu', untilCursor });
    expect(result).toEqual({ count: 1, has_more: false });
    expect((await api.dev.listRecords(on('variants'))).records[0]).toMatchObject({ title: 'base', _nango_metadata: { pruned_at: null } });
  });
});

describe('PATCH /records/prune', () => {
  beforeAll(() => writeRecords(api, 'github', 'pruner', 'Issue', Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, title: `t${i}`, body: 'x'.repeat(100) }))));

  test('empties payloads up to the cursor in batches of limit, keeping ids and metadata', async () => {
    const before = (await api.dev.listRecords(on('pruner'))).records;
    const until = before[2]!._nango_metadata.cursor;
    const prune = { providerConfigKey: 'github', connectionId: 'pruner', model: 'Issue', untilCursor: until };

    expect(await api.dev.pruneRecords({ ...prune, limit: 2 })).toEqual({ count: 2, has_more: true });
    expect(await api.dev.pruneRecords({ ...prune, limit: 2 })).toEqual({ count: 1, has_more: false });
    expect(await api.dev.pruneRecords(prune)).toEqual({ count: 0, has_more: false });

    const after = (await api.dev.listRecords(on('pruner'))).records;
    expect(after.slice(0, 3)).toEqual(
      before.slice(0, 3).map((r) => ({ id: r.id, _nango_metadata: { ...r._nango_metadata, pruned_at: expect.any(String) } })),
    );
    expect(after.slice(3)).toEqual(before.slice(3));
  });

  test('a later sync of a pruned record restores its payload', async () => {
    await writeRecords(api, 'github', 'pruner', 'Issue', [{ id: 'r0', title: 't0', body: 'back' }]);
    const r0 = (await api.dev.listRecords(on('pruner', { ids: ['r0'] }))).records[0]!;
    expect(r0).toMatchObject({ title: 't0', body: 'back', _nango_metadata: { pruned_at: null } });
  });

  test('an unknown connection is a 404 and a missing cursor a 400', async () => {
    await expectApiError(api.dev.pruneRecords({ providerConfigKey: 'github', connectionId: 'nobody', model: 'Issue', untilCursor: 'x' }), 404, 'unknown_connection');
    const res = await call(api, 'PATCH', '/records/prune', { json: { model: 'Issue' }, headers: { 'Connection-Id': 'pruner', 'Provider-Config-Key': 'github' } });
    expectErrorResponse(res, 400, 'invalid_body');
  });
});
