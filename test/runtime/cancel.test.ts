import { CollectingRecordSink } from '../../src/runtime';
import { harness, issueModel, script, type Harness } from './harness';

// `request.signal` stops an execution: the script's worker is terminated, the calls under way end,
// and records it buffered are not written.

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());

test('aborting stops a looping script at once; buffered records are dropped, committed ones stay', async () => {
  const sink = new CollectingRecordSink();
  const controller = new AbortController();
  const code = script(`
    await nango.batchSave([{ id: 1, title: 'committed' }], 'Issue');
    await nango.saveCheckpoint({ at: 1 });
    for (let i = 2; ; i++) {
      await nango.get({ endpoint: '/slow', params: { ms: 50, who: 'cancel-test' } });
      await nango.batchSave([{ id: i, title: 'buffered' }], 'Issue');
    }
  `);
  const running = h.run(code, { kind: 'sync', sync: { name: 'cancel-1', models: [issueModel] }, services: { ...h.services, records: sink }, signal: controller.signal });
  const calls = () => h.api.requestsTo('/slow').filter((r) => r.query.who === 'cancel-test').length;
  while (calls() < 5) await new Promise((r) => setTimeout(r, 20));
  const abortedAt = Date.now();
  controller.abort(new Error('workflow gone'));
  const result = await running;
  expect(Date.now() - abortedAt).toBeLessThan(2000);
  expect(result).toMatchObject({ success: false, error: { type: 'script_cancelled' }, counts: {} });
  expect(!result.success && result.error.message).toMatch(/cancelled \(workflow gone\)/);
  // Only the write committed before the checkpoint reached the sink.
  expect(sink.writes.get('Issue')).toEqual([{ kind: 'save', records: [{ id: 1, title: 'committed' }] }]);
  const after = calls();
  await new Promise((r) => setTimeout(r, 300));
  expect(calls()).toBe(after);
});

test('an already aborted signal runs nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await h.run(script(`await nango.get({ endpoint: '/slow', params: { ms: 10, who: 'never' } });`), { signal: controller.signal });
  expect(result).toMatchObject({ success: false, error: { type: 'script_cancelled' } });
  expect(h.api.requestsTo('/slow').filter((r) => r.query.who === 'never')).toEqual([]);
});

test('a signal that never aborts changes nothing', async () => {
  const result = await h.run(script(`return (await nango.get({ endpoint: '/slow', params: { ms: 10 } })).data;`), { signal: new AbortController().signal });
  expect(result).toMatchObject({ success: true, output: { slow: true } });
});
