import { randomUUID } from 'node:crypto';
import { seen } from './activities';
import { harness, type Harness } from './harness';
import { activityTimeout, cancelActivity, flaky, heartbeatDetails, nonRetryable, retriesExhausted } from './workflows';

jest.setTimeout(60_000);

let h: Harness;
const tq = 'engine-activities';

beforeAll(async () => {
  h = await harness(tq);
  await h.startWorker();
});

afterAll(async () => {
  await h?.close();
});

const key = (name: string) => `${name}-${randomUUID()}`;

async function run<T>(fn: (...args: any[]) => Promise<T>, args: unknown[], workflowId = key(fn.name)): Promise<T> {
  const handle = h.track(await h.client.workflow.start(fn, { taskQueue: tq, workflowId, args }));
  return handle.result() as Promise<T>;
}

test('a failing activity is retried by the server until it succeeds; retries leave no events', async () => {
  const k = key('flaky');
  expect(await run(flaky, [k, 2], k)).toBe(3);
  expect(seen.get(k)).toEqual([1, 2, 3]);
  const history = await h.client.workflow.getHandle(k).fetchHistory();
  const types = history.events!.map((e) => e.eventType);
  expect(types.filter((t) => t === 10 /* ACTIVITY_TASK_SCHEDULED */)).toHaveLength(1);
  const started = history.events!.find((e) => e.activityTaskStartedEventAttributes)!.activityTaskStartedEventAttributes!;
  expect(started.attempt).toBe(3);
  expect(started.lastFailure?.message).toBe('attempt 2 failed');
});

test('retries stop at maximumAttempts and the workflow sees the last failure', async () => {
  const k = key('exhaust');
  expect(await run(retriesExhausted, [k], k)).toBe('Activity task failed|attempt 3 failed');
  expect(seen.get(k)).toEqual([1, 2, 3]);
});

test('a non-retryable error type fails at once', async () => {
  const k = key('nonretry');
  expect(await run(nonRetryable, [k], k)).toBe('Fatal');
  expect(seen.get(k)).toEqual([1]);
});

test('start-to-close timeout is retried, then reported as a timeout', async () => {
  const k = key('stc');
  expect(await run(activityTimeout, ['startToClose', k], k)).toBe('TimeoutFailure:START_TO_CLOSE');
  expect(seen.get(k)).toEqual([1, 2]);
});

test('schedule-to-close timeout bounds all attempts', async () => {
  const k = key('s2c');
  const started = Date.now();
  expect(await run(activityTimeout, ['scheduleToClose', k], k)).toBe('TimeoutFailure:SCHEDULE_TO_CLOSE');
  expect(Date.now() - started).toBeLessThan(1900);
});

test('heartbeat timeout fires when the activity stops heartbeating', async () => {
  const k = key('hb');
  expect(await run(activityTimeout, ['heartbeat', k], k)).toBe('TimeoutFailure:HEARTBEAT');
});

test('schedule-to-start timeout fires when no worker takes the task', async () => {
  const k = key('s2s');
  expect(await run(activityTimeout, ['scheduleToStart', k], k)).toBe('TimeoutFailure:SCHEDULE_TO_START');
  expect(seen.get(k)).toBeUndefined();
});

test('a retried attempt sees the heartbeat details of the previous one', async () => {
  const k = key('details');
  expect(await run(heartbeatDetails, [k], k)).toBe(20);
  expect(seen.get(k)).toEqual([
    { attempt: 1, last: 0 },
    { attempt: 2, last: 10 },
    { attempt: 3, last: 20 },
  ]);
});

test('cancelling a heartbeating activity delivers the cancellation to it', async () => {
  const k = key('cancel');
  expect(await run(cancelActivity, [k], k)).toBe('cancelled');
  expect(seen.get(k)).toEqual([1, 'cancelled']);
  const history = await h.client.workflow.getHandle(k).fetchHistory();
  expect(history.events!.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
  expect(history.events!.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
});

test('every history replays deterministically', async () => {
  expect(await h.replayAll()).toBe(9);
});
