import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { migrate } from '../../src/store/migrate';
import { startEngine, type RunningEngine } from '../../src/engine';
import { testDb } from '../helpers/db';
import * as activities from './activities';

let runtimeInstalled = false;

export interface Harness {
  db: Awaited<ReturnType<typeof testDb>>;
  engine: RunningEngine;
  client: Client;
  taskQueue: string;
  /** Starts the shared worker (once); `stopWorker` ends it. */
  startWorker(opts?: { taskQueue?: string; identity?: string }): Promise<Worker>;
  stopWorker(): Promise<void>;
  /** A client sharing the worker's connection, so starts can ask to run eagerly on it (after `startWorker`). */
  workerClient(): Client;
  /** Remembers a workflow so `replayAll` replays its history. */
  track<T extends Tracked>(h: T): T;
  /** Replays every tracked workflow's history (all runs); throws on nondeterminism. */
  replayAll(): Promise<number>;
  close(): Promise<void>;
}

type Tracked = Pick<WorkflowHandle, 'workflowId'> & { firstExecutionRunId?: string; signaledRunId?: string };

export const workflowsPath = path.join(__dirname, 'workflows', 'index.ts');

/** Engine on a fresh database, a client, and (on demand) one worker on `taskQueue`. */
export async function harness(taskQueue: string): Promise<Harness> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const db = await testDb();
  await migrate(db);
  const engine = await startEngine({ db, port: 0 });
  const connection = await Connection.connect({ address: engine.address });
  const client = new Client({ connection });
  let nativeConnection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const tracked: Tracked[] = [];
  const h: Harness = {
    db,
    engine,
    client,
    taskQueue,
    async startWorker(opts = {}) {
      nativeConnection ??= await NativeConnection.connect({ address: engine.address, grpcCompression: { codec: 'none' } });
      worker = await Worker.create({
        connection: nativeConnection,
        taskQueue: opts.taskQueue ?? taskQueue,
        workflowsPath,
        activities,
        ...(opts.identity ? { identity: opts.identity } : {}),
        shutdownGraceTime: '1s',
      });
      running = worker.run();
      return worker;
    },
    async stopWorker() {
      if (!worker) return;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
    },
    workerClient() {
      if (!nativeConnection) throw new Error('startWorker first');
      return new Client({ connection: nativeConnection });
    },
    track(handle) {
      tracked.push(handle);
      return handle;
    },
    async replayAll() {
      const histories = [];
      for (const handle of tracked) {
        let runId: string | undefined = handle.firstExecutionRunId ?? handle.signaledRunId;
        const seen = new Set<string>();
        while (runId && !seen.has(runId)) {
          seen.add(runId);
          const hh = client.workflow.getHandle(handle.workflowId, runId);
          const history = await hh.fetchHistory();
          histories.push({ workflowId: handle.workflowId, history });
          const last = history.events?.[history.events.length - 1];
          runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
        }
      }
      let n = 0;
      for await (const r of Worker.runReplayHistories({ workflowsPath }, histories)) {
        if (r.error) throw new Error(`replay of ${r.workflowId} failed: ${r.error.message}`);
        n++;
      }
      return n;
    },
    async close() {
      await h.stopWorker();
      await nativeConnection?.close();
      await connection.close();
      await engine.close();
      await db.drop();
    },
  };
  return h;
}
