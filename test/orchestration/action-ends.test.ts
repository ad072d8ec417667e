import { actionWorkflowId } from '../../src/worker/workflow-ids';
import { startReceiver, type Receiver } from '../webhooks/receiver';
import { HANG_SCRIPT, HANG_YAML, hangStarts } from './fixtures/hang';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// Every action run reaches a final state, whatever ends it: `GET /action/:id` answers the failure
// and an async call's `async_action` webhook is sent once. Terminating runs no workflow code; the
// run is ended by whoever sees it first (its script's cancellation, a GET, a waiting caller, the
// check of unfinished runs). One connection runs one call at a time here, so a second call waits
// (a workflow timer, no activity) while the first hangs. SIGKILL of the process: crash.test.ts.
jest.setTimeout(60_000);


let t: OrchestrationTest;
let hooks: Receiver;

beforeAll(async () => {
  t = await startOrchestrationTest({ unfinishedActionCheckMs: 300, runLimits: { perEnvironment: 50, perConnection: 1 } });
  hooks = await startReceiver();
  expect((await t.deploy(HANG_YAML, { 'action/hang': HANG_SCRIPT })).status).toBe(200);
  expect((await t.request('PATCH', '/environment/webhook', { json: { primary_url: `${hooks.url}/hooks` } })).status).toBe(200);
  for (const id of ['c1', 'c2', 'q1', 'q2']) await t.connect(id);
});
afterAll(async () => {
  await t?.close();
  await hooks?.close();
});

const hang = (connectionId: string, tag: string, async = true) =>
  t.request('POST', '/action/trigger', { json: { action_name: 'hang', input: { tag } }, headers: { 'Connection-Id': connectionId, 'Provider-Config-Key': 'fake', ...(async ? { 'X-Async': 'true' } : {}) } });
const started = (tag: string) => waitFor(`call ${tag} to start`, () => hangStarts(t.fake, tag) > 0);
const terminate = (id: string) => t.orchestration.orchestrator.client.workflow.getHandle(actionWorkflowId('dev', id)).terminate('stopped by the test');
const webhooksOf = (id: string) => hooks.find((b) => b.type === 'async_action' && b.payload?.id === id);
const answer = (id: string) => t.request('GET', `/action/${id}`);

/** Once its webhook came, and long enough after for a second one (the script's cancellation arrives at its next heartbeat): still one. */
async function expectOneWebhook(id: string): Promise<void> {
  await waitFor(`the async_action webhook of ${id}`, () => webhooksOf(id).length > 0);
  await new Promise((r) => setTimeout(r, 2000));
  expect(webhooksOf(id)).toHaveLength(1);
  expect(webhooksOf(id)[0]!.body).toMatchObject({ type: 'async_action', connectionId: expect.any(String), payload: { id, statusUrl: `/action/${id}` } });
}

test('terminated while its script runs: GET answers the cancellation at once, one webhook', async () => {
  const { body } = await hang('c1', 'running');
  await started('running');
  expect((await answer(body.id)).status).toBe(404); // still running
  await terminate(body.id);
  const res = await answer(body.id);
  expect(res.status).toBe(500);
  expect(res.body.error).toMatchObject({ code: 'action_cancelled', message: expect.stringContaining('cancelled') });
  await expectOneWebhook(body.id);
  expect((await answer(body.id)).body).toEqual(res.body);
});

test('terminated while waiting for a slot (no workflow code, no script runs): the check of unfinished runs ends it and sends its webhook', async () => {
  const first = await hang('q1', 'first');
  await started('first');
  const second = await hang('q1', 'second');
  await new Promise((r) => setTimeout(r, 500)); // its workflow asked for a slot and waits
  expect(hangStarts(t.fake, 'second')).toBe(0);
  await terminate(second.body.id);
  // Nobody asks: only the check finds it (runs RUNNING for 300 ms here, looked for every 5 s).
  await expectOneWebhook(second.body.id);
  const res = await answer(second.body.id);
  expect(res.status).toBe(500);
  expect(res.body.error.code).toBe('action_cancelled');
  await terminate(first.body.id);
});

test('a caller waiting for the result of a call that is terminated gets the failure', async () => {
  const pending = hang('c2', 'waited', false);
  await started('waited');
  const run = (await t.store.db.query<{ id: string }>("SELECT id FROM action_runs WHERE connection_id = 'c2'")).rows[0]!;
  await terminate(run.id);
  const res = await pending;
  expect(res.status).toBe(500);
  expect(res.body.error.code).toBe('action_cancelled');
});

test('an attempt that fails before recording anything (the integration cannot be read) ends the run as failed, one webhook', async () => {
  // Its only attempt (no retries were asked for) fails reading the integration's credentials.
  await t.store.db.query("UPDATE integrations SET credentials_encrypted = 'v1:broken' WHERE unique_key = 'fake'");
  try {
    const { body } = await hang('q2', 'never');
    const res = await waitFor('the failure', async () => {
      const r = await answer(body.id);
      return r.status !== 404 && r;
    });
    expect(res.status).toBe(500);
    expect(res.body.error).toMatchObject({ code: 'action_failed', message: expect.stringMatching(/^The action failed before recording an outcome and no attempts were left: ./) });
    await expectOneWebhook(body.id);
  } finally {
    await t.store.db.query("UPDATE integrations SET credentials_encrypted = NULL WHERE unique_key = 'fake'");
  }
});
