import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client, Connection, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';
import { harness, workflowsPath, type Harness } from './harness';
import { engineProcess } from './process';
import { finishUpdate, goSignal, setValueUpdate, slowUpdate, updatable } from './workflows';

jest.setTimeout(60_000);

const id = (name: string) => `${name}-${randomUUID()}`;

/** Event type names of a history, from the numbers the client gives. */
const UPDATE_ACCEPTED = 41;
const UPDATE_COMPLETED = 43;

describe('workflow updates', () => {
  let h: Harness;
  const tq = 'engine-updates';

  beforeAll(async () => {
    h = await harness(tq);
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.close();
  });

  test('an update runs its handler and returns its result; a rejected one leaves no event; an update id runs once', async () => {
    const handle = h.track(await h.client.workflow.start(updatable, { taskQueue: tq, workflowId: id('update') }));
    expect(await handle.executeUpdate(setValueUpdate, { args: ['a'] })).toBe('set a');
    await expect(handle.executeUpdate(setValueUpdate, { args: ['bad'] })).rejects.toThrow(WorkflowUpdateFailedError);
    const updateId = randomUUID();
    expect(await handle.executeUpdate(setValueUpdate, { args: ['b'], updateId })).toBe('set b');
    // The same update id again answers the first outcome without running the handler.
    expect(await handle.executeUpdate(setValueUpdate, { args: ['c'], updateId })).toBe('set b');
    expect(await handle.executeUpdate(finishUpdate)).toBe(2);
    expect(await handle.result()).toEqual(['a', 'b']);
    const types = (await handle.fetchHistory()).events!.map((e) => e.eventType);
    expect(types.filter((t) => t === UPDATE_ACCEPTED)).toHaveLength(3);
    expect(types.filter((t) => t === UPDATE_COMPLETED)).toHaveLength(3);
    // A completed update is still answered after its workflow closed; a new one is refused.
    expect(await handle.executeUpdate(setValueUpdate, { args: ['d'], updateId })).toBe('set b');
    await expect(handle.executeUpdate(setValueUpdate, { args: ['d'] })).rejects.toThrow(WorkflowNotFoundError);
    expect(await h.replayAll()).toBeGreaterThan(0);
  });

  test('startUpdate returns once the update is accepted; its result comes when the handler finishes', async () => {
    const handle = h.track(await h.client.workflow.start(updatable, { taskQueue: tq, workflowId: id('accepted') }));
    const update = await handle.startUpdate(slowUpdate, { args: ['slow'], waitForStage: WorkflowUpdateStage.ACCEPTED });
    const svc = h.client.workflowService;
    const polled = await svc.pollWorkflowExecutionUpdate({ namespace: 'default', updateRef: { workflowExecution: { workflowId: handle.workflowId }, updateId: update.updateId } });
    expect(polled.stage).toBe(2); // UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
    expect(polled.outcome).toBeFalsy();
    await handle.signal(goSignal);
    expect(await update.result()).toBe('Hello, slow!');
    await handle.executeUpdate(finishUpdate);
    expect(await handle.result()).toEqual(['Hello, slow!']);
    expect(await h.replayAll()).toBeGreaterThan(0);
  });

  test('an accepted update whose workflow is terminated fails; a new update to it is refused', async () => {
    const handle = h.track(await h.client.workflow.start(updatable, { taskQueue: tq, workflowId: id('terminated') }));
    const update = await handle.startUpdate(slowUpdate, { args: ['never'], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await handle.terminate('enough');
    const err = await update.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((err as WorkflowUpdateFailedError).cause?.message).toMatch(/completed before the Update completed/);
    await expect(handle.executeUpdate(setValueUpdate, { args: ['late'] })).rejects.toThrow(WorkflowNotFoundError);
  });

  test('update-with-start starts the workflow, or updates the one running', async () => {
    const workflowId = id('with-start');
    const startWorkflowOperation = () => new WithStartWorkflowOperation(updatable, { workflowId, taskQueue: tq, workflowIdConflictPolicy: 'USE_EXISTING' });
    const first = startWorkflowOperation();
    expect(await h.client.workflow.executeUpdateWithStart(setValueUpdate, { args: ['one'], startWorkflowOperation: first })).toBe('set one');
    const second = startWorkflowOperation();
    expect(await h.client.workflow.executeUpdateWithStart(setValueUpdate, { args: ['two'], startWorkflowOperation: second })).toBe('set two');
    const runIds = await Promise.all([first, second].map(async (op) => (await (await op.workflowHandle()).describe()).runId));
    expect(runIds[1]).toBe(runIds[0]);
    const handle = h.track(await first.workflowHandle());
    await handle.executeUpdate(finishUpdate);
    expect(await handle.result()).toEqual(['one', 'two']);
    const conflicting = new WithStartWorkflowOperation(updatable, { workflowId: handle.workflowId, taskQueue: tq, workflowIdConflictPolicy: 'FAIL' });
    const running = await h.client.workflow.start(updatable, { taskQueue: tq, workflowId: handle.workflowId });
    await expect(h.client.workflow.executeUpdateWithStart(setValueUpdate, { args: ['x'], startWorkflowOperation: conflicting })).rejects.toThrow(WorkflowExecutionAlreadyStartedError);
    await running.terminate();
  });

  test('bad requests are refused with INVALID_ARGUMENT or NOT_FOUND', async () => {
    const handle = await h.client.workflow.start(updatable, { taskQueue: tq, workflowId: id('bad') });
    const svc = h.client.workflowService;
    const execution = { workflowId: handle.workflowId };
    await expect(svc.updateWorkflowExecution({ namespace: 'default', workflowExecution: execution, request: { meta: { updateId: 'x' }, input: { name: '' } } })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(svc.updateWorkflowExecution({ namespace: 'default', workflowExecution: execution, request: { input: { name: 'setValue' } } })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(svc.pollWorkflowExecutionUpdate({ namespace: 'default', updateRef: { workflowExecution: execution, updateId: 'unknown' } })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(svc.updateWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: 'no-such-workflow' }, request: { meta: { updateId: 'x' }, input: { name: 'setValue' } } })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await handle.terminate();
  });
});

describe('updates across an engine killed with SIGKILL', () => {
  test('an update admitted before the kill is delivered after it; one accepted before the kill completes after it', async () => {
    const engine = await engineProcess();
    const connection = await Connection.connect({ address: engine.address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: engine.address });
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    const workers: { worker: Worker; running: Promise<void> }[] = [];
    const startWorker = async (taskQueue: string) => {
      const worker = await Worker.create({ connection: native, taskQueue, workflowBundle, activities, shutdownGraceTime: '1s' });
      workers.push({ worker, running: worker.run() });
    };
    try {
      await startWorker('engine-updates-crash');
      const busy = await client.workflow.start(updatable, { taskQueue: 'engine-updates-crash', workflowId: id('accepted'), workflowTaskTimeout: '2s' });
      const accepted = await busy.startUpdate(slowUpdate, { args: ['durable'], waitForStage: WorkflowUpdateStage.ACCEPTED });
      // No worker on this queue yet: the update is admitted and waits for the workflow's first task.
      const idle = await client.workflow.start(updatable, { taskQueue: 'engine-updates-crash-later', workflowId: id('admitted'), workflowTaskTimeout: '2s' });
      const updateRef = { workflowExecution: { workflowId: idle.workflowId }, updateId: 'admitted-before-kill' };
      idle.startUpdate(setValueUpdate, { args: ['early'], updateId: updateRef.updateId, waitForStage: WorkflowUpdateStage.ACCEPTED }).catch(() => undefined); // its call dies with the engine
      for (;;) {
        const polled = await client.workflowService.pollWorkflowExecutionUpdate({ namespace: 'default', updateRef }).catch(() => undefined);
        if (polled?.stage === 1) break; // ADMITTED
        await new Promise((r) => setTimeout(r, 20));
      }
      await engine.kill();
      await engine.restart();
      await busy.signal(goSignal);
      expect(await accepted.result()).toBe('Hello, durable!');
      await startWorker('engine-updates-crash-later');
      expect(await idle.getUpdateHandle<string>(updateRef.updateId).result()).toBe('set early');
      const histories = [];
      for (const handle of [busy, idle]) {
        await handle.executeUpdate(finishUpdate);
        const history = await handle.fetchHistory();
        const types = history.events!.map((e) => e.eventType);
        expect(types.filter((t) => t === UPDATE_ACCEPTED)).toHaveLength(2);
        expect(types.filter((t) => t === UPDATE_COMPLETED)).toHaveLength(2);
        histories.push({ workflowId: handle.workflowId, history });
      }
      expect(await busy.result()).toEqual(['Hello, durable!']);
      expect(await idle.result()).toEqual(['early']);
      for await (const r of Worker.runReplayHistories({ workflowBundle }, histories)) expect(r.error).toBeUndefined();
    } finally {
      for (const w of workers) w.worker.shutdown();
      await Promise.all(workers.map((w) => w.running));
      await native.close();
      await connection.close();
      await engine.close();
    }
  });
});
