import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { TrustedWorkflowsWorker } from '../../src/worker';
import { harness, workflowsPath, type Harness } from '../engine/harness';
import { accumulator, finishSignal, spin, spinTurns, timerWorkflow } from '../engine/workflows';

// Syncline's worker runs its workflow code without the SDK's deadline per call into the workflow
// sandbox (a watchdog thread started and joined for every call): an activation longer than the
// configured isolateExecutionTimeout completes, where the SDK's own worker fails its task. With no
// workflow threads (Syncline's default) workflow code runs on the main thread, and the hooks the SDK
// installs there for stack traces are removed again.

const { EventType } = temporal.api.enums.v1;
const TIMEOUT_MS = 100;
jest.setTimeout(90_000);

/** Loop turns that take about `ms` here: the activation the workflow makes is that long. */
function turnsLasting(ms: number): number {
  let turns = 100_000;
  for (;;) {
    const start = performance.now();
    spinTurns(turns);
    const took = performance.now() - start;
    if (took >= 20) return Math.ceil((turns * ms) / took);
    turns *= 4;
  }
}

let h: Harness;
let native: NativeConnection;
let options: WorkerOptions;

beforeAll(async () => {
  h = await harness('trusted-workflows');
  native = await NativeConnection.connect({ address: h.engine.address });
  options = {
    connection: native,
    taskQueue: h.taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } }),
    // Read by the SDK though its type leaves it out (the default is 5 s): the activations need not be as long.
    ...({ isolateExecutionTimeout: `${TIMEOUT_MS}ms` } as object),
    shutdownGraceTime: '1s',
  };
});

afterAll(async () => {
  await native?.close();
  await h?.close();
});

async function withWorker<T>(worker: Worker, fn: () => Promise<T>): Promise<T> {
  const running = worker.run();
  try {
    return await fn();
  } finally {
    worker.shutdown();
    await running;
  }
}

test.each([0, 1])('an activation longer than the SDK deadline completes on the trusted worker (%i workflow threads)', async (threads) => {
  const turns = turnsLasting(5 * TIMEOUT_MS);
  const result = await withWorker(await TrustedWorkflowsWorker.create({ ...options, workflowThreadPoolSize: threads }), () =>
    h.client.workflow.execute(spin, { taskQueue: h.taskQueue, workflowId: `spin-${randomUUID()}`, args: [turns] }),
  );
  expect(result).toBe(spinTurns(turns));
});

test('the same activation times out on the SDK worker (what the trusted worker leaves out)', async () => {
  const turns = turnsLasting(5 * TIMEOUT_MS);
  const handle = await h.client.workflow.start(spin, { taskQueue: h.taskQueue, workflowId: `spin-${randomUUID()}`, args: [turns] });
  const failure = await withWorker(await Worker.create(options), async () => {
    for (;;) {
      const history = await handle.fetchHistory();
      const failed = history.events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
      if (failed) return failed.workflowTaskFailedEventAttributes?.failure?.message;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  expect(failure).toBe(`Script execution timed out after ${TIMEOUT_MS}ms`);
  await handle.terminate();
});

/**
 * How many times making one promise reads its `constructor`: the SDK's promise hook does, for every
 * new promise (to find the workflow it belongs to). A hook another test file of this process left
 * behind (a replay runs on the main thread) reads it too, so callers compare before and after.
 */
function promiseInspections(): number {
  let inspected = 0;
  class Watched<T> extends Promise<T> {}
  Object.defineProperty(Watched.prototype, 'constructor', {
    get() {
      inspected++;
      return Watched;
    },
  });
  void new Watched<number>((resolve) => resolve(1));
  return inspected;
}

test('on the main thread the SDK leaves no hook behind: new promises are not inspected, Error.prepareStackTrace is as it was', async () => {
  const prepareStackTrace = Error.prepareStackTrace;
  const inspections = promiseInspections();
  await withWorker(await TrustedWorkflowsWorker.create({ ...options, workflowThreadPoolSize: 0 }), async () => {
    await h.client.workflow.execute(timerWorkflow, { taskQueue: h.taskQueue, workflowId: `timer-${randomUUID()}`, args: [1] });
    expect(promiseInspections()).toBe(inspections);
    expect(Error.prepareStackTrace).toBe(prepareStackTrace);
  });
});

test.each([
  [0, 'empty', ''],
  [1, "the workflow's", expect.stringContaining('accumulator')],
])('with %i workflow threads the stack trace query answers %s', async (threads, _, trace) => {
  await withWorker(await TrustedWorkflowsWorker.create({ ...options, workflowThreadPoolSize: threads }), async () => {
    const handle = await h.client.workflow.start(accumulator, { taskQueue: h.taskQueue, workflowId: `stack-${randomUUID()}` });
    expect(await handle.query<string>('__stack_trace')).toEqual(trace);
    await handle.signal(finishSignal);
    await handle.result();
  });
});
