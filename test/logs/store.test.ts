import { LogCollector, safeUrl } from '../../src/runtime/logs';
import type { Store } from '../../src/store';
import { MAX_LOG_ENTRY_BYTES, writeLogs, type ExecutionEnd, type ExecutionRef } from '../../src/store/logs';
import { testStore } from '../helpers/db';

let store: Store & { drop(): Promise<void> };
let env: number;
let other: number;

beforeAll(async () => {
  store = await testStore();
  await store.environments.ensureDefaults();
  env = (await store.environments.byName('dev'))!.id;
  other = (await store.environments.byName('prod'))!.id;
});
afterAll(() => store?.drop());

const ref = (jobId: string, extra: Partial<ExecutionRef> = {}): ExecutionRef => ({
  environmentId: env,
  integration: 'github',
  connectionId: 'user-1',
  operation: 'sync',
  script: 'issues',
  jobId,
  ...extra,
});
const line = (level: string, message: string, at = new Date().toISOString()) => ({ level, message, createdAt: at });

describe('LogStore', () => {
  beforeAll(async () => {
    await writeLogs(store.db, ref('1'), [line('info', 'one'), line('warn', 'two'), { ...line('info', 'GET x 200'), http: { method: 'GET', url: 'https://x/', status: 200, durationMs: 3 } }]);
    await writeLogs(store.db, ref('2', { connectionId: 'user-2' }), [line('error', 'three', '2020-01-01T00:00:00.000Z'), line('debug', 'four')]);
    await writeLogs(store.db, ref('a-1', { operation: 'action', script: 'create-issue' }), [line('info', 'five'), { not: 'an entry' }, line('loud', 'bad level')]);
    await writeLogs(store.db, ref('9', { environmentId: other }), [line('info', 'prod only')]);
  });

  test('lines keep their order, kind and details; entries that are not log lines are skipped', async () => {
    const { logs, nextCursor } = await store.logs.list(env, { jobId: '1', order: 'asc', limit: 10 });
    expect(logs.map((l) => [l.kind, l.level, l.message])).toEqual([
      ['log', 'info', 'one'],
      ['log', 'warn', 'two'],
      ['http', 'info', 'GET x 200'],
    ]);
    expect(logs[2]!.http).toEqual({ method: 'GET', url: 'https://x/', status: 200, durationMs: 3 });
    expect(nextCursor).toBeNull();
    expect((await store.logs.list(env, { jobId: 'a-1', limit: 10 })).logs.map((l) => l.message)).toEqual(['five']);
  });

  test('filters combine; another environment sees nothing of these', async () => {
    const messages = async (q: Parameters<Store['logs']['list']>[1]) => (await store.logs.list(env, q)).logs.map((l) => l.message);
    expect(await messages({ connectionId: 'user-2', limit: 10 })).toEqual(['four', 'three']);
    expect(await messages({ levels: ['error', 'warn'], limit: 10 })).toEqual(['three', 'two']);
    expect(await messages({ operations: ['action'], script: 'create-issue', limit: 10 })).toEqual(['five']);
    expect(await messages({ kinds: ['http'], limit: 10 })).toEqual(['GET x 200']);
    expect(await messages({ to: new Date('2021-01-01'), limit: 10 })).toEqual(['three']);
    expect(await messages({ from: new Date('2021-01-01'), connectionId: 'user-2', limit: 10 })).toEqual(['four']);
    expect((await store.logs.list(other, { limit: 10 })).logs.map((l) => l.message)).toEqual(['prod only']);
  });

  test('cursor paging walks every line once, in both orders; a foreign cursor is a 400', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const all = (await store.logs.list(env, { order, limit: 100 })).logs.map((l) => l.id);
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.logs.list(env, { order, limit: 2, cursor });
        seen.push(...page.logs.map((l) => l.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(all);
      expect(all).toHaveLength(6);
    }
    await expect(store.logs.list(env, { limit: 2, cursor: 'bm9wZQ' })).rejects.toMatchObject({ kind: 'invalid', code: 'invalid_cursor' });
  });

  test('prune deletes lines older than the retention, in batches', async () => {
    await writeLogs(store.db, ref('old'), [line('info', 'old 1', '2001-01-01T00:00:00Z'), line('info', 'old 2', '2001-01-02T00:00:00Z'), line('info', 'old 3', '2001-01-03T00:00:00Z')]);
    expect(await store.logs.prune(15, 2)).toBe(4); // three old ones and 'three' (2020)
    expect((await store.logs.list(env, { jobId: 'old', limit: 10 })).logs).toEqual([]);
    expect((await store.logs.list(env, { jobId: '1', limit: 10 })).logs).toHaveLength(3);
  });

  describe('outcome lines (formatted by the database)', () => {
    const end = (jobId: string, extra: Partial<ExecutionEnd>): ExecutionEnd => ({
      ...ref(jobId),
      environment: 'dev',
      success: true,
      startedAt: new Date('2026-01-01T00:00:00.000Z'),
      finishedAt: new Date('2026-01-01T00:00:01.234Z'),
      counts: {},
      error: null,
      ...extra,
    });
    const lines = async (jobId: string) => (await store.logs.list(env, { jobId, order: 'asc', limit: 10 })).logs.map((l) => [l.kind, l.level, l.message]);

    test('a success lists what each model wrote; a failure its error; an action no counts', async () => {
      const counts = { Issue: { added: 3, updated: 1, deleted: 0 }, PR: { added: 0, updated: 0, deleted: 2 } };
      await store.logs.recordEnd(end('o-1', { counts }), [line('info', 'working')]);
      await store.logs.recordEnd(end('o-2', { success: false, error: { type: 'script_error', message: 'boom' } }), []);
      await store.logs.recordEnd(end('o-3', { operation: 'action', script: 'create-issue' }), []);
      expect(await lines('o-1')).toEqual([
        ['log', 'info', 'working'],
        ['outcome', 'info', 'Sync "issues" succeeded in 1.23 s (PR: 0 added, 0 updated, 2 deleted; Issue: 3 added, 1 updated, 0 deleted)'],
      ]);
      expect(await lines('o-2')).toEqual([['outcome', 'error', 'Sync "issues" failed after 1.23 s: script_error: boom (no changes)']]);
      expect(await lines('o-3')).toEqual([['outcome', 'info', 'Action "create-issue" succeeded in 1.23 s']]);
    });

    test('a line longer than the limit is cut at a character boundary and marked', async () => {
      // 3-byte characters: the cut falls inside one unless it is made at a character boundary.
      await store.logs.recordEnd(end('o-4', { success: false, error: { type: 'script_error', message: '€'.repeat(MAX_LOG_ENTRY_BYTES) } }), []);
      const [[, , message]] = (await lines('o-4')) as [[string, string, string]];
      expect(message).toMatch(/^Sync "issues" failed after 1\.23 s: script_error: €+… \[truncated\]$/);
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_LOG_ENTRY_BYTES);
      expect(Buffer.byteLength(message)).toBeGreaterThan(MAX_LOG_ENTRY_BYTES - 4);
    });
  });
});

describe('HTTP call entries', () => {
  test('URLs lose user info, credential parameters and known secrets', () => {
    expect(safeUrl('https://u:p@api.example.com/x?api_key=abc&page=2&q=a%20b#frag')).toBe('https://api.example.com/x?api_key=[redacted]&page=2&q=a%20b');
    expect(safeUrl('https://api.example.com/x?access_token=t&hapikey=h&client_secret=s&sig=1&limit=5', ['hapikey'])).toBe(
      'https://api.example.com/x?access_token=[redacted]&hapikey=[redacted]&client_secret=[redacted]&sig=[redacted]&limit=5',
    );
    expect(safeUrl('not a url?key=1')).toBe('not a url?[redacted]');
  });

  test('with a sink, entries are stored about once a second as they come, and finish() returns only the rest', async () => {
    const stored: string[][] = [];
    let failNext = false;
    const logs = new LogCollector('debug', async (entries) => {
      if (failNext) throw new Error('database away');
      stored.push(entries.map((e) => e.message));
    });
    logs.add('info', 'one');
    logs.add('debug', 'two');
    await new Promise((r) => setTimeout(r, 1300));
    expect(stored).toEqual([['one', 'two']]);
    failNext = true;
    logs.add('info', 'three');
    await new Promise((r) => setTimeout(r, 1300));
    logs.add('warn', 'four');
    // 'three' could not be stored: the end hands it over with 'four', which was never sent.
    expect((await logs.finish()).map((e) => e.message)).toEqual(['three', 'four']);
    expect(stored).toEqual([['one', 'two']]);
  });

  test('the collector records method, clean URL, status and duration; failures are errors', async () => {
    const logs = new LogCollector();
    logs.addSecrets(['s3cr3t/with+chars']);
    logs.http({ method: 'GET', url: `https://api.example.com/bots/s3cr3t/with+chars/me?q=${encodeURIComponent('s3cr3t/with+chars')}&x=1`, status: 200, durationMs: 12 });
    logs.http({ method: 'POST', url: 'https://api.example.com/y?key=k', status: null, durationMs: 5, error: 'ECONNRESET' }, []);
    const [ok, failed] = await logs.finish();
    expect(ok).toMatchObject({ level: 'info', message: 'GET https://api.example.com/bots/[redacted]/me?q=[redacted]&x=1 200 (12 ms)' });
    expect(ok!.http).toEqual({ method: 'GET', url: 'https://api.example.com/bots/[redacted]/me?q=[redacted]&x=1', status: 200, durationMs: 12 });
    expect(failed).toMatchObject({ level: 'error', message: 'POST https://api.example.com/y?key=[redacted] failed (ECONNRESET) (5 ms)' });
  });
});
