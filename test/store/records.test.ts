import { SynclineError } from '../../src/errors';
import type { Store } from '../../src/store';
import { MAX_PAGE_BYTES, RECORDS_CHUNK, type ListRecordsQuery } from '../../src/store/records';
import type { SyncRecord } from '../../src/types';
import { onPostgres, testStore } from '../helpers/db';

let store: Store & { drop(): Promise<void> };
/** Two connections of one integration: `conn` for most tests, `other` to check isolation. */
let conn: number;
let other: number;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  const env = (await store.environments.byName('dev'))!;
  await store.integrations.create(env.id, { uniqueKey: 'github', provider: 'github' });
  const connect = async (connectionId: string) =>
    (await store.connections.upsert(env.id, 'github', { connectionId, credentials: { type: 'API_KEY', apiKey: 'k' } })).connection.id;
  conn = await connect('first');
  other = await connect('second');
});

afterAll(() => store.drop());

/** Each test writes its own model, so tests share one database without seeing each other. */
let models = 0;
const freshModel = () => `Model${++models}`;

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every page of a model, in the order served, following `next_cursor`. */
async function listAll(connection: number, query: ListRecordsQuery): Promise<SyncRecord[]> {
  const all: SyncRecord[] = [];
  let cursor = query.cursor;
  do {
    const page = await store.records.list(connection, { ...query, cursor });
    all.push(...page.records);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

async function one(connection: number, model: string, id: string | number): Promise<SyncRecord | undefined> {
  const { records } = await store.records.list(connection, { model, ids: [String(id)] });
  return records[0];
}

/** The record as written: served records minus their metadata. */
const payload = ({ _nango_metadata: _ignored, ...data }: SyncRecord) => data;
const ids = (records: SyncRecord[]) => records.map((r) => r.id);

async function expectInvalid(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toThrow(SynclineError);
  await expect(promise).rejects.toMatchObject({ kind: 'invalid', code });
}

describe('upsert', () => {
  test('counts added and updated records and leaves unchanged ones alone', async () => {
    const model = freshModel();
    expect(await store.records.upsert(conn, model, [{ id: 'a', n: 1 }, { id: 'b', n: 1 }, { id: 'c', n: 1 }])).toEqual({ added: 3, updated: 0, deleted: 0 });
    const counts = await store.records.upsert(conn, model, [{ id: 'a', n: 1 }, { id: 'b', n: 2 }, { id: 'd', n: 1 }]);
    expect(counts).toEqual({ added: 1, updated: 1, deleted: 0 });

    const records = await listAll(conn, { model });
    expect(records.map((r) => [r.id, r.n, r._nango_metadata.last_action])).toEqual(
      expect.arrayContaining([['a', 1, 'ADDED'], ['b', 2, 'UPDATED'], ['c', 1, 'ADDED'], ['d', 1, 'ADDED']]),
    );
    expect(records).toHaveLength(4);
    const b = records.find((r) => r.id === 'b')!._nango_metadata;
    expect(b.last_modified_at > b.first_seen_at).toBe(true);
  });

  test('re-saving identical records, even with keys in another order or as served, rewrites nothing', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 'a', title: 't', nested: { p: 1, q: [1, 2] } }, { id: 'b', title: 'u' }]);
    const before = await listAll(conn, { model });

    await sleep(5);
    const reordered = { nested: { q: [1, 2], p: 1 }, title: 't', id: 'a' };
    expect(await store.records.upsert(conn, model, [reordered])).toEqual({ added: 0, updated: 0, deleted: 0 });
    // Records read back carry _nango_metadata; saving them again is still no change.
    expect(await store.records.upsert(conn, model, before)).toEqual({ added: 0, updated: 0, deleted: 0 });

    expect(await listAll(conn, { model })).toEqual(before);
  });

  test('duplicate ids in one batch: the last one wins', async () => {
    const model = freshModel();
    const counts = await store.records.upsert(conn, model, [{ id: 1, v: 'first' }, { id: 2, v: 'only' }, { id: 1, v: 'last' }]);
    expect(counts).toEqual({ added: 2, updated: 0, deleted: 0 });
    expect((await one(conn, model, 1))!.v).toBe('last');
  });

  test('numeric and string ids are one key space and keep their type when served', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 7, kind: 'number' }, { id: 'x', kind: 'string' }, { id: 0, kind: 'zero' }]);
    expect((await one(conn, model, 7))!.id).toBe(7);
    expect((await one(conn, model, 'x'))!.id).toBe('x');
    expect((await one(conn, model, 0))!.id).toBe(0);

    // "7" is the same record as 7: it replaces it rather than adding a second one.
    expect(await store.records.upsert(conn, model, [{ id: '7', kind: 'number' }])).toEqual({ added: 0, updated: 1, deleted: 0 });
    expect((await one(conn, model, 7))!.id).toBe('7');
    expect(await listAll(conn, { model })).toHaveLength(3);
  });

  test.each([
    ['no id', { title: 'x' }],
    ['an empty id', { id: '' }],
    ['a null id', { id: null }],
    ['an object id', { id: { nested: 1 } }],
    ['an id longer than 255 characters', { id: 'x'.repeat(256) }],
    ['not an object', 'just a string'],
    ['an array', [1, 2]],
    ['null', null],
  ])('a batch with a record with %s is rejected and nothing is written', async (_name, bad) => {
    const model = freshModel();
    // The bad record sits in the second chunk, so a first chunk written early would show.
    const batch = [...range(RECORDS_CHUNK + 5).map((i) => ({ id: i })), bad];
    await expectInvalid(store.records.upsert(conn, model, batch), 'invalid_record');
    await expectInvalid(store.records.update(conn, model, batch), 'invalid_record');
    await expectInvalid(store.records.delete(conn, model, batch), 'invalid_record');
    expect((await store.records.list(conn, { model })).records).toEqual([]);
  });

  test('an id of exactly 255 characters is accepted', async () => {
    const model = freshModel();
    expect(await store.records.upsert(conn, model, [{ id: 'x'.repeat(255) }])).toEqual({ added: 1, updated: 0, deleted: 0 });
  });

  test('more than one chunk of records in one call is written and counted in full', async () => {
    const model = freshModel();
    const total = 2 * RECORDS_CHUNK + 500;
    const records = range(total).map((i) => ({ id: `r${i}`, v: 0 }));
    expect(await store.records.upsert(conn, model, records)).toEqual({ added: total, updated: 0, deleted: 0 });

    const changed = records.map((r, i) => (i % 2 === 0 ? { ...r, v: 1 } : r));
    const fresh = range(1500).map((i) => ({ id: `new${i}`, v: 0 }));
    expect(await store.records.upsert(conn, model, [...changed, ...fresh])).toEqual({ added: 1500, updated: total / 2, deleted: 0 });
    expect((await store.records.countByModel(conn))[model]).toBe(total + 1500);

    const listed = await listAll(conn, { model, limit: 10_000 });
    expect(new Set(ids(listed)).size).toBe(total + 1500);
    expect(listed.filter((r) => r.v === 1)).toHaveLength(total / 2);
  });

  test('strings that look like SQL are stored verbatim', async () => {
    const model = `Weird'; DROP TABLE records; --::variant`;
    const hostile = {
      id: `1'); DELETE FROM records; --`,
      quote: `it's "quoted" \\ back\\slash`,
      placeholder: '$1 $2::jsonb',
      comment: '/* not a comment */ -- nor this',
      unicode: 'héllo 世界 🎉 \u2028',
      json: '{"looks":"like json"}',
      nested: { "key'with\"quotes": ['a', "b'c", null, 1.5, true] },
    };
    await store.records.upsert(conn, model, [hostile]);
    const [served] = await listAll(conn, { model });
    expect(payload(served!)).toEqual(hostile);
    expect(await store.records.countByModel(conn)).toMatchObject({ [model]: 1 });
  });
});

describe('text jsonb cannot hold', () => {
  test('NUL characters are dropped and lone surrogates become U+FFFD, instead of failing the batch', async () => {
    const model = freshModel();
    const counts = await store.records.upsert(conn, model, [
      { id: 1, note: 'a\u0000b', nested: { list: ['\ud800x', 'ok \u{1F600}'] } },
      { id: 2, note: 'clean' },
    ]);
    expect(counts).toEqual({ added: 2, updated: 0, deleted: 0 });
    expect(payload((await one(conn, model, 1))!)).toEqual({ id: 1, note: 'ab', nested: { list: ['\ufffdx', 'ok \u{1F600}'] } });
    expect(payload((await one(conn, model, 2))!)).toEqual({ id: 2, note: 'clean' });
  });

  test('ids and object keys get the same cleaning as values: stored, found, updated and deleted under the cleaned id', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 'a\u0000b', ['k\u0000ey']: 'v', ['\udc00']: 1 }]);
    expect(payload((await one(conn, model, 'ab'))!)).toEqual({ id: 'ab', key: 'v', '\ufffd': 1 });
    expect(await store.records.update(conn, model, [{ id: 'ab\u0000', more: true }])).toEqual({ added: 0, updated: 1, deleted: 0 });
    expect(payload((await one(conn, model, 'ab'))!)).toMatchObject({ id: 'ab', more: true });
    expect(await store.records.delete(conn, model, [{ id: '\u0000ab' }])).toEqual({ added: 0, updated: 0, deleted: 1 });
  });

  test('an id that is nothing but NUL characters is empty once cleaned: the batch is refused', async () => {
    await expectInvalid(store.records.upsert(conn, freshModel(), [{ id: '\u0000\u0000' }]), 'invalid_record');
  });
});

describe('update', () => {
  test('shallow-merges partial records into existing ones', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1, b: { x: 1 } }, { id: 2, a: 2 }]);
    const counts = await store.records.update(conn, model, [{ id: 1, b: { y: 2 } }, { id: 1, c: 3 }, { id: 'unknown', a: 9 }]);
    expect(counts).toEqual({ added: 0, updated: 1, deleted: 0 });

    const merged = (await one(conn, model, 1))!;
    expect(payload(merged)).toEqual({ id: 1, a: 1, b: { y: 2 }, c: 3 });
    expect(merged._nango_metadata.last_action).toBe('UPDATED');
    expect(payload((await one(conn, model, 2))!)).toEqual({ id: 2, a: 2 });
    expect(await one(conn, model, 'unknown')).toBeUndefined();
  });

  test('a merge that changes nothing does not count or move the record', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1, b: 2 }]);
    const before = await one(conn, model, 1);
    expect(await store.records.update(conn, model, [{ id: 1, b: 2 }])).toEqual({ added: 0, updated: 0, deleted: 0 });
    expect(await one(conn, model, 1)).toEqual(before);
  });

  test('a merged record counts as unchanged when upserted again with its merged content', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1 }]);
    await store.records.update(conn, model, [{ id: 1, b: 2 }]);
    expect(await store.records.upsert(conn, model, [{ b: 2, a: 1, id: 1 }])).toEqual({ added: 0, updated: 0, deleted: 0 });
  });

  test('deleted records are not merged into', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1 }]);
    await store.records.delete(conn, model, [{ id: 1 }]);
    expect(await store.records.update(conn, model, [{ id: 1, a: 2 }])).toEqual({ added: 0, updated: 0, deleted: 0 });
    expect((await one(conn, model, 1))!).toMatchObject({ a: 1, _nango_metadata: { last_action: 'DELETED' } });
  });
});

describe('delete', () => {
  test('soft-deletes: the record stays listed as DELETED with its payload and deleted_at', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1 }, { id: 2, a: 2 }, { id: 3, a: 3 }]);
    expect(await store.records.delete(conn, model, [{ id: 1 }, { id: '1' }, { id: 'missing' }])).toEqual({ added: 0, updated: 0, deleted: 1 });
    expect(await store.records.delete(conn, model, [{ id: 1 }])).toEqual({ added: 0, updated: 0, deleted: 0 });

    const deleted = (await one(conn, model, 1))!;
    expect(deleted).toMatchObject({ id: 1, a: 1, _nango_metadata: { last_action: 'DELETED' } });
    expect(deleted._nango_metadata.deleted_at).toBe(deleted._nango_metadata.last_modified_at);
    expect(await listAll(conn, { model })).toHaveLength(3);
    expect(ids(await listAll(conn, { model, filter: ['DELETED'] }))).toEqual([1]);
    expect((await store.records.countByModel(conn))[model]).toBe(2);
    // The deletion moved the record to the end of cursor order, so incremental readers see it.
    expect(ids(await listAll(conn, { model })).at(-1)).toBe(1);
  });

  test('re-saving a deleted record revives it as ADDED', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, a: 1 }]);
    const original = (await one(conn, model, 1))!;
    await store.records.delete(conn, model, [{ id: 1 }]);

    expect(await store.records.upsert(conn, model, [{ id: 1, a: 1 }])).toEqual({ added: 1, updated: 0, deleted: 0 });
    const revived = (await one(conn, model, 1))!;
    expect(revived._nango_metadata).toMatchObject({ last_action: 'ADDED', deleted_at: null });
    expect(revived._nango_metadata.first_seen_at > original._nango_metadata.first_seen_at).toBe(true);
    expect((await store.records.countByModel(conn))[model]).toBe(1);
  });
});

describe('list', () => {
  test('pages through every record once, in cursor order, over several pages', async () => {
    const model = freshModel();
    // Several writes, so the order spans timestamps as well as ids.
    for (const from of [0, 8, 16]) {
      await store.records.upsert(conn, model, range(8, from).map((i) => ({ id: `r${String(i).padStart(2, '0')}`, i })));
    }
    await store.records.upsert(conn, model, [{ id: 'r03', i: 3, changed: true }]);

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await store.records.list(conn, { model, limit: 7, cursor });
      pages.push(page);
      if (page.next_cursor) expect(page.next_cursor).toBe(page.records.at(-1)!._nango_metadata.cursor);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);

    expect(pages.map((p) => p.records.length)).toEqual([7, 7, 7, 3]);
    const served = pages.flatMap((p) => p.records);
    const order = served.map((r) => [r._nango_metadata.last_modified_at, String(r.id)] as const);
    const sorted = [...order].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
    expect(order).toEqual(sorted);
    expect(new Set(ids(served)).size).toBe(24);
    expect(served.at(-1)!.id).toBe('r03');

    // A record's own cursor resumes right after it.
    const resumed = await store.records.list(conn, { model, limit: 100, cursor: served[9]!._nango_metadata.cursor });
    expect(ids(resumed.records)).toEqual(ids(served.slice(10)));
  });

  test('a page ends at MAX_PAGE_BYTES of JSON whatever its limit, its next_cursor continuing; sizes written before they were kept count too', async () => {
    const model = freshModel();
    // 10 records of 4 MB each (Postgres compresses them to almost nothing): 40 MB over a 16 MB page.
    const big = (i: number) => ({ id: `b${i}`, body: String(i).padEnd(4 * 1024 * 1024, 'x') });
    for (const from of [0, 5]) await store.records.upsert(conn, model, range(5, from).map(big));
    expect(MAX_PAGE_BYTES).toBe(16 * 1024 * 1024);
    const sizes = async () => {
      const pages: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.records.list(conn, { model, limit: 10_000, cursor });
        pages.push(page.records.length);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return pages;
    };
    // Each page takes records while those before hold under 16 MB: 4 of them (the 4th starts at 12 MB).
    expect(await sizes()).toEqual([4, 4, 2]);
    expect(ids(await listAll(conn, { model, limit: 10_000 }))).toEqual(range(10).map((i) => `b${i}`));
    // By ids, as getRecordsByIds reads them.
    const byIds = await store.records.list(conn, { model, ids: range(10).map((i) => `b${i}`), limit: 100 });
    expect(byIds.records).toHaveLength(4);
    expect(byIds.next_cursor).toBe(byIds.records.at(-1)!._nango_metadata.cursor);
    // Rows from before sizes were written (data_bytes NULL) are measured when read.
    await store.db.query('UPDATE records SET data_bytes = NULL WHERE connection_id = $1 AND model = $2', [conn, model]);
    expect(await sizes()).toEqual([4, 4, 2]);
    // Small records fill their limit as before; an update and a prune keep the sizes true.
    await store.records.update(conn, model, range(10).map((i) => ({ id: `b${i}`, body: 'small' })));
    expect(await sizes()).toEqual([10]);
    await store.records.upsert(conn, model, range(10).map(big));
    expect((await store.records.prune(conn, model, (await listAll(conn, { model })).at(-1)!._nango_metadata.cursor, 100)).count).toBe(10);
    expect(await sizes()).toEqual([10]);
  });

  test('next_cursor is null when the last page is exactly full', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, range(10).map((i) => ({ id: i })));
    const first = await store.records.list(conn, { model, limit: 5 });
    const second = await store.records.list(conn, { model, limit: 5, cursor: first.next_cursor! });
    expect(second.records).toHaveLength(5);
    expect(second.next_cursor).toBeNull();
    expect(await store.records.list(conn, { model, limit: 10 })).toMatchObject({ next_cursor: null });
  });

  test('readers paging while writers insert, update and delete see every record at its latest version', async () => {
    const model = freshModel();
    const [initial, writers, rounds] = [60, 3, 20];
    await store.records.upsert(conn, model, range(initial).map((i) => ({ id: i, v: 'initial' })));

    // Deterministic pseudo-random ids, so a failure can be replayed.
    let seed = 42;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let writing = true;
    const writer = async (w: number) => {
      for (let round = 0; round < rounds; round++) {
        const version = `w${w}r${round}`;
        const changed = range(2).map(() => ({ id: random(initial), v: version }));
        const added = range(2).map((k) => ({ id: `${random(1000)}-${version}k${k}`, v: version }));
        await store.records.upsert(conn, model, [...changed, ...added]);
        if (round % 4 === 3) await store.records.delete(conn, model, [{ id: random(initial) }]);
        else await store.records.update(conn, model, [{ id: random(initial), merged: version }]);
      }
    };

    // One reader pages in small steps and trails the writers; the other mostly sits at the head.
    const reader = async (limit: number) => {
      const seen = new Map<string, SyncRecord>();
      let pagesWhileWriting = 0;
      let cursor: string | undefined;
      for (;;) {
        const finished = !writing;
        const page = await store.records.list(conn, { model, limit, cursor });
        if (!finished) pagesWhileWriting++;
        for (const record of page.records) seen.set(String(record.id), record);
        // Resume from the last record received, as a client persisting its cursor would.
        cursor = page.records.at(-1)?._nango_metadata.cursor ?? cursor;
        // Caught up while writers run: read again at once. (No timer: on PGlite every query settles
        // as a microtask, so a timer would not fire before the writers finish.)
        if (page.next_cursor === null && finished) return { seen, pagesWhileWriting };
      }
    };

    const [, ...readers] = await Promise.all([
      Promise.all(range(writers).map(writer)).then(() => {
        writing = false;
      }),
      reader(3),
      reader(25),
    ]);

    const final = await listAll(conn, { model, limit: 10_000 });
    expect(final.length).toBe(initial + writers * rounds * 2);
    for (const { seen, pagesWhileWriting } of readers) {
      expect(pagesWhileWriting).toBeGreaterThan(5);
      const stale = final.filter((record) => JSON.stringify(seen.get(String(record.id))) !== JSON.stringify(record));
      expect(stale).toEqual([]);
    }
  });

  test('writes after the clock stepped back still sort after every record a reader has seen', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 'b' }]);
    // As if 'b' had been written before the database clock stepped back an hour (or in the same
    // tick as the next write, on PGlite's millisecond clock).
    await store.db.query(`UPDATE records SET last_modified_at = last_modified_at + interval '1 hour' WHERE connection_id = $1 AND model = $2`, [
      conn,
      model,
    ]);
    const head = await store.records.list(conn, { model });
    expect(ids(head.records)).toEqual(['b']);

    await store.records.upsert(conn, model, [{ id: 'a' }]);
    await store.records.update(conn, model, [{ id: 'b', v: 2 }]);
    await store.records.delete(conn, model, [{ id: 'a' }]);
    const next = await store.records.list(conn, { model, cursor: head.records[0]!._nango_metadata.cursor });
    expect(next.records.map((r) => [r.id, r._nango_metadata.last_action])).toEqual([
      ['b', 'UPDATED'],
      ['a', 'DELETED'],
    ]);
  });

  test('modifiedAfter keeps records modified at or after the instant', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 'old' }]);
    await sleep(5);
    await store.records.upsert(conn, model, [{ id: 'new' }]);
    const stamp = (await one(conn, model, 'new'))!._nango_metadata.last_modified_at;

    expect(ids(await listAll(conn, { model, modifiedAfter: new Date(stamp) }))).toEqual(['new']);
    expect(ids(await listAll(conn, { model, modifiedAfter: new Date(Date.parse(stamp) - 60_000) }))).toEqual(['old', 'new']);
    expect(await listAll(conn, { model, modifiedAfter: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  test('filter by one action or a pair of actions', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 'added' }, { id: 'updated' }, { id: 'deleted' }]);
    await store.records.upsert(conn, model, [{ id: 'updated', v: 2 }]);
    await store.records.delete(conn, model, [{ id: 'deleted' }]);

    const sortedIds = async (filter: ListRecordsQuery['filter']) => ids(await listAll(conn, { model, filter })).sort();
    expect(await sortedIds(['ADDED'])).toEqual(['added']);
    expect(await sortedIds(['UPDATED'])).toEqual(['updated']);
    expect(await sortedIds(['DELETED'])).toEqual(['deleted']);
    expect(await sortedIds(['ADDED', 'DELETED'])).toEqual(['added', 'deleted']);
    expect(await sortedIds(['UPDATED', 'ADDED'])).toEqual(['added', 'updated']);
    expect(await sortedIds([])).toEqual(['added', 'deleted', 'updated']);
  });

  test('limit defaults to 100 and must be an integer from 1 to 10000', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, range(150).map((i) => ({ id: i })));
    expect((await store.records.list(conn, { model })).records).toHaveLength(100);
    expect((await store.records.list(conn, { model, limit: 1 })).records).toHaveLength(1);
    expect(await store.records.list(conn, { model, limit: 10_000 })).toMatchObject({ next_cursor: null });
    for (const limit of [0, -1, 10_001, 1.5, Number.NaN]) {
      await expectInvalid(store.records.list(conn, { model, limit }), 'invalid_limit');
    }
  });

  test('ids selects records by id, string or numeric, and combines with paging', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [...range(10).map((i) => ({ id: i })), { id: 'text' }]);
    const wanted = ['1', '3', 'text', '5', 'absent'];
    expect(ids(await listAll(conn, { model, ids: wanted })).sort()).toEqual([1, 3, 5, 'text'].sort());
    const first = await store.records.list(conn, { model, ids: wanted, limit: 2 });
    expect(first.records).toHaveLength(2);
    expect(ids(await listAll(conn, { model, ids: wanted, limit: 2 }))).toHaveLength(4);
  });

  test.each([
    ['garbage', 'not a cursor!!'],
    ['empty', ''],
    ['base64 without a separator', Buffer.from('2024-01-01T00:00:00.000000Z').toString('base64')],
    ['base64 of text', Buffer.from('hello||world').toString('base64')],
    ['a date in another format', Buffer.from('2024/01/01 00:00||1').toString('base64')],
    ['an impossible date', Buffer.from('2024-02-30T00:00:00.000000Z||1').toString('base64')],
    ['an impossible hour', Buffer.from('2024-01-01T25:00:00Z||1').toString('base64')],
  ])('an invalid cursor (%s) is rejected with invalid_cursor', async (_name, cursor) => {
    const model = freshModel();
    await expectInvalid(store.records.list(conn, { model, cursor }), 'invalid_cursor');
    await expectInvalid(store.records.prune(conn, model, cursor), 'invalid_cursor');
  });
});

describe('prune', () => {
  test('empties payloads up to the cursor in batches, keeping metadata, and a later sync restores them', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, range(5).map((i) => ({ id: `a${i}`, big: 'x'.repeat(100) })));
    await store.records.upsert(conn, model, range(5).map((i) => ({ id: `b${i}`, big: 'y'.repeat(100) })));
    const before = await listAll(conn, { model });
    const until = before[6]!._nango_metadata.cursor;

    expect(await store.records.prune(conn, model, until, 3)).toEqual({ count: 3, has_more: true });
    expect(await store.records.prune(conn, model, until, 3)).toEqual({ count: 3, has_more: true });
    expect(await store.records.prune(conn, model, until, 3)).toEqual({ count: 1, has_more: false });
    expect(await store.records.prune(conn, model, until, 3)).toEqual({ count: 0, has_more: false });

    const after = await listAll(conn, { model });
    expect(ids(after)).toEqual(ids(before));
    after.forEach((record, i) => {
      const was = before[i]!;
      if (i <= 6) {
        expect(record).toEqual({ id: was.id, _nango_metadata: { ...was._nango_metadata, pruned_at: expect.any(String) } });
      } else {
        expect(record).toEqual(was);
      }
    });

    expect(await store.records.upsert(conn, model, [payload(before[0]!)])).toEqual({ added: 0, updated: 1, deleted: 0 });
    const restored = (await one(conn, model, before[0]!.id))!;
    expect(payload(restored)).toEqual(payload(before[0]!));
    expect(restored._nango_metadata.pruned_at).toBeNull();
  });

  test('a pruned record keeps its id with its original type', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 7, title: 'numeric' }, { id: 'x', title: 'text' }]);
    const { records } = await store.records.list(conn, { model });
    await store.records.prune(conn, model, records.at(-1)!._nango_metadata.cursor);
    expect((await listAll(conn, { model })).map(payload)).toEqual([{ id: 7 }, { id: 'x' }]);
  });

  test('with exactly limit records left, has_more is false', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, range(4).map((i) => ({ id: i, v: i })));
    const records = await listAll(conn, { model });
    expect(await store.records.prune(conn, model, records.at(-1)!._nango_metadata.cursor, 4)).toEqual({ count: 4, has_more: false });
  });

  test('rejects limits outside 1 to 10000', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1 }]);
    const cursor = (await one(conn, model, 1))!._nango_metadata.cursor;
    for (const limit of [0, 10_001, 2.5]) await expectInvalid(store.records.prune(conn, model, cursor, limit), 'invalid_limit');
    expect(payload((await one(conn, model, 1))!)).toEqual({ id: 1 });
  });

  // PGlite runs one transaction at a time, so only Postgres can interleave a writer with a prune.

  onPostgres('does not empty a record rewritten after the cursor while the prune was waiting for it', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, v: 'old' }]);
    const until = (await one(conn, model, 1))!._nango_metadata.cursor;

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // A writer holding the row: the prune picks the record as a candidate, then waits on its lock.
    const writer = store.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE records SET data = '{"id":1,"v":"new"}', last_modified_at = clock_timestamp() WHERE connection_id = $1 AND model = $2`,
        [conn, model],
      );
      locked();
      await released;
    });
    await isLocked;
    const prune = store.records.prune(conn, model, until);
    for (let i = 0; i < 200; i++) {
      const { rows } = await store.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pruned AS%'`,
      );
      if (rows[0]!.n > 0) break;
      await sleep(5);
    }
    release();
    await writer;
    await prune;
    expect(payload((await one(conn, model, 1))!)).toEqual({ id: 1, v: 'new' });
  });
});

describe('countByModel', () => {
  test('counts live records per model of one connection', async () => {
    const [a, b] = [freshModel(), freshModel()];
    await store.records.upsert(other, a, range(3).map((i) => ({ id: i })));
    await store.records.upsert(other, b, range(2).map((i) => ({ id: i })));
    await store.records.delete(other, b, [{ id: 0 }]);
    const counts = await store.records.countByModel(other);
    expect(counts).toMatchObject({ [a]: 3, [b]: 1 });
    expect((await store.records.countByModel(conn))[a]).toBeUndefined();
    expect(await store.records.countByModel(-1)).toEqual({});
  });
});

describe('counts for a sync job', () => {
  test("each write adds what it changed to the job's result in its own statements; one that changes nothing leaves it, and a failed one adds nothing", async () => {
    const model = freshModel();
    await store.jobs.ensureSync(conn, 'counted');
    const { job } = (await store.jobs.beginJob({ connectionPk: conn, name: 'counted', variant: 'base' }, `counted-${model}`, false, null))!;
    const result = async () => (await store.jobs.job(job.id))!.result;
    const countsFor = job.id;
    // More than a chunk: the counts of every chunk's statement add up.
    expect(await store.records.upsert(conn, model, range(RECORDS_CHUNK + 2).map((i) => ({ id: i })), { countsFor })).toEqual({ added: RECORDS_CHUNK + 2, updated: 0, deleted: 0 });
    await store.records.upsert(conn, model, [{ id: 0, v: 1 }, { id: 1 }], { countsFor });
    await store.records.update(conn, model, [{ id: 2, v: 2 }], { countsFor });
    await store.records.delete(conn, model, [{ id: 3 }, { id: 'unknown' }], { countsFor });
    expect(await result()).toEqual({ [model]: { added: RECORDS_CHUNK + 2, updated: 2, deleted: 1 } });
    await store.records.upsert(conn, model, [{ id: 1 }], { countsFor });
    await expectInvalid(store.records.upsert(conn, model, [{ id: 'refused', v: 'x' }, { noId: true }], { countsFor }), 'invalid_record');
    const failing = store.records.upsert(conn, model, [{ id: 'rolled-back' }], { countsFor, within: async () => Promise.reject(new Error('the rest of the batch failed')) });
    await expect(failing).rejects.toThrow('the rest of the batch failed');
    expect(await result()).toEqual({ [model]: { added: RECORDS_CHUNK + 2, updated: 2, deleted: 1 } });
    expect(await one(conn, model, 'rolled-back')).toBeUndefined();
  });
});

describe('isolation', () => {
  test('the same model and ids on two connections are separate records', async () => {
    const model = freshModel();
    await store.records.upsert(conn, model, [{ id: 1, owner: 'first' }, { id: 2, owner: 'first' }]);
    expect(await store.records.upsert(other, model, [{ id: 1, owner: 'second' }])).toEqual({ added: 1, updated: 0, deleted: 0 });

    expect(await store.records.delete(other, model, [{ id: 1 }, { id: 2 }])).toEqual({ added: 0, updated: 0, deleted: 1 });
    expect(await store.records.update(other, model, [{ id: 2, owner: 'second' }])).toEqual({ added: 0, updated: 0, deleted: 0 });
    const firstCursor = (await listAll(conn, { model })).at(-1)!._nango_metadata.cursor;
    const otherCursor = (await listAll(other, { model })).at(-1)!._nango_metadata.cursor;
    await store.records.prune(other, model, otherCursor);
    await store.records.prune(other, model, firstCursor);

    expect((await listAll(conn, { model })).map((r) => [r.id, r.owner, r._nango_metadata.last_action, r._nango_metadata.pruned_at])).toEqual([
      [1, 'first', 'ADDED', null],
      [2, 'first', 'ADDED', null],
    ]);
    expect(await listAll(other, { model })).toMatchObject([{ id: 1, _nango_metadata: { last_action: 'DELETED' } }]);
    expect((await listAll(other, { model }))[0]).not.toHaveProperty('owner');
    expect((await store.records.countByModel(conn))[model]).toBe(2);
  });
});
