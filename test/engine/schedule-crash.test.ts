import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import pg from 'pg';
import { engineProcess, leaseHolder } from './process';
import { greet } from './workflows';

jest.setTimeout(90_000);

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Postgres only (a row lock held from another connection, backends terminated): jest.config.js
// collects this file only when DATABASE_URL is set.
describe("a schedule whose engine is killed after an action's workflow started, before the action was recorded", () => {
  test('after the restart that action is recorded once, with the workflow started before the kill; no action is lost or taken twice', async () => {
    const engine = await engineProcess();
    const connection = await Connection.connect({ address: engine.address });
    const client = new Client({ connection });
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await holder.connect();
    const scheduleId = `crash-window-${randomUUID()}`;
    /** Every run the schedule started, read from the engine's tables: workflow ids end with the nominal time. */
    const runs = async () =>
      (await admin.query<{ workflow_id: string; run_id: string }>(`SELECT workflow_id, run_id FROM ${engine.schema}.engine_runs WHERE workflow_id LIKE $1 ORDER BY workflow_id`, [`${scheduleId}-%`])).rows;
    const recorded = async () =>
      (await admin.query<{ data: { recent: { workflowId: string }[] } }>(`SELECT data FROM ${engine.schema}.engine_schedules WHERE schedule_id = $1`, [scheduleId])).rows[0]!.data.recent.map((r) => r.workflowId);
    try {
      const handle = await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1s' }] },
        action: { type: 'startWorkflow', workflowType: greet, args: ['x'], taskQueue: 'nobody-polls' },
        policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1m' },
      });
      // Hold the schedule's row: the next look starts its action's workflow, then waits to write the row back.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${engine.schema}.engine_schedules WHERE schedule_id = $1 FOR UPDATE`, [scheduleId]);
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const blocked = await waitFor('the engine writing the schedule back', async () => {
        const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holderPid]);
        return rows.length ? rows.map((r) => r.pid) : undefined;
      });
      // The schedule is written through the connection holding the engine's lease, so no write of an
      // engine that lost it (or was killed) can land after another engine took it.
      expect(blocked).toEqual([await leaseHolder(admin, engine.schema)]);
      const written = await recorded();
      const unrecorded = (await runs()).filter((r) => !written.includes(r.workflow_id));
      expect(unrecorded.length).toBeGreaterThan(0);

      await engine.kill();
      // The killed engine's statement still waits on the lock: end it before letting the lock go, as a
      // dead client's backend is only noticed when it next talks to it.
      for (const pid of blocked) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await holder.query('ROLLBACK');
      await new Promise((r) => setTimeout(r, 2000)); // actions fall due while it is down
      await engine.restart();
      const up = Date.now();
      await waitFor('an action taken after the restart', async () => ((await handle.describe()).info.recentActions.some((a) => a.scheduledAt.getTime() > up) ? true : undefined));
      await handle.pause('counted');
      const d = await handle.describe();
      const all = await runs();

      // The action whose record the kill lost is recorded once, with the run started before the kill.
      for (const w of unrecorded) {
        const taken = d.info.recentActions.filter((a) => a.action.workflow.workflowId === w.workflow_id);
        expect(taken.map((a) => a.action.workflow.firstExecutionRunId)).toEqual([w.run_id]);
      }
      // One run per nominal time, every second from the first to the last, and as many actions counted.
      expect(new Set(all.map((r) => r.workflow_id)).size).toBe(all.length);
      const nominal = all.map((r) => Date.parse(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.exec(r.workflow_id)![0]));
      expect(nominal.every((t, i) => i === 0 || t - nominal[i - 1]! === 1000)).toBe(true);
      expect(d.info.numActionsTaken).toBe(all.length);
      expect(d.info.numActionsMissedCatchupWindow).toBe(0);
      const recent = d.info.recentActions.map((a) => a.action.workflow.workflowId);
      expect(recent).toEqual(all.slice(-recent.length).map((r) => r.workflow_id));
      await handle.delete();
    } finally {
      await holder.end().catch(() => undefined);
      await admin.end();
      await connection.close();
      await engine.close();
    }
  });
});
