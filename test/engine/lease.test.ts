import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { harness, type Harness } from './harness';
import { leaseHolder as leaseHolderOf } from './process';
import { seen } from './activities';
import { sequence, sleeper } from './workflows';

jest.setTimeout(90_000);

const id = (name: string) => `${name}-${randomUUID()}`;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Postgres only (several connections, backends to terminate, a server to stop): jest.config.js
// collects this file only when DATABASE_URL is set.
describe('the engine losing the connection that holds its lease', () => {
  let h: Harness;
  let admin: pg.Client;
  let schema: string;
  const tq = 'engine-lease';

  beforeAll(async () => {
    h = await harness(tq);
    await h.startWorker();
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    schema = (await h.db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
  });

  afterAll(async () => {
    await admin?.end();
    await h?.close();
  });

  const leaseHolder = () => leaseHolderOf(admin, schema);

  test('survives its termination, takes the lease again, and the runs in flight finish with their timers', async () => {
    const key = id('lease');
    const running = h.track(await h.client.workflow.start(sequence, { taskQueue: tq, workflowId: key, args: [key, 6], workflowTaskTimeout: '2s' }));
    const sleeping = h.track(await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: id('sleeper'), args: [1500] }));
    await waitFor('the second activity', () => (seen.get(key)?.length ?? 0) >= 2);
    const first = await leaseHolder();
    expect(first).toBeDefined();
    await admin.query('SELECT pg_terminate_backend($1)', [first]);
    // The timer falls due while the lease is being taken again.
    expect(await sleeping.result()).toBe('woke');
    expect(await running.result()).toBe(0 + 1 + 2 + 3 + 4 + 5);
    const second = await leaseHolder();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await h.replayAll()).toBe(2);
  });

  test('does nothing while another session holds the lease, and carries on once it is free', async () => {
    const key = id('lease-taken');
    const handle = h.track(await h.client.workflow.start(sequence, { taskQueue: tq, workflowId: key, args: [key, 4], workflowTaskTimeout: '2s' }));
    await waitFor('the first activity', () => (seen.get(key)?.length ?? 0) >= 1);
    // Another "engine" queues for the lock, so it gets it the moment the engine's connection dies.
    const other = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    const taken = other.query(`SELECT pg_advisory_lock(hashtext('syncline:engine' || $1))`, [schema]);
    await waitFor('the other session to queue for the lock', async () => (await admin.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = $1`, [(other as unknown as { processID: number }).processID])).rowCount === 1);
    await admin.query('SELECT pg_terminate_backend($1)', [await leaseHolder()]);
    await taken;
    expect(await leaseHolder()).toBe((other as unknown as { processID: number }).processID);
    // While the other session holds the lease, the engine neither answers nor writes.
    const events = async () => Number((await h.db.query<{ n: string }>('SELECT count(*) AS n FROM engine_events')).rows[0]!.n);
    const before = await events();
    const refused = await h.client.workflow.start(sleeper, { taskQueue: tq, workflowId: id('refused'), args: [10] }).catch((err: Error) => err);
    expect(refused).toMatchObject({ cause: { code: 14, details: 'the engine is waiting for its database' } }); // UNAVAILABLE
    await new Promise((r) => setTimeout(r, 1500)); // activities finishing meanwhile must not be recorded
    expect(await events()).toBe(before);
    await other.end();
    expect(await handle.result()).toBe(0 + 1 + 2 + 3);
  });

  test('a workflow task started before the lease was lost is retried after it, and the retry started by a later poll completes', async () => {
    // Raw RPCs: the task's worker goes quiet, as one whose result the outage swallowed. The engine
    // that takes the lease again times the task out and queues its retry while no one polls.
    const svc = h.client.workflowService;
    const queue = id('lease-raw');
    const workflowId = id('lease-raw');
    const poll = () => h.client.connection.withDeadline(Date.now() + 12_000, () => svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: queue }, identity: 'raw' }));
    await svc.startWorkflowExecution({ namespace: 'default', workflowId, workflowType: { name: 'raw' }, taskQueue: { name: queue }, requestId: randomUUID(), workflowTaskTimeout: { seconds: 1 } as never });
    expect((await poll()).attempt).toBe(1);
    await admin.query('SELECT pg_terminate_backend($1)', [await leaseHolder()]);
    await waitFor('the lease taken again', async () => (await leaseHolder()) !== undefined);
    await new Promise((r) => setTimeout(r, 1500)); // past the task's 1 s timeout
    const retry = await poll();
    expect(retry.attempt).toBe(2);
    await svc.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: retry.taskToken,
      identity: 'raw',
      commands: [{ commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
    });
    const described = await h.client.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
  });
});
