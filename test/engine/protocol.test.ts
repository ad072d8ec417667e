import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { type google, temporal } from '@temporalio/proto';
import { migrate } from '../../src/store/migrate';
import { startEngine, type RunningEngine } from '../../src/engine';
import { onPostgres, testDb } from '../helpers/db';

/**
 * The history rules the SDK relies on, driven with raw RPCs (no worker): buffering while a workflow
 * task is started, UNHANDLED_COMMAND, request-id dedupe, task timeouts, sticky queues.
 */
jest.setTimeout(30_000);

const E = temporal.api.enums.v1.EventType;
const seconds = (n: number) => ({ seconds: n }) as unknown as google.protobuf.IDuration;
const C = temporal.api.enums.v1.CommandType;
type Service = Client['workflowService'];

let db: Awaited<ReturnType<typeof testDb>>;
let engine: RunningEngine;
let connection: Connection;
let svc: Service;

beforeAll(async () => {
  db = await testDb();
  await migrate(db);
  engine = await startEngine({ db, port: 0 });
  connection = await Connection.connect({ address: engine.address });
  svc = new Client({ connection }).workflowService;
});

afterAll(async () => {
  await connection?.close();
  await engine?.close();
  await db?.drop();
});

const namespace = 'default';

async function start(taskQueue: string, extra: Partial<temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest> = {}) {
  const workflowId = `p-${randomUUID()}`;
  const res = await svc.startWorkflowExecution({
    namespace,
    workflowId,
    workflowType: { name: 'raw' },
    taskQueue: { name: taskQueue },
    requestId: randomUUID(),
    ...extra,
  });
  return { workflowId, runId: res.runId! };
}

async function poll(taskQueue: string, kind = temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL) {
  const res = await svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue, kind }, identity: 'test' });
  expect(res.taskToken?.length).toBeGreaterThan(0);
  return res;
}

async function history(workflowId: string) {
  const res = await svc.getWorkflowExecutionHistory({ namespace, execution: { workflowId } });
  return res.history!.events!.map((e) => e.eventType);
}

/** Completes a workflow task with the given commands. */
const completeTask = (taskToken: Uint8Array | null | undefined, commands: temporal.api.command.v1.ICommand[]) =>
  svc.respondWorkflowTaskCompleted({ namespace, taskToken, identity: 'test', commands });
const scheduleActivity = (attrs: temporal.api.command.v1.IScheduleActivityTaskCommandAttributes): temporal.api.command.v1.ICommand => ({
  commandType: C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
  scheduleActivityTaskCommandAttributes: attrs,
});

const signal = (workflowId: string, name = 'sig') => svc.signalWorkflowExecution({ namespace, workflowExecution: { workflowId }, signalName: name, identity: 'test' });

test('a signal arriving while the task is started is appended after WorkflowTaskCompleted, with a new task', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq);
  const task = await poll(tq);
  await signal(workflowId);
  expect(await history(workflowId)).toEqual([E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED]);
  await svc.respondWorkflowTaskCompleted({
    namespace,
    taskToken: task.taskToken,
    identity: 'test',
    commands: [{ commandType: C.COMMAND_TYPE_START_TIMER, startTimerCommandAttributes: { timerId: '1', startToFireTimeout: seconds(60) } }],
  });
  expect(await history(workflowId)).toEqual([
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_TIMER_STARTED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  ]);
  const next = await poll(tq);
  expect(Number(next.previousStartedEventId)).toBe(3);
  expect(Number(next.startedEventId)).toBe(8);
});

test('completing the workflow while a signal is buffered fails the task with UNHANDLED_COMMAND', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq);
  const task = await poll(tq);
  await signal(workflowId);
  // As Temporal, the worker is told (InvalidArgument), so it drops the run from its cache and replays it with the signal.
  await expect(
    svc.respondWorkflowTaskCompleted({
      namespace,
      taskToken: task.taskToken,
      commands: [{ commandType: C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
    }),
  ).rejects.toMatchObject({ code: 3, message: expect.stringContaining('UnhandledCommand') });
  expect(await history(workflowId)).toEqual([
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  ]);
  const retry = await poll(tq);
  expect(retry.history!.events!.length).toBe(7);
});

test('a start with the same request id returns the same run', async () => {
  const tq = `q-${randomUUID()}`;
  const requestId = randomUUID();
  const first = await start(tq, { requestId });
  const again = await svc.startWorkflowExecution({ namespace, workflowId: first.workflowId, workflowType: { name: 'raw' }, taskQueue: { name: tq }, requestId });
  expect(again.runId).toBe(first.runId);
});

test('a workflow task not completed in time is retried (attempt 2, transient) on the normal queue', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq, { workflowTaskTimeout: seconds(1) });
  await poll(tq);
  const retry = await poll(tq);
  expect(retry.attempt).toBe(2);
  // As Temporal: the retry's scheduled and started events reach the worker, not the stored history.
  expect(retry.history!.events!.slice(3).map((e) => e.eventType)).toEqual([E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED]);
  expect(Number(retry.startedEventId)).toBe(6);
  expect((await history(workflowId)).slice(3)).toEqual([E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]);
});

test('sticky queue tasks carry only new events; ShutdownWorker sends them back to the normal queue with full history', async () => {
  const tq = `q-${randomUUID()}`;
  const sticky = `${tq}-sticky`;
  const { workflowId } = await start(tq);
  const STICKY = temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY;
  // Keep the sticky queue alive with an open poll while the first task completes.
  const stickyPoll = svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: sticky, kind: STICKY, normalName: tq }, identity: 'test' });
  const task = await poll(tq);
  await svc.respondWorkflowTaskCompleted({ namespace, taskToken: task.taskToken, stickyAttributes: { workerTaskQueue: { name: sticky, kind: STICKY }, scheduleToStartTimeout: seconds(30) } });
  await signal(workflowId);
  const onSticky = await stickyPoll;
  expect(onSticky.history!.events!.map((e) => e.eventType)).toEqual([
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  ]);
  await svc.respondWorkflowTaskCompleted({ namespace, taskToken: onSticky.taskToken, stickyAttributes: { workerTaskQueue: { name: sticky, kind: STICKY }, scheduleToStartTimeout: seconds(30) } });
  await signal(workflowId);
  await svc.shutdownWorker({ namespace, stickyTaskQueue: sticky, identity: 'test' });
  const normal = await poll(tq);
  expect(normal.history!.events!.length).toBe(Number(normal.startedEventId));
});

test('a signal retried with the same request id is recorded once', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq);
  const requestId = randomUUID();
  for (let i = 0; i < 2; i++) await svc.signalWorkflowExecution({ namespace, workflowExecution: { workflowId }, signalName: 'once', requestId });
  expect((await history(workflowId)).filter((t) => t === E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toHaveLength(1);
});

test('runs closed longer ago than the namespace retention are deleted with their history', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId, runId } = await start(tq);
  await svc.terminateWorkflowExecution({ namespace, workflowExecution: { workflowId }, reason: 'done' });
  const { deleteExpiredRuns } = await import('../../src/engine/store');
  expect(await deleteExpiredRuns(db, Date.now(), 1000)).toBe(0);
  expect(await deleteExpiredRuns(db, Date.now() + 4 * 24 * 3600_000, 1000)).toBeGreaterThanOrEqual(1);
  const { rows } = await db.query('SELECT count(*)::int AS n FROM engine_events WHERE run_id = $1', [runId]);
  expect(rows[0]).toEqual({ n: 0 });
  await expect(svc.describeWorkflowExecution({ namespace, execution: { workflowId } })).rejects.toMatchObject({ code: 5 });
});

test('from the third attempt on, a timed-out workflow task is retried after a backoff', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq, { workflowTaskTimeout: seconds(1) });
  expect((await poll(tq)).attempt).toBe(1);
  expect((await poll(tq)).attempt).toBe(2);
  const timedOut = Date.now();
  const third = await poll(tq);
  expect(third.attempt).toBe(3);
  expect(Date.now() - timedOut).toBeGreaterThanOrEqual(5000);
  // The second attempt was transient: its time-out is not in history either.
  expect((await history(workflowId)).filter((t) => t === E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)).toHaveLength(1);
});

test('an activity scheduled with eager execution comes back in the completion response and is not dispatched again', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId } = await start(tq);
  const task = await poll(tq);
  const input = { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"eager"') }] };
  const echo = (activityId: string, requestEagerExecution: boolean, queue = tq) =>
    scheduleActivity({ activityId, activityType: { name: 'echo' }, taskQueue: { name: queue }, input, startToCloseTimeout: seconds(30), requestEagerExecution });
  // Only the first qualifies: the second did not ask, the third runs on another queue.
  const res = await completeTask(task.taskToken, [echo('a1', true), echo('a2', false), echo('a3', true, `${tq}-other`)]);
  expect(res.activityTasks).toHaveLength(1);
  const eager = res.activityTasks![0];
  expect(eager.activityId).toBe('a1');
  expect(Buffer.from(eager.input!.payloads![0].data!).toString()).toBe('"eager"');

  const polled = await svc.pollActivityTaskQueue({ namespace, taskQueue: { name: tq }, identity: 'test' });
  expect(polled.activityId).toBe('a2');

  await svc.respondActivityTaskCompleted({ namespace, taskToken: eager.taskToken, identity: 'test', result: input });
  const events = await history(workflowId);
  expect(events.filter((e) => e === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(1);
  expect(events.filter((e) => e === E.EVENT_TYPE_ACTIVITY_TASK_STARTED)).toHaveLength(1);
});

describe("Temporal's limits", () => {
  const big = { payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.alloc(2 * 1024 * 1024 + 1) }] };
  const events = async (workflowId: string) => (await svc.getWorkflowExecutionHistory({ namespace, execution: { workflowId } })).history!.events!;

  test('a start or signal with a payload over 2 MB is refused and changes nothing', async () => {
    const tq = `q-${randomUUID()}`;
    await expect(start(tq, { input: big })).rejects.toThrow('Blob data size exceeds limit.');
    const { workflowId } = await start(tq);
    await expect(svc.signalWorkflowExecution({ namespace, workflowExecution: { workflowId }, signalName: 's', input: big })).rejects.toThrow('Blob data size exceeds limit.');
    expect(await history(workflowId)).toEqual([E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED]);
  });

  test('a command carrying a payload over 2 MB fails the task and the run', async () => {
    const tq = `q-${randomUUID()}`;
    const { workflowId } = await start(tq);
    const task = await poll(tq);
    await expect(completeTask(task.taskToken, [scheduleActivity({ activityId: 'a', activityType: { name: 'x' }, taskQueue: { name: tq }, input: big, startToCloseTimeout: seconds(10) })])).rejects.toMatchObject({
      code: 3,
      message: expect.stringContaining('exceeds size limit'),
    });
    const history = await events(workflowId);
    expect(history.slice(-2).map((e) => e.eventType)).toEqual([E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]);
    expect(history.at(-2)!.workflowTaskFailedEventAttributes!.cause).toBe(temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PAYLOADS_TOO_LARGE);
    expect(history.at(-1)!.workflowExecutionFailedEventAttributes!.failure!.message).toBe('ScheduleActivityTaskCommandAttributes.Input exceeds size limit.');
    expect(history.some((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toBe(false);
  });

  test('more than 2,000 pending activities fail the task, which is tried again; the run stays open', async () => {
    const tq = `q-${randomUUID()}`;
    const { workflowId } = await start(tq);
    const task = await poll(tq);
    const commands = Array.from({ length: 2001 }, (_, i) => ({
      commandType: C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
      scheduleActivityTaskCommandAttributes: { activityId: `a${i}`, activityType: { name: 'x' }, taskQueue: { name: tq }, startToCloseTimeout: seconds(10) },
    }));
    await expect(svc.respondWorkflowTaskCompleted({ namespace, taskToken: task.taskToken, identity: 'test', commands })).rejects.toMatchObject({ code: 3, message: expect.stringContaining('PendingActivitiesLimitExceeded') });
    const history = await events(workflowId);
    expect(history.some((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)).toBe(false);
    const failed = history.find((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_TASK_FAILED)!;
    expect(failed.workflowTaskFailedEventAttributes!.cause).toBe(temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED);
    const retried = await poll(tq);
    expect(retried.attempt).toBe(2);
  });

  test('a run whose history passes 51,200 events is terminated', async () => {
    const tq = `q-${randomUUID()}`;
    const { workflowId } = await start(tq);
    const task = await poll(tq);
    const commands = Array.from({ length: 51_200 }, () => ({ commandType: C.COMMAND_TYPE_RECORD_MARKER, recordMarkerCommandAttributes: { markerName: 'm' } }));
    await svc.respondWorkflowTaskCompleted({ namespace, taskToken: task.taskToken, identity: 'test', commands });
    const desc = await svc.describeWorkflowExecution({ namespace, execution: { workflowId } });
    expect(desc.workflowExecutionInfo!.status).toBe(temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    const last = (await svc.getWorkflowExecutionHistory({ namespace, execution: { workflowId }, historyEventFilterType: temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT })).history!.events!;
    expect(last[0].workflowExecutionTerminatedEventAttributes!.reason).toBe('Workflow history count exceeds limit.');
  });
});

onPostgres('a second engine on the same database is refused while the first runs, and can start once it stopped', async () => {
  await expect(startEngine({ db, port: 0 })).rejects.toThrow('Another Syncline engine is already running on this database');
  await engine.close();
  engine = await startEngine({ db, port: 0 });
  await connection.close();
  connection = await Connection.connect({ address: engine.address });
  svc = new Client({ connection }).workflowService;
  const tq = `q-${randomUUID()}`;
  await start(tq);
  await poll(tq);
});

test('a start requesting eager execution returns its first workflow task, which no poller gets', async () => {
  const tq = `q-${randomUUID()}`;
  const workflowId = `p-${randomUUID()}`;
  const res = await svc.startWorkflowExecution({ namespace, workflowId, workflowType: { name: 'raw' }, taskQueue: { name: tq }, requestId: randomUUID(), identity: 'eager-worker', requestEagerExecution: true });
  const task = res.eagerWorkflowTask!;
  expect(task.taskToken?.length).toBeGreaterThan(0);
  expect(task.workflowExecution).toMatchObject({ workflowId, runId: res.runId });
  expect(task.history!.events!.map((e) => e.eventType)).toEqual([E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, E.EVENT_TYPE_WORKFLOW_TASK_STARTED]);
  expect(task.history!.events![2].workflowTaskStartedEventAttributes!.identity).toBe('eager-worker');
  expect(Number(task.startedEventId)).toBe(3);

  // The task is started already: a poller on the queue waits in vain (the deadline leaves it 1 s).
  const polled = await connection.withDeadline(Date.now() + 2000, () => svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: tq }, identity: 'other' }));
  expect(polled.taskToken?.length ?? 0).toBe(0);

  await svc.respondWorkflowTaskCompleted({
    namespace,
    taskToken: task.taskToken,
    identity: 'eager-worker',
    commands: [{ commandType: C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
  });
  expect((await history(workflowId)).at(-1)).toBe(E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
});

test('a delayed start, or a start of a workflow id already running, gets no eager task', async () => {
  const tq = `q-${randomUUID()}`;
  const delayed = await svc.startWorkflowExecution({ namespace, workflowId: `p-${randomUUID()}`, workflowType: { name: 'raw' }, taskQueue: { name: tq }, requestId: randomUUID(), requestEagerExecution: true, workflowStartDelay: seconds(60) });
  expect(delayed.eagerWorkflowTask).toBeFalsy();

  const workflowId = `p-${randomUUID()}`;
  const first = await svc.startWorkflowExecution({ namespace, workflowId, workflowType: { name: 'raw' }, taskQueue: { name: tq }, requestId: randomUUID(), requestEagerExecution: true });
  expect(first.eagerWorkflowTask?.taskToken?.length).toBeGreaterThan(0);
  const existing = await svc.startWorkflowExecution({
    namespace,
    workflowId,
    workflowType: { name: 'raw' },
    taskQueue: { name: tq },
    requestId: randomUUID(),
    requestEagerExecution: true,
    workflowIdConflictPolicy: temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
  });
  expect(existing.runId).toBe(first.runId);
  expect(existing.started).toBe(false);
  expect(existing.eagerWorkflowTask).toBeFalsy();
});

test('a worker already waiting gets a new workflow task started in the same write that scheduled it', async () => {
  const tq = `q-${randomUUID()}`;
  const polled = svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: tq }, identity: 'waiting-worker' });
  await new Promise((r) => setTimeout(r, 300)); // the poll is waiting
  const { runId } = await start(tq);
  const task = await polled;
  expect(Number(task.startedEventId)).toBe(3);
  expect(task.history!.events![2].workflowTaskStartedEventAttributes!.identity).toBe('waiting-worker');
  // One transaction wrote the start and the task's start: the rows share their xmin.
  const { rows } = await db.query<{ event_id: number; xmin: string }>('SELECT event_id, xmin::text AS xmin FROM engine_events WHERE run_id = $1 ORDER BY event_id', [runId]);
  expect(rows.map((r) => r.event_id)).toEqual([1, 2, 3]);
  expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);

  // A worker that is not waiting yet takes the task later, started in a write of its own.
  const other = await start(tq);
  const later = await poll(tq);
  expect(later.workflowExecution!.runId).toBe(other.runId);
  const after = await db.query<{ xmin: string }>('SELECT xmin::text AS xmin FROM engine_events WHERE run_id = $1 ORDER BY event_id', [other.runId]);
  expect(new Set(after.rows.map((r) => r.xmin)).size).toBe(2);
});

test('after a restart, a started workflow task and a started activity still time out (their timeouts are re-armed from state)', async () => {
  const tq = `q-${randomUUID()}`;
  const { workflowId, runId } = await start(tq, { workflowTaskTimeout: seconds(1) });
  const task = await poll(tq);
  await completeTask(task.taskToken, [scheduleActivity({ activityId: 'a1', activityType: { name: 'slow' }, taskQueue: { name: tq }, startToCloseTimeout: seconds(1), retryPolicy: { maximumAttempts: 1 } })]);
  const activity = await svc.pollActivityTaskQueue({ namespace, taskQueue: { name: tq }, identity: 'test' });
  expect(activity.activityId).toBe('a1');
  // A second run whose workflow task is started when the engine stops.
  const second = await start(tq, { workflowTaskTimeout: seconds(1) });
  expect((await poll(tq)).workflowExecution!.runId).toBe(second.runId);

  await connection.close();
  await engine.close();
  engine = await startEngine({ db, port: 0 });
  connection = await Connection.connect({ address: engine.address });
  svc = new Client({ connection }).workflowService;

  await new Promise((r) => setTimeout(r, 1500));
  expect(await history(workflowId)).toContain(E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  expect(await history(second.workflowId)).toContain(E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  // The timed-out task is scheduled again, on the normal queue, for the next worker.
  const retried = await poll(tq);
  expect([runId, second.runId]).toContain(retried.workflowExecution!.runId);
});
