import { Nango } from '@nangohq/node';
import { isAxiosError } from 'axios';
import { failureResponse } from '../../src/api/routes/actions';
import { Syncline, SynclineApiError } from '../../src/sdk';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

jest.setTimeout(60_000);

const YAML = `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
    actions:
      echo:
        endpoint: POST /echo
        input: EchoInput
        output: EchoOutput
      refuse:
        endpoint: POST /refuse
      big:
        endpoint: POST /big
      flaky:
        endpoint: POST /flaky
      slow:
        endpoint: POST /slow
      not-found:
        endpoint: POST /not-found
      crash:
        endpoint: POST /crash
models:
  Item:
    id: string
    name: string
  EchoInput:
    text: string
  EchoOutput:
    echoed: string
    via: string
`;

const ITEMS = `module.exports = async function fetchData(nango) {
  const res = await nango.get({ endpoint: '/offset/items', params: { offset: 0, limit: 5 } });
  await nango.batchSave(res.data.items.map((i) => ({ id: String(i.id), name: i.name })), 'Item');
};`;
const ECHO = `module.exports = async function runAction(nango, input) {
  const res = await nango.post({ endpoint: '/things/echo', data: input });
  return { echoed: res.data.body.text, via: res.data.headers['x-api-key'] };
};`;
// ActionError as scripts bundle it from their models.ts.
const REFUSE = `class ActionError extends Error {
  constructor(payload) { super(payload.message); this.name = 'ActionError'; this.type = 'action_script_runtime_error'; this.payload = payload; }
}
module.exports = async function runAction(nango, input) {
  throw new ActionError({ message: 'no way', input });
};`;
const BIG = `module.exports = async function runAction() { return 'x'.repeat(3 * 1024 * 1024); };`;
// Fails on its first attempt of each call (the metadata counts calls), succeeds afterwards.
const FLAKY = `module.exports = async function runAction(nango) {
  const res = await nango.get({ endpoint: '/pages/items' });
  return { attempt: res.data };
};`;
const SLOW = `module.exports = async function runAction(nango) { await new Promise((r) => setTimeout(r, 400)); return { slept: true }; };`;
// The helper's ActionError (\`throw new nango.ActionError(...)\`), after a pause so an async call is seen running.
const NOT_FOUND = `module.exports = async function runAction(nango) {
  await new Promise((r) => setTimeout(r, 300));
  throw new nango.ActionError({ message: 'Not found', code: 404 });
};`;
const CRASH = `module.exports = async function runAction() { throw new Error('boom'); };`;

/** Nango's answer to an ActionError({message: 'Not found', code: 404}), sync or async (packages/shared/lib/utils/error.ts, error.manager.ts). */
const NOT_FOUND_BODY = { error: { message: 'The action script failed with a runtime error', code: 'action_script_runtime_error', payload: { message: 'Not found', code: 404 } } };

let t: OrchestrationTest;
let syncline: Syncline;

beforeAll(async () => {
  t = await startOrchestrationTest();
  // Workflow code on the main thread, the default (syncs.test.ts runs two threads).
  expect(t.orchestration.worker!.options.workflowThreadPoolSize).toBe(0);
  const res = await t.deploy(YAML, { 'sync/items': ITEMS, 'action/echo': ECHO, 'action/refuse': REFUSE, 'action/big': BIG, 'action/flaky': FLAKY, 'action/slow': SLOW, 'action/not-found': NOT_FOUND, 'action/crash': CRASH });
  expect(res.status).toBe(200);
  await t.connect('a1');
  syncline = new Syncline({ secretKey: t.keys.dev, host: t.url });
});
afterAll(() => t?.close());

const trigger = (action: string, input: unknown, headers: Record<string, string> = {}) =>
  t.request('POST', '/action/trigger', { json: { action_name: action, input }, headers: { 'Connection-Id': 'a1', 'Provider-Config-Key': 'fake', ...headers } });

test('an action returns its output to the caller', async () => {
  const res = await trigger('echo', { text: 'hello' });
  expect(res).toMatchObject({ status: 200, body: { echoed: 'hello', via: 'k' } });
});

test('an ActionError reaches the caller as Nango answers it: 500, a fixed message, the payload unchanged', async () => {
  const helper = await trigger('not-found', {});
  expect(helper).toMatchObject({ status: 500, body: NOT_FOUND_BODY });
  expect(helper.body).toEqual(NOT_FOUND_BODY);
  // The class a script bundles from its models.ts.
  const bundled = await trigger('refuse', { a: 1 });
  expect(bundled.status).toBe(500);
  expect(bundled.body).toEqual({ error: { message: 'The action script failed with a runtime error', code: 'action_script_runtime_error', payload: { message: 'no way', input: { a: 1 } } } });
});

test("a script's own error is Nango's script_internal_error with {name, message}", async () => {
  const res = await trigger('crash', {});
  expect(res.status).toBe(500);
  expect(res.body).toEqual({ error: { message: 'An internal error occurred during the script execution', code: 'script_internal_error', payload: { name: 'Error', message: 'boom' } } });
});

test('the other failures Nango names: timeout, invalid input and output, a named error', () => {
  expect(failureResponse({ type: 'script_timeout', message: 'The script ran longer than 900000 ms and was stopped' })).toEqual({
    status: 500,
    body: {
      error: {
        message: 'The function was killed because it exceeded the maximum execution time allowed without completing or saving a checkpoint',
        code: 'execution_timeout',
        payload: {},
      },
    },
  });
  const validation = { data: { text: 1 }, validation: ['text: expected string'], model: 'EchoInput' };
  expect(failureResponse({ type: 'invalid_action_input', message: 'The input does not match model "EchoInput": text: expected string', payload: validation })).toEqual({
    status: 400,
    body: { error: { message: 'Failed to validate the input passed to the action', code: 'invalid_action_input', payload: validation } },
  });
  expect(failureResponse({ type: 'invalid_action_output', message: 'x', payload: validation }).status).toBe(400);
  expect(failureResponse({ type: 'script_error', message: 'TypeError: x is not a function' }).body.error.payload).toEqual({ name: 'TypeError', message: 'x is not a function' });
  // Failures Nango has no body of its own for keep ours.
  expect(failureResponse({ type: 'script_memory_exceeded', message: 'too much' })).toEqual({ status: 500, body: { error: { code: 'script_memory_exceeded', message: 'too much' } } });
});

test("output over 2 MB is refused as Nango refuses it: 400 script_output_too_large", async () => {
  const res = await trigger('big', {});
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: { message: 'Script output is too large', code: 'script_output_too_large', payload: { message: 'Output is too large' } } });
});

test('async mode returns an id at once; GET /action/:id serves the result', async () => {
  const res = await trigger('slow', {}, { 'X-Async': 'true' });
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ id: expect.any(String), statusUrl: `/action/${res.body.id}` });
  expect(res.headers.get('location')).toBe(res.body.statusUrl);
  // Nango: "404 means the execution is still running".
  const early = await t.request('GET', res.body.statusUrl);
  expect([200, 404]).toContain(early.status);
  if (early.status === 404) expect(early.body.error.code).toBe('not_found');
  const done = await waitFor('async result', async () => {
    const r = await t.request('GET', res.body.statusUrl);
    return r.status === 200 && r;
  });
  expect(done.body).toEqual({ slept: true });
  // Another environment does not see it.
  expect((await t.request('GET', res.body.statusUrl, { key: t.keys.prod })).status).toBe(404);
});

test('async mode: an ActionError is served by GET /action/:id as in sync mode', async () => {
  const res = await trigger('not-found', {}, { 'X-Async': 'true' });
  expect(res.status).toBe(202);
  const running = await t.request('GET', res.body.statusUrl);
  expect(running.status).toBe(404);
  const done = await waitFor('async failure', async () => {
    const r = await t.request('GET', res.body.statusUrl);
    return r.status !== 404 && r;
  });
  expect(done.status).toBe(500);
  expect(done.body).toEqual(NOT_FOUND_BODY);
});

test('X-Max-Retries retries a failed run; 0 does not', async () => {
  t.fake.fail('/pages/items', { status: 500 });
  const once = await trigger('flaky', {});
  expect(once.status).toBe(500);
  t.fake.fail('/pages/items', { status: 500 });
  const retried = await trigger('flaky', {}, { 'X-Max-Retries': '2' });
  expect(retried.status).toBe(200);
  expect((await trigger('flaky', {}, { 'X-Max-Retries': '9' })).status).toBe(400);
});

test('unknown actions and connections are 404s', async () => {
  expect((await trigger('nope', {})).status).toBe(404);
  const res = await t.request('POST', '/action/trigger', { json: { action_name: 'echo', input: { text: 'x' } }, headers: { 'Connection-Id': 'zz', 'Provider-Config-Key': 'fake' } });
  expect(res.status).toBe(404);
});

test('the SDK: triggerAction, triggerActionAsync, getAsyncActionResult, and sync control', async () => {
  expect(await syncline.triggerAction('fake', 'a1', 'echo', { text: 'sdk' })).toEqual({ echoed: 'sdk', via: 'k' });
  const err = await syncline.triggerAction('fake', 'a1', 'refuse', {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SynclineApiError);
  expect(err).toMatchObject({ status: 500, code: 'action_script_runtime_error', payload: { message: 'no way', input: {} } });
  const started = await syncline.triggerActionAsync('fake', 'a1', 'slow', {});
  expect(await waitFor('sdk async', async () => (await syncline.getAsyncActionResult(started).catch(() => null)) as any)).toMatchObject({});
  await syncline.triggerSync('fake', ['items'], 'a1', { reset: false });
  await syncline.pauseSync('fake', ['items'], 'a1');
  const paused = await waitFor('paused', async () => {
    const s = await syncline.syncStatus('fake', ['items'], 'a1');
    return s.syncs[0]?.status === 'PAUSED' && s;
  });
  expect(paused.syncs[0]).toMatchObject({ name: 'items', connection_id: 'a1', status: 'PAUSED' });
  await syncline.startSync('fake', ['items'], 'a1');
  expect(await syncline.updateSyncConnectionFrequency('fake', 'items', 'a1', 'every 2 hours')).toEqual({ frequency: 'every 2 hours' });
});

test('@nangohq/node: triggerSync, pauseSync, startSync, syncStatus, triggerAction', async () => {
  const nango = new Nango({ secretKey: t.keys.dev, host: t.url });
  expect(await nango.triggerAction('fake', 'a1', 'echo', { text: 'nango' })).toEqual({ echoed: 'nango', via: 'k' });
  await nango.triggerSync('fake', ['items'], 'a1');
  await nango.pauseSync('fake', ['items'], 'a1');
  const status = await waitFor('nango PAUSED', async () => {
    const s = await nango.syncStatus('fake', '*', 'a1');
    return s.syncs[0]?.status === 'PAUSED' && s;
  });
  expect(status.syncs).toHaveLength(1);
  await nango.startSync('fake', ['items'], 'a1');
  await waitFor('nango not PAUSED', async () => (await nango.syncStatus('fake', ['items'], 'a1')).syncs[0]?.status !== 'PAUSED');
  const asyncRun = await nango.triggerActionAsync('fake', 'a1', 'slow', {});
  expect(asyncRun.statusUrl).toBe(`/action/${asyncRun.id}`);
  expect(await waitFor('nango async', async () => {
    const r = await nango.getAsyncActionResult({ id: asyncRun.id });
    return (r as any)?.slept && r;
  })).toEqual({ slept: true });
});

test('@nangohq/node: an ActionError rejects triggerAction and getAsyncActionResult with the same status and body', async () => {
  const nango = new Nango({ secretKey: t.keys.dev, host: t.url });
  const rejection = (p: Promise<unknown>) =>
    p.then(
      (value) => ({ resolved: value }),
      (err: unknown) => {
        if (!isAxiosError(err)) throw err;
        return { status: err.response?.status, data: err.response?.data as unknown };
      },
    );
  expect(await rejection(nango.triggerAction('fake', 'a1', 'not-found', {}))).toEqual({ status: 500, data: NOT_FOUND_BODY });
  const started = await nango.triggerActionAsync('fake', 'a1', 'not-found', {});
  // Running: a 404, so a poller never takes a placeholder for the output.
  expect(await rejection(nango.getAsyncActionResult({ id: started.id }))).toMatchObject({ status: 404 });
  const failed = await waitFor('nango async failure', async () => {
    const r = await rejection(nango.getAsyncActionResult(started));
    return 'status' in r && r.status !== 404 && r;
  });
  expect(failed).toEqual({ status: 500, data: NOT_FOUND_BODY });
});
