import {
  type ActivityOptions,
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities';

const act = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '50ms', backoffCoefficient: 1 } });

export const addSignal = defineSignal<[number]>('add');
export const finishSignal = defineSignal('finish');
export const totalQuery = defineQuery<number>('total');
export const stateQuery = defineQuery<string>('state');

/** One activity call. */
export async function greet(name: string): Promise<string> {
  return act.greet(name);
}

/** Fails `failures` times before succeeding: retried by the server. */
export async function flaky(key: string, failures: number): Promise<number> {
  return act.failTimes(key, failures);
}

export async function retriesExhausted(key: string): Promise<string> {
  const limited = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '20ms', maximumAttempts: 3 } });
  try {
    await limited.failTimes(key, 100);
    return 'unexpected';
  } catch (err) {
    return `${(err as Error).message}|${((err as { cause?: Error }).cause as Error).message}`;
  }
}

export async function nonRetryable(key: string): Promise<string> {
  const p = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '20ms', nonRetryableErrorTypes: ['Fatal'] } });
  try {
    await p.failWithType(key, 'Fatal');
    return 'unexpected';
  } catch (err) {
    const cause = (err as { cause?: ApplicationFailure }).cause!;
    return `${cause.type}`;
  }
}

/** Runs an activity with the given options and reports the failure cause type. */
export async function activityTimeout(kind: 'startToClose' | 'scheduleToClose' | 'heartbeat' | 'scheduleToStart', key: string): Promise<string> {
  const opts: ActivityOptions =
    kind === 'startToClose'
      ? { startToCloseTimeout: '300ms', retry: { maximumAttempts: 2, initialInterval: '10ms' } }
      : kind === 'scheduleToClose'
        ? { scheduleToCloseTimeout: '700ms', retry: { initialInterval: '10ms' } }
        : kind === 'heartbeat'
          ? { startToCloseTimeout: '10s', heartbeatTimeout: '300ms', retry: { maximumAttempts: 1 } }
          : { startToCloseTimeout: '10s', scheduleToStartTimeout: '300ms', taskQueue: 'nobody-polls-this', retry: { maximumAttempts: 1 } };
  const p = proxyActivities<typeof activities>(opts);
  try {
    await p.sleepy(key, kind === 'heartbeat' ? 'noheartbeat' : 'plain', 2000);
    return 'completed';
  } catch (err) {
    const cause = (err as { cause?: { name: string; timeoutType?: string; message: string } }).cause;
    return `${cause?.name}:${cause?.timeoutType}`;
  }
}

/** The activity sees the heartbeat details of its previous attempt. */
export async function heartbeatDetails(key: string): Promise<number> {
  const p = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', heartbeatTimeout: '5s', retry: { initialInterval: '20ms' } });
  return p.countWithHeartbeat(key);
}

/** Cancels a heartbeating activity; returns what the activity saw. */
export async function cancelActivity(key: string): Promise<string> {
  const p = proxyActivities<typeof activities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '2s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  let result = 'none';
  await CancellationScope.cancellable(async () => {
    const promise = p.sleepy(key, 'heartbeat', 15000);
    await sleep(300);
    CancellationScope.current().cancel();
    try {
      await promise;
      result = 'completed';
    } catch (err) {
      result = isCancellation(err) ? 'cancelled' : `other:${(err as Error).message}`;
    }
  });
  return result;
}

export async function timerWorkflow(ms: number): Promise<number> {
  const start = Date.now();
  await sleep(ms);
  return Date.now() - start;
}

/** Adds signalled numbers until `finish`; queries report the total. */
export async function accumulator(): Promise<number> {
  let total = 0;
  let done = false;
  setHandler(addSignal, (n) => {
    total += n;
  });
  setHandler(finishSignal, () => {
    done = true;
  });
  setHandler(totalQuery, () => total);
  await condition(() => done);
  return total;
}

/** Counts down through continue-as-new. */
export async function countdown(n: number): Promise<string> {
  if (n > 0) await continueAsNew<typeof countdown>(n - 1);
  return `done:${workflowInfo().continuedFromExecutionRunId ? 'continued' : 'first'}`;
}

/** Waits until cancelled, then runs a cleanup activity. */
export async function cancellable(key: string): Promise<string> {
  try {
    await sleep(60_000);
    return 'slept';
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => act.record(key, 'cleanup'));
    throw err;
  }
}

export async function sleeper(ms: number): Promise<string> {
  await sleep(ms);
  return 'woke';
}

/** Runs `n` activities one after another. */
export async function sequence(key: string, n: number): Promise<number> {
  let sum = 0;
  setHandler(stateQuery, () => `at:${sum}`);
  for (let i = 0; i < n; i++) sum += await act.slowAdd(key, i, 200);
  return sum;
}

export async function child(n: number): Promise<number> {
  return n * 2;
}

export async function parent(n: number): Promise<number> {
  const a = await executeChild(child, { args: [n] });
  const handle = await startChild(accumulator, { workflowId: `${workflowInfo().workflowId}-acc` });
  await handle.signal(addSignal, a);
  await getExternalWorkflowHandle(handle.workflowId).signal(finishSignal);
  return handle.result();
}

export async function tagged(value: string): Promise<string> {
  upsertSearchAttributes({ CustomKeywordField: [value] });
  await sleep(10);
  return value;
}

export async function failing(message: string): Promise<void> {
  throw ApplicationFailure.nonRetryable(message, 'Boom');
}

/** A timer, an activity and signals in flight together (the crash test kills the engine meanwhile). */
export async function inFlight(key: string): Promise<{ signals: number[]; activity: number; timerDone: boolean }> {
  const signals: number[] = [];
  setHandler(addSignal, (n) => {
    signals.push(n);
  });
  const slow = proxyActivities<typeof activities>({ startToCloseTimeout: '4s', retry: { initialInterval: '100ms' } });
  let timerDone = false;
  const timer = sleep(2500).then(() => {
    timerDone = true;
  });
  const activity = await slow.slowAdd(key, 7, 1500);
  await timer;
  await condition(() => signals.length >= 2);
  return { signals, activity, timerDone };
}

/** Starts a long child with the given parent close policy and returns without waiting for it. */
export async function leaveChild(childId: string, policy: 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL'): Promise<void> {
  await startChild(sleeper, { workflowId: childId, args: [60_000], parentClosePolicy: policy });
}

/** Fails until its third attempt (retried by the server per the workflow's retry policy). */
export async function thirdTime(): Promise<number> {
  const { attempt } = workflowInfo();
  if (attempt < 3) throw ApplicationFailure.retryable(`attempt ${attempt}`);
  return attempt;
}

/** Cancels its child and reports how the child ended. */
export async function cancelChild(childId: string): Promise<string> {
  try {
    await CancellationScope.cancellable(async () => {
      const handle = await startChild(sleeper, { workflowId: childId, args: [60_000] });
      await sleep(200);
      CancellationScope.current().cancel();
      await handle.result();
    });
    return 'completed';
  } catch (err) {
    return isCancellation(err) ? 'cancelled' : `other:${(err as Error).message}`;
  }
}

export const blobSignal = defineSignal<[string]>('blob');

/** Collects large signals until `finish`; the total length is queryable. */
export async function blobs(): Promise<number> {
  let length = 0;
  let done = false;
  setHandler(blobSignal, (s) => {
    length += s.length;
  });
  setHandler(finishSignal, () => {
    done = true;
  });
  setHandler(totalQuery, () => length);
  await condition(() => done);
  return length;
}

/** Two local activities (recorded as markers). */
export async function localGreet(name: string): Promise<string> {
  const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '5s' });
  const a = await local.greet(name);
  const b = await local.greet(a);
  return b;
}

/**
 * Continues as new once, right after a local activity (the task stays open while it runs), with
 * what was signalled: a signal arriving while that last task runs must reach the next run.
 */
export async function carriesSignals(key: string, carried: number[] = [], continued = false): Promise<number[]> {
  const values = [...carried];
  setHandler(addSignal, (n) => void values.push(n));
  if (continued) return values;
  await proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10s' }).sleepy(key, 'plain', 1000);
  return continueAsNew<typeof carriesSignals>(key, values, true);
}

/** Starting a child whose id is taken fails inside the workflow. */
export async function duplicateChild(childId: string): Promise<string> {
  await startChild(sleeper, { workflowId: childId, args: [60_000], parentClosePolicy: 'TERMINATE' });
  try {
    await startChild(sleeper, { workflowId: childId, args: [10] });
    return 'started twice';
  } catch (err) {
    return (err as Error).name;
  }
}
export * from './updates';

/** Fails its workflow task (a plain Error) while the task started before `until` (epoch ms), then returns. */
export async function failsTasksUntil(until: number): Promise<string> {
  if (Date.now() < until) throw new Error('not yet');
  return 'done';
}

/** Computes for `turns` loop turns without yielding: one activation as long as the caller makes it. */
export async function spin(turns: number): Promise<number> {
  return spinTurns(turns);
}

export function spinTurns(turns: number): number {
  let x = 0;
  for (let i = 0; i < turns; i++) x = (Math.imul(x, 31) + i) | 0;
  return x;
}
