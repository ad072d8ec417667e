import type { ModelDefinition } from '../../src/config/nango-yaml';
import { RecordBudget, type RecordLimits } from '../../src/runtime';
import type { ExecutionRequest, RecordSink } from '../../src/runtime/types';
import { harness, issueModel, script, type Harness } from './harness';

// What a sync's records may hold in the host: one call at most maxBatchBytes of JSON (more fails the
// run with batch_too_large), every run of the process together at most the budget (more waits), and
// the writer writes every 8 MB whatever the record count. Scaled down through the limits.

jest.setTimeout(60_000);

const MB = 1024 * 1024;
let h: Harness;
let syncs = 0;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

const memory = (limits: RecordLimits) => ({ limits, budget: new RecordBudget(limits.inFlightBytes) });
const model = (name: string): ModelDefinition => ({ ...issueModel, name });
const sync = (name: string, extra: Partial<ExecutionRequest>): Partial<ExecutionRequest> => ({ kind: 'sync', sync: { name: `sync-${++syncs}`, models: [model(name)] }, ...extra });
/** `count` records of about `kb` KB each, ids from `from`. */
const recordsJs = (from: string, count: number, kb: number) => `Array.from({ length: ${count} }, (_, k) => ({ id: ${from} + k, title: 'x'.repeat(${kb} * 1024) }))`;
const stored = async (name: string) => (await h.store.records.list(h.connectionPk, { model: name, limit: 1000 })).records.length;

test('a call larger than the batch limit fails the run with batch_too_large, even if the script catches it; earlier batches are kept', async () => {
  const result = await h.run(
    script(`
      await nango.batchSave(${recordsJs('0', 3, 100)}, 'TooLarge');
      try { await nango.batchSave(${recordsJs('100', 20, 100)}, 'TooLarge'); } catch (e) { await nango.log('caught ' + e.type); }
      await nango.batchSave(${recordsJs('200', 1, 1)}, 'TooLarge');`),
    sync('TooLarge', { recordMemory: memory({ maxBatchBytes: 1 * MB, inFlightBytes: 4 * MB }) }),
  );
  expect(result.success).toBe(false);
  if (result.success) return;
  expect(result.error.type).toBe('batch_too_large');
  expect(result.error.message).toMatch(/^A batch of \d+ bytes of JSON is larger than the 1048576 bytes one batchSave, batchUpdate or batchDelete call may carry \(SYNCLINE_MAX_BATCH_MB\): save fewer or smaller records per call$/);
  expect(result.logs.map((l) => l.message)).toContain('caught batch_too_large');
  expect(await stored('TooLarge')).toBe(3);
});

test('runs at once share the budget: a batchSave waits for room, nothing is lost, the budget is never exceeded and is given back', async () => {
  const limits = { maxBatchBytes: 1 * MB, inFlightBytes: 1 * MB };
  const shared = memory(limits);
  let maxInUse = 0;
  let waits = 0;
  const slow: RecordSink = {
    upsert: async (c, m, r) => {
      maxInUse = Math.max(maxInUse, shared.budget.inUse);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return h.store.records.upsert(c, m, r);
    },
    update: (c, m, r) => h.store.records.update(c, m, r),
    delete: (c, m, r) => h.store.records.delete(c, m, r),
  };
  const take = shared.budget.take.bind(shared.budget);
  shared.budget.take = (bytes, signal) => {
    if (shared.budget.inUse + bytes > limits.inFlightBytes) waits++;
    return take(bytes, signal);
  };
  // 4 runs × 10 batches of 10 records of 30 KB (300 KB a batch): 12 MB through a 1 MB budget.
  const runs = await Promise.all(
    [0, 1, 2, 3].map((run) =>
      h.run(script(`for (let b = 0; b < 10; b++) await nango.batchSave(${recordsJs(`${run * 1000} + b * 10`, 10, 30)}, 'Shared');`), sync('Shared', { recordMemory: shared, services: { ...h.services, records: slow }, limits: { timeoutMs: 40_000, memoryMb: 96 } })),
    ),
  );
  expect(runs.map((r) => (r.success ? r.counts.Shared?.added : r.error.message))).toEqual([100, 100, 100, 100]);
  expect(await stored('Shared')).toBe(400);
  expect(waits).toBeGreaterThan(0);
  expect(maxInUse).toBeLessThanOrEqual(limits.inFlightBytes);
  expect(shared.budget.inUse).toBe(0);
});

test('a small batch crosses without asking for room when the budget has it: no reservation waits, the room is given back', async () => {
  const shared = memory({ maxBatchBytes: 1 * MB, inFlightBytes: 1 * MB });
  let asked = 0;
  const take = shared.budget.take.bind(shared.budget);
  shared.budget.take = (bytes, signal) => (asked++, take(bytes, signal));
  const result = await h.run(script(`for (let b = 0; b < 5; b++) await nango.batchSave(${recordsJs('b * 10', 10, 1)}, 'Small');`), sync('Small', { recordMemory: shared }));
  expect(result.success ? result.counts.Small?.added : result.error).toBe(50);
  expect(asked).toBe(0);
  expect(shared.budget.inUse).toBe(0);
});

test('a small batch waits for room when the budget is taken, and what the script did after it (the end included) waits behind it', async () => {
  const capacity = 64 * 1024;
  const shared = memory({ maxBatchBytes: 1 * MB, inFlightBytes: capacity });
  await shared.budget.take(capacity); // all of it, held by other runs
  // A batch the script does not wait for, then its end (sent right after it).
  const running = h.run(script(`nango.batchSave(${recordsJs('0', 4, 1)}, 'Behind');`), sync('Behind', { recordMemory: shared }));
  let ended = false;
  void running.then(() => (ended = true));
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(ended).toBe(false);
  expect(shared.budget.inUse).toBe(capacity);
  shared.budget.give(capacity);
  const result = await running;
  expect(result.success ? result.counts.Behind?.added : result.error).toBe(4);
  expect(await stored('Behind')).toBe(4);
  expect(shared.budget.inUse).toBe(0);
});

test('large records are written as they arrive, a batch per batch limit of JSON, not held until 1000 have come', async () => {
  const writes: number[] = [];
  const sizing: RecordSink = {
    upsert: async (c, m, r) => (writes.push(JSON.stringify(r).length), h.store.records.upsert(c, m, r)),
    update: (c, m, r) => h.store.records.update(c, m, r),
    delete: (c, m, r) => h.store.records.delete(c, m, r),
  };
  // 30 calls of one 512 KB record: 15 MB, far under 1000 records.
  const result = await h.run(
    script(`for (let i = 0; i < 30; i++) await nango.batchSave(${recordsJs('i', 1, 512)}, 'Large');`),
    sync('Large', { services: { ...h.services, records: sizing }, recordMemory: memory({ maxBatchBytes: 1 * MB, inFlightBytes: 4 * MB }), limits: { timeoutMs: 40_000, memoryMb: 96 } }),
  );
  expect(result.success ? result.counts.Large?.added : result.error).toBe(30);
  expect(writes.length).toBeGreaterThanOrEqual(10);
  expect(Math.max(...writes)).toBeLessThanOrEqual(2 * MB);
  expect(await stored('Large')).toBe(30);
});

test('a cancelled run gives back the room it held, including a batchSave still waiting for it', async () => {
  const shared = memory({ maxBatchBytes: 1 * MB, inFlightBytes: 1 * MB });
  const blocked = new Promise<void>(() => undefined);
  const stuck: RecordSink = { upsert: () => blocked.then(() => ({ added: 0, updated: 0, deleted: 0 })), update: async () => ({ added: 0, updated: 0, deleted: 0 }), delete: async () => ({ added: 0, updated: 0, deleted: 0 }) };
  const controller = new AbortController();
  const running = h.run(script(`for (let b = 0; b < 10; b++) await nango.batchSave(${recordsJs('b * 10', 10, 60)}, 'Cancelled');`), sync('Cancelled', { recordMemory: shared, signal: controller.signal, services: { ...h.services, records: stuck } }));
  while (shared.budget.inUse === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort('test');
  const result = await running;
  expect(!result.success && result.error.type).toBe('script_cancelled');
  expect(shared.budget.inUse).toBe(0);
});

test('getRecordsByIds reads pages bounded in bytes, following their cursors, and fails the run past the batch limit', async () => {
  // 5 records of 6 MB: 30 MB, read as pages of at most 16 MB (MAX_PAGE_BYTES) and more than one page.
  await h.store.records.upsert(h.connectionPk, 'ReadBack', Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, title: String(i).padEnd(6 * MB, 'x') })));
  const ids = JSON.stringify(['r0', 'r1', 'r2', 'r3', 'r4', 'unknown']);
  const all = await h.run(
    script(`const found = await nango.getRecordsByIds(${ids}, 'ReadBack'); await nango.log([...found.keys()].join(',') + ' ' + [...found.values()].map((r) => r.title.length).join(','));`),
    sync('ReadBack', { limits: { timeoutMs: 40_000, memoryMb: 256 } }),
  );
  expect(all.success ? all.logs.map((l) => l.message) : all.error).toEqual([`r0,r1,r2,r3,r4 ${Array(5).fill(6 * MB).join(',')}`]);

  // Past the batch limit (1 MB here) the call fails the run, caught or not.
  const over = await h.run(
    script(`try { await nango.getRecordsByIds(${ids}, 'ReadBack'); } catch (e) { await nango.log('caught ' + e.type); }`),
    sync('ReadBack', { recordMemory: memory({ maxBatchBytes: 1 * MB, inFlightBytes: 4 * MB }), limits: { timeoutMs: 40_000, memoryMb: 256 } }),
  );
  expect(!over.success && over.error).toMatchObject({
    type: 'batch_too_large',
    message: 'getRecordsByIds: the records asked for are more than the 1048576 bytes of JSON one call may bring (SYNCLINE_MAX_BATCH_MB): ask for fewer ids per call',
  });
});
