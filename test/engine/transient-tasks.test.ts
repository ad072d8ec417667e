import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { harness, type Harness } from './harness';
import { failsTasksUntil } from './workflows';

/**
 * As Temporal: a workflow task retried after a failure, with nothing new in history, is transient.
 * Its scheduled and started events go to the worker but are written only when it completes, so a
 * task failing over and over does not grow the history.
 */
jest.setTimeout(60_000);

const E = temporal.api.enums.v1.EventType;
let h: Harness;
const tq = `transient-${randomUUID()}`;

beforeAll(async () => {
  h = await harness(tq);
  await h.startWorker();
}, 60_000);
afterAll(() => h?.close());

test('a task failing twice then succeeding leaves one scheduled/started/failed set, then the attempt that completed', async () => {
  // The worker's first task loads the workflow bundle, which may take longer than the task timeout.
  expect(await h.client.workflow.execute(failsTasksUntil, { taskQueue: tq, workflowId: `warm-up-${randomUUID()}`, args: [0] })).toBe('done');
  // Attempt 1 fails (the SDK reports it); attempt 2 fails too (the SDK lets it time out, 2 s);
  // attempt 3 comes after the 5 s back-off of a third attempt, past `until`, and completes.
  const handle = h.track(
    await h.client.workflow.start(failsTasksUntil, { taskQueue: tq, workflowId: `transient-${randomUUID()}`, args: [Date.now() + 5000], workflowTaskTimeout: '2s' }),
  );
  expect(await handle.result()).toBe('done');
  const events = (await handle.fetchHistory()).events!;
  expect(events.map((e) => E[e.eventType!])).toEqual([
    'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
    'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
    'EVENT_TYPE_WORKFLOW_TASK_STARTED',
    'EVENT_TYPE_WORKFLOW_TASK_FAILED',
    'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
    'EVENT_TYPE_WORKFLOW_TASK_STARTED',
    'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
    'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
  ]);
  expect(events.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(events[1]!.workflowTaskScheduledEventAttributes!.attempt).toBe(1);
  expect(events[4]!.workflowTaskScheduledEventAttributes!.attempt).toBe(3);
  expect(Number(events[5]!.workflowTaskStartedEventAttributes!.scheduledEventId)).toBe(5);
  expect(Number(events[6]!.workflowTaskCompletedEventAttributes!.startedEventId)).toBe(6);
  expect(await h.replayAll()).toBe(1);
});

test('a transient task started by a worker that polls after it was scheduled is recorded as started: it completes, and times out when not answered', async () => {
  // Raw RPCs on a queue no worker polls, so the retry is queued, not handed to a waiting poll in the
  // write that schedules it (the path taken when the engine reloads its runs after losing its database).
  const svc = h.client.workflowService;
  const queue = `transient-raw-${randomUUID()}`;
  const workflowId = `transient-raw-${randomUUID()}`;
  // A task left out is waited for 11 s (the engine answers a poll "no task" a second before its deadline).
  const poll = () => h.client.connection.withDeadline(Date.now() + 12_000, () => svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: queue }, identity: 'raw' }));
  await svc.startWorkflowExecution({ namespace: 'default', workflowId, workflowType: { name: 'raw' }, taskQueue: { name: queue }, requestId: randomUUID(), workflowTaskTimeout: { seconds: 1 } as never });
  const first = await poll();
  expect(first.attempt).toBe(1);
  // Not answered: it times out after 1 s and attempt 2, transient, waits in the queue.
  await new Promise((r) => setTimeout(r, 1500));
  const second = await poll();
  expect(second.attempt).toBe(2);
  // Not answered either: its timeout must fire (it is a started task), so attempt 3 comes after the
  // 5 s back-off of a third attempt.
  const third = await poll();
  expect(third.attempt).toBe(3);
  expect(Number(third.startedEventId)).toBeGreaterThan(Number(third.previousStartedEventId));
  await svc.respondWorkflowTaskCompleted({
    namespace: 'default',
    taskToken: third.taskToken,
    identity: 'raw',
    commands: [{ commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
  });
  const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events!;
  expect(events.map((e) => E[e.eventType!]).slice(-2)).toEqual(['EVENT_TYPE_WORKFLOW_TASK_COMPLETED', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED']);
});
