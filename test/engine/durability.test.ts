import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';
import { seen } from './activities';
import { harness, workflowsPath, type Harness } from './harness';
import { freePort, spawnEngine } from './process';
import { addSignal, inFlight, sequence, stateQuery } from './workflows';

jest.setTimeout(90_000);

const id = (name: string) => `${name}-${randomUUID()}`;

describe('a worker stopped mid-workflow', () => {
  let h: Harness;
  const tq = 'engine-handoff';

  beforeAll(async () => {
    h = await harness(tq);
  });

  afterAll(async () => {
    await h?.close();
  });

  test('another worker finishes the workflow', async () => {
    const key = id('handoff');
    await h.startWorker({ identity: 'first' });
    const handle = h.track(await h.client.workflow.start(sequence, { taskQueue: tq, workflowId: key, args: [key, 6], workflowTaskTimeout: '2s' }));
    while ((seen.get(key)?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 50));
    await h.stopWorker();
    const before = seen.get(key)!.length;
    expect(before).toBeLessThan(6);
    await h.startWorker({ identity: 'second' });
    expect(await handle.query(stateQuery)).toMatch(/^at:/);
    expect(await handle.result()).toBe(0 + 1 + 2 + 3 + 4 + 5);
    expect(new Set(seen.get(key))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(await h.replayAll()).toBe(1);
  });
});

describe('the engine killed with SIGKILL', () => {
  test('restarts and the workflow completes with every signal and activity result', async () => {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-crash-'));
    const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const env = { ENGINE_PORT: String(port), ENGINE_DATA_DIR: dataDir, DATABASE_SCHEMA: schema };
    let engine = await spawnEngine(env);
    const address = `127.0.0.1:${port}`;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const tq = 'engine-crash';
    const worker = await Worker.create({ connection: native, taskQueue: tq, workflowsPath, activities, shutdownGraceTime: '1s' });
    const running = worker.run();
    try {
      const key = id('crash');
      const handle = await client.workflow.start(inFlight, { taskQueue: tq, workflowId: key, args: [key], workflowTaskTimeout: '2s' });
      while (!seen.get(key)?.length) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(addSignal, 1);
      // A second run driven by raw RPCs, whose signal is certainly buffered behind a started task.
      const svc = client.workflowService;
      const rawQueue = `raw-${key}`;
      const raw = await svc.startWorkflowExecution({ namespace: 'default', workflowId: `raw-${key}`, workflowType: { name: 'raw' }, taskQueue: { name: rawQueue }, requestId: randomUUID(), workflowTaskTimeout: { seconds: 1 } as never });
      const rawTask = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: rawQueue }, identity: 'raw' });
      expect(rawTask.taskToken?.length).toBeGreaterThan(0);
      await svc.signalWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: `raw-${key}` }, signalName: 'buffered' });
      engine.kill('SIGKILL');
      await new Promise((r) => engine.once('exit', r));
      engine = await spawnEngine(env);
      await handle.signal(addSignal, 2);
      const retried = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: rawQueue }, identity: 'raw' });
      expect(retried.workflowExecution?.runId).toBe(raw.runId);
      expect(retried.history!.events!.map((e) => e.eventType)).toEqual([
        1, // WorkflowExecutionStarted
        5, // WorkflowTaskScheduled
        6, // WorkflowTaskStarted
        8, // WorkflowTaskTimedOut (the task lost with the crash)
        26, // WorkflowExecutionSignaled (was buffered)
        5,
        6,
      ]);
      const result = await handle.result();
      expect(result.signals).toEqual([1, 2]);
      expect(result.activity).toBe(7);
      expect(result.timerDone).toBe(true);
      const history = await handle.fetchHistory();
      const types = history.events!.map((e) => e.eventType);
      expect(types.filter((t) => t === 26 /* SIGNALED */)).toHaveLength(2);
      for await (const r of Worker.runReplayHistories({ workflowsPath }, [{ workflowId: key, history }])) expect(r.error).toBeUndefined();
    } finally {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      engine.kill('SIGTERM');
      await new Promise((r) => engine.once('exit', r));
      if (process.env.DATABASE_URL) {
        const { openDb } = await import('../../src/store/db');
        const db = await openDb({ url: process.env.DATABASE_URL });
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
