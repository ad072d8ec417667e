import { harness, issueModel, type Harness } from '../runtime/harness';

let h: Harness;

beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

const sync = { name: 'issues', models: [issueModel], variant: 'base' };
const webhookRun = (code: string, payload: unknown) => h.run(code, { kind: 'sync', webhook: true, input: payload, sync });

test('a webhook run calls onWebhookPayloadReceived(nango, payload), not fetchData; its records are saved', async () => {
  const code = `module.exports = async function fetchData() { throw new Error('fetchData must not run'); };
module.exports.onWebhookPayloadReceived = async function (nango, payload) {
  await nango.batchSave(payload.issues.map((i) => ({ id: i.id, title: i.title + ' via ' + nango.connectionId })), 'Issue');
};`;
  const result = await webhookRun(code, { issues: [{ id: 1, title: 'a' }, { id: 2, title: 'b' }] });
  expect(result).toMatchObject({ success: true, counts: { Issue: { added: 2, updated: 0, deleted: 0 } } });
  const { records } = await h.store.records.list(h.connectionPk, { model: 'Issue', limit: 10 });
  expect(records.map((r) => r.title)).toEqual(['a via c1', 'b via c1']);
});

test('the createSync form: onWebhook of the default export; it may delete', async () => {
  const code = `module.exports.default = { exec: async () => { throw new Error('exec must not run'); }, onWebhook: async (nango, payload) => {
  await nango.batchDelete([{ id: payload.deleted }], 'Issue');
} };`;
  const result = await webhookRun(code, { deleted: 1 });
  expect(result).toMatchObject({ success: true, counts: { Issue: { added: 0, updated: 0, deleted: 1 } } });
});

test('a sync without a handler fails its webhook run with a clear message', async () => {
  const result = await webhookRun('module.exports = async function fetchData() {};', {});
  expect(result.success).toBe(false);
  expect(!result.success && result.error.message).toContain('onWebhookPayloadReceived');
});
