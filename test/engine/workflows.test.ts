import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { seen } from './activities';
import { harness, type Harness } from './harness';
import { accumulator, addSignal, blobSignal, blobs, cancellable, carriesSignals, countdown, failing, finishSignal, greet, parent, sequence, sleeper, stateQuery, timerWorkflow, totalQuery } from './workflows';

jest.setTimeout(60_000);

let h: Harness;
const tq = 'engine-workflows';

beforeAll(async () => {
  h = await harness(tq);
  await h.startWorker();
});

afterAll(async () => {
  await h?.close();
});

const id = (name: string) => `${name}-${randomUUID()}`;

test('an activity result reaches the caller', async () => {
  const handle = h.track(await h.client.workflow.start(greet, { taskQueue: tq, workflowId: id('greet'), args: ['Ada'] }));
  expect(await handle.result()).toBe('Hello, Ada!');
});

test('a start asking for eager execution runs on the local worker without a poll, and completes', async () => {
  const handle = h.track(await h.workerClient().workflow.start(greet, { taskQueue: tq, workflowId: id('eager'), args: ['Eve'], requestEagerStart: true }));
  expect(handle.eagerlyStarted).toBe(true);
  expect(await handle.result()).toBe('Hello, Eve!');
  const started = (await handle.fetchHistory()).events!.find((e) => e.workflowTaskStartedEventAttributes)!;
  expect(Number(started.eventId)).toBe(3);
});

test('a signal arriving while the task that continues the run as new runs reaches the next run', async () => {
  const key = id('carries');
  const handle = h.track(await h.client.workflow.start(carriesSignals, { taskQueue: tq, workflowId: key, args: [key] }));
  while (!seen.has(key)) await new Promise((r) => setTimeout(r, 20));
  await handle.signal(addSignal, 7);
  // The completion is refused (UnhandledCommand), the worker replays the run with the signal, then continues it as new.
  expect(await handle.result()).toEqual([7]);
  const first = await h.client.workflow.getHandle(key, handle.firstExecutionRunId).fetchHistory();
  expect(first.events!.some((e) => e.workflowTaskFailedEventAttributes)).toBe(true);
});

test('signals and signal-with-starts addressed to the workflow id meet its current run while it continues as new again and again', async () => {
  const workflowId = id('moving');
  const handle = h.track(await h.client.workflow.start(countdown, { taskQueue: tq, workflowId, args: [60] }));
  const calls: Array<Promise<unknown>> = [];
  for (let i = 0; i < 30; i++) {
    calls.push(handle.signal(addSignal, i));
    calls.push(h.client.workflow.signalWithStart(countdown, { taskQueue: tq, workflowId, args: [0], signal: addSignal, signalArgs: [i] }));
    await new Promise((r) => setTimeout(r, 10));
  }
  // None is refused as addressed to a run that closed (NOT_FOUND) as it was applied.
  expect((await Promise.allSettled(calls)).filter((c) => c.status === 'rejected')).toEqual([]);
  expect(await handle.result()).toMatch(/^done:/);
});

test('a timer fires after its duration', async () => {
  const handle = h.track(await h.client.workflow.start(timerWorkflow, { taskQueue: tq, workflowId: id('timer'), args: [500] }));
  const elapsed = await handle.result();
  expect(elapsed).toBeGreaterThanOrEqual(500);
});

test('signals are delivered, queries answer while waiting, and after close', async () => {
  const handle = h.track(await h.client.workflow.start(accumulator, { taskQueue: tq, workflowId: id('acc') }));
  await handle.signal(addSignal, 2);
  await handle.signal(addSignal, 3);
  expect(await handle.query(totalQuery)).toBe(5);
  await handle.signal(addSignal, 4);
  await handle.signal(finishSignal);
  expect(await handle.result()).toBe(9);
  expect(await handle.query(totalQuery)).toBe(9);
});

test('signal-with-start starts once, then signals the running workflow', async () => {
  const workflowId = id('sws');
  const first = await h.client.workflow.signalWithStart(accumulator, { taskQueue: tq, workflowId, signal: addSignal, signalArgs: [1] });
  h.track(first);
  const second = await h.client.workflow.signalWithStart(accumulator, { taskQueue: tq, workflowId, signal: addSignal, signalArgs: [10] });
  expect(second.signaledRunId).toBe(first.signaledRunId);
  await first.signal(finishSignal);
  expect(await first.result()).toBe(11);
});

test('starting a running workflow id again fails with WorkflowExecutionAlreadyStartedError', async () => {
  const workflowId = id('dup');
  const handle = h.track(await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId, args: [200] }));
  await expect(h.client.workflow.start(sleeper, { taskQueue: tq, workflowId, args: [200] })).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  expect(await handle.result()).toBe('woke');
});

test('continue-as-new three times; result() follows the chain', async () => {
  const handle = h.track(await h.client.workflow.start(countdown, { taskQueue: tq, workflowId: id('can'), args: [3] }));
  expect(await handle.result()).toBe('done:continued');
  const desc = await h.client.workflow.getHandle(handle.workflowId).describe();
  expect(desc.runId).not.toBe(handle.firstExecutionRunId);
});

test('terminate closes the workflow', async () => {
  const handle = h.track(await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: id('term'), args: [60_000] }));
  await handle.terminate('enough');
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect((await handle.describe()).status.name).toBe('TERMINATED');
});

test('cancel runs the cleanup activity and closes as cancelled', async () => {
  const key = id('cancel');
  const handle = h.track(await h.client.workflow.start(cancellable, { taskQueue: tq, workflowId: key, args: [key] }));
  await new Promise((r) => setTimeout(r, 300));
  await handle.cancel();
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect(seen.get(key)).toEqual(['cleanup']);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
});

test('a workflow failure reaches the caller', async () => {
  const handle = h.track(await h.client.workflow.start(failing, { taskQueue: tq, workflowId: id('fail'), args: ['bad'] }));
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.message).toBe('bad');
});

test('a query is answered while an activity runs', async () => {
  const key = id('seq');
  const handle = h.track(await h.client.workflow.start(sequence, { taskQueue: tq, workflowId: key, args: [key, 3] }));
  await new Promise((r) => setTimeout(r, 300));
  expect(await handle.query(stateQuery)).toMatch(/^at:\d+$/);
  expect(await handle.result()).toBe(3);
});

test('the run timeout closes a workflow that runs too long', async () => {
  const handle = h.track(await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: id('runtimeout'), args: [60_000], workflowRunTimeout: '700ms' }));
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((await handle.describe()).status.name).toBe('TIMED_OUT');
});

test('child workflows: result, signal through a handle and an external handle', async () => {
  const handle = h.track(await h.client.workflow.start(parent, { taskQueue: tq, workflowId: id('parent'), args: [21] }));
  expect(await handle.result()).toBe(42);
  const children = await h.client.workflow.getHandle(`${handle.workflowId}-acc`).describe();
  expect(children.parentExecution?.workflowId).toBe(handle.workflowId);
});

test('50 concurrent workflows all complete', async () => {
  const handles = await Promise.all(
    Array.from({ length: 50 }, (_, i) => h.client.workflow.start(greet, { taskQueue: tq, workflowId: id(`many-${i}`), args: [`n${i}`] })),
  );
  const results = await Promise.all(handles.map((x) => x.result()));
  expect(results).toEqual(Array.from({ length: 50 }, (_, i) => `Hello, n${i}!`));
  for (const x of handles.slice(0, 5)) h.track(x);
});

test('a cron workflow runs on its schedule until terminated', async () => {
  const workflowId = id('cron');
  const handle = await h.client.workflow.start(greet, { taskQueue: tq, workflowId, args: ['cron'], cronSchedule: '@every 1s' });
  h.track(handle);
  const deadline = Date.now() + 8000;
  while ((await h.client.workflow.count(`WorkflowId = '${workflowId}' AND ExecutionStatus = 'Completed'`)).count < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  expect((await h.client.workflow.count(`WorkflowId = '${workflowId}' AND ExecutionStatus = 'Completed'`)).count).toBeGreaterThanOrEqual(2);
  await h.client.workflow.getHandle(workflowId).terminate('stop cron');
  const first = await h.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
  const started = first.events![0].workflowExecutionStartedEventAttributes!;
  expect(started.cronSchedule).toBe('@every 1s');
  expect(Number(started.firstWorkflowTaskBackoff?.seconds ?? 0) + (started.firstWorkflowTaskBackoff?.nanos ?? 0)).toBeGreaterThan(0);
});

test('a history larger than one page reaches the worker in pages (query after close replays it all)', async () => {
  const handle = h.track(await h.client.workflow.start(blobs, { taskQueue: tq, workflowId: id('blobs') }));
  const blob = 'x'.repeat(200_000);
  for (let i = 0; i < 15; i++) await handle.signal(blobSignal, blob);
  await handle.signal(finishSignal);
  expect(await handle.result()).toBe(3_000_000);
  expect(await handle.query(totalQuery)).toBe(3_000_000);
});

test('every history replays deterministically', async () => {
  expect(await h.replayAll()).toBeGreaterThan(15);
});
