import { statementsSent } from '../../src/store/db';
import { HOURLY_ITEMS, startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// The outboxes (connection lifecycle, auth events) are drained when rows are announced, not by
// polling: a new connection's syncs start at once however rarely the loop polls, and an idle
// server sends a few statements a second at most, not eight.


const runsOf = async (t: OrchestrationTest, connectionId: string) =>
  (await t.store.db.query(`SELECT j.id FROM sync_jobs j JOIN syncs s ON s.id = j.sync_id JOIN connections c ON c.id = s.connection_id WHERE c.connection_id = $1 AND j.status = 'SUCCESS'`, [connectionId])).rows.length;

describe('with a poll far longer than the test', () => {
  let t: OrchestrationTest;
  beforeAll(async () => {
    t = await startOrchestrationTest({ lifecyclePollMs: 10 * 60_000 });
    expect((await t.deploy(HOURLY_ITEMS.yaml, HOURLY_ITEMS.code)).status).toBe(200);
  }, 120_000);
  afterAll(() => t?.close());

  test("a new connection's sync runs at once: its lifecycle row is announced", async () => {
    for (const id of ['c1', 'c2']) {
      const started = Date.now();
      await t.connect(id);
      await waitFor(`the first run of ${id}`, async () => (await runsOf(t, id)) >= 1, 30_000);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  }, 90_000);
});

describe('with the default poll', () => {
  let t: OrchestrationTest;
  beforeAll(async () => {
    t = await startOrchestrationTest();
    expect((await t.deploy(HOURLY_ITEMS.yaml, HOURLY_ITEMS.code)).status).toBe(200);
    await t.connect('c1');
    await waitFor('the first run', async () => (await runsOf(t, 'c1')) >= 1);
  }, 120_000);
  afterAll(() => t?.close());

  test('an idle server sends a few statements in five seconds (polling four times a second sent over 40)', async () => {
    const before = statementsSent();
    await new Promise((r) => setTimeout(r, 5000));
    const sent = statementsSent() - before;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(15);
  }, 30_000);
});
