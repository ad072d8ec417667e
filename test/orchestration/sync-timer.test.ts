import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowBundle } from '../../src/worker';
import { syncWorkflowId } from '../../src/worker/workflow-ids';
import { MODES, startTemporalDevServer, type TemporalDevServer } from '../helpers/temporal';
import { HOURLY_ITEMS, startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// A sync workflow waits for its next slot on one timer, kept when a signal wakes it early (a trigger,
// a new frequency): no timer is cancelled, and the next wait for the same slot takes the timer over.

const { EventType } = temporal.api.enums.v1;
const History = temporal.api.history.v1.History;


test('a history written when waits cancelled their timer replays on the current code', async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed in this process
  }
  // Recorded from the code before the kept timer: a first run, a trigger and a new frequency during
  // waits (each cancelling the wait's timer), then runs on the new schedule.
  const json = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/sync-history-cancelled-timers.json'), 'utf8'));
  const history = History.fromObject(json);
  expect(history.events.filter((e) => e.eventType === EventType.EVENT_TYPE_TIMER_CANCELED)).toHaveLength(2);
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, 'sync-before-kept-timer')).resolves.toBeUndefined();
}, 60_000);

describe.each(MODES)('the wait for the next slot, %s', (mode) => {
  let server: TemporalDevServer | undefined;
  let t: OrchestrationTest;

  beforeAll(async () => {
    if (mode === 'cluster') server = await startTemporalDevServer();
    t = await startOrchestrationTest({ temporalAddress: server?.address });
    expect((await t.deploy(HOURLY_ITEMS.yaml, HOURLY_ITEMS.code)).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  const finishedRuns = async () => (await t.store.db.query(`SELECT id FROM sync_jobs WHERE status <> 'RUNNING'`)).rows.length;

  test('a trigger leaves the timer of the next slot running, and runs still come at their slots', async () => {
    await t.connect('c1');
    await waitFor('the first run', async () => (await finishedRuns()) >= 1);
    const [target] = await t.targets('c1', ['items']);
    const handle = t.orchestration.orchestrator.client.workflow.getHandle(syncWorkflowId(target!.key));
    // A slot every 1.5 s, then a trigger between two slots.
    await t.orchestration.orchestrator.setFrequencyMs(target!, 1500);
    await waitFor('a run at a slot', async () => (await finishedRuns()) >= 2);
    await t.orchestration.orchestrator.trigger([target!]);
    await waitFor('the triggered run and two more at their slots', async () => (await finishedRuns()) >= 5, 30_000);

    const events = (await handle.fetchHistory()).events ?? [];
    const count = (type: number) => events.filter((e) => e.eventType === type).length;
    expect(count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toBeGreaterThanOrEqual(2);
    expect(count(EventType.EVENT_TYPE_TIMER_CANCELED)).toBe(0);
    // The slots' timers rang; the first wait's (an hour away when the frequency changed) still runs.
    expect(count(EventType.EVENT_TYPE_TIMER_FIRED)).toBeGreaterThanOrEqual(3);
    expect(count(EventType.EVENT_TYPE_TIMER_STARTED)).toBeGreaterThan(count(EventType.EVENT_TYPE_TIMER_FIRED));
  }, 90_000);
});
