import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { harness, type Harness } from './harness';
import { WorkflowNotFoundError } from '@temporalio/common';
import { addSignal, cancelChild, countdown, duplicateChild, greet, leaveChild, localGreet, sleeper, thirdTime } from './workflows';

jest.setTimeout(60_000);

let h: Harness;
const tq = 'engine-lifecycle';

beforeAll(async () => {
  h = await harness(tq);
  await h.startWorker();
});

afterAll(async () => {
  await h?.close();
});

const id = (name: string) => `${name}-${randomUUID()}`;

async function statusOf(workflowId: string, want: string, ms = 5000): Promise<string> {
  const until = Date.now() + ms;
  let s = '';
  while (Date.now() < until) {
    s = await h.client.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.status.name, () => 'NOT_STARTED');
    if (s === want) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return s;
}

test('parent close policies: TERMINATE ends the child, REQUEST_CANCEL cancels it, ABANDON leaves it running', async () => {
  const kids = { TERMINATE: id('kid-term'), REQUEST_CANCEL: id('kid-cancel'), ABANDON: id('kid-abandon') } as const;
  for (const [policy, childId] of Object.entries(kids)) {
    const parent = h.track(await h.client.workflow.start(leaveChild, { taskQueue: tq, workflowId: id(`parent-${policy}`), args: [childId, policy as keyof typeof kids] }));
    await parent.result();
  }
  expect(await statusOf(kids.TERMINATE, 'TERMINATED')).toBe('TERMINATED');
  expect(await statusOf(kids.REQUEST_CANCEL, 'CANCELLED')).toBe('CANCELLED');
  expect(await statusOf(kids.ABANDON, 'RUNNING')).toBe('RUNNING');
  await h.client.workflow.getHandle(kids.ABANDON).terminate();
});

test('a cancelled child reports cancellation to its parent', async () => {
  const handle = h.track(await h.client.workflow.start(cancelChild, { taskQueue: tq, workflowId: id('cancel-child'), args: [id('child')] }));
  expect(await handle.result()).toBe('cancelled');
});

test('a workflow retry policy starts new runs until one succeeds; result() follows them', async () => {
  const handle = await h.client.workflow.start(thirdTime, { taskQueue: tq, workflowId: id('retry'), retry: { initialInterval: '50ms', maximumAttempts: 5 } });
  expect(await handle.result()).toBe(3);
  expect((await h.client.workflow.count(`WorkflowId = '${handle.workflowId}'`)).count).toBe(3);
});

test('id reuse policy REJECT_DUPLICATE refuses a closed id; the default allows it', async () => {
  const workflowId = id('reuse');
  await (await h.client.workflow.start(greet, { taskQueue: tq, workflowId, args: ['a'] })).result();
  await expect(h.client.workflow.start(greet, { taskQueue: tq, workflowId, args: ['b'], workflowIdReusePolicy: 'REJECT_DUPLICATE' })).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  expect(await (await h.client.workflow.start(greet, { taskQueue: tq, workflowId, args: ['c'] })).result()).toBe('Hello, c!');
});

test('the execution timeout closes a workflow as timed out; a chain within it completes', async () => {
  const handle = await h.client.workflow.start(countdown, { taskQueue: tq, workflowId: id('exec-timeout'), args: [1], workflowExecutionTimeout: '1500ms' });
  expect(await handle.result()).toBe('done:continued');
  const slow = await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: id('exec-timeout-slow'), args: [60_000], workflowExecutionTimeout: '800ms' });
  await expect(slow.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect((await slow.describe()).status.name).toBe('TIMED_OUT');
});

test('local activities run and are recorded as markers', async () => {
  const handle = h.track(await h.client.workflow.start(localGreet, { taskQueue: tq, workflowId: id('local'), args: ['Bo'] }));
  expect(await handle.result()).toBe('Hello, Hello, Bo!!');
  const history = await handle.fetchHistory();
  expect(history.events!.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(2);
});

test('a child id already in use fails the child start inside the parent', async () => {
  const handle = h.track(await h.client.workflow.start(duplicateChild, { taskQueue: tq, workflowId: id('dup-child'), args: [id('taken')] }));
  expect(await handle.result()).toBe('WorkflowExecutionAlreadyStartedError');
});

test('a memo given at start is described; signalling a closed workflow is not found', async () => {
  const handle = await h.client.workflow.start(greet, { taskQueue: tq, workflowId: id('memo'), args: ['m'], memo: { owner: 'team-a' } });
  await handle.result();
  const desc = await handle.describe();
  expect(desc.memo).toEqual({ owner: 'team-a' });
  await expect(handle.signal(addSignal, 1)).rejects.toBeInstanceOf(WorkflowNotFoundError);
});

test('every history replays deterministically', async () => {
  expect(await h.replayAll()).toBeGreaterThanOrEqual(4);
});
