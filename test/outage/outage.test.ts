import { useOutageScenario } from './scenario';
import { waitFor } from './postgres';

// Postgres going away under load, in ways that leave the server other tests use alone: every backend
// of Syncline's database terminated (what a failover does to the pools and the engine's lease
// connection), then Postgres unreachable for longer than the sync interval. The process stays up,
// answers 503 meanwhile, resumes by itself, the timer that fell due fires, and nothing is lost.
// Restarting and stopping the real server: restart.test.ts.
jest.setTimeout(420_000);

// Postgres only (several connections, backends to terminate, a server to stop): jest.config.js
// collects this file only when DATABASE_URL is set.
describe('Postgres going away under load', () => {
  const scenario = useOutageScenario();

  test('every backend of the database terminated, twice: the process stays up and resumes within seconds', async () => {
    const { resumedMs, statuses } = await scenario().survives('terminated', async () => {
      const s = scenario();
      expect(await s.db.terminateBackends()).toBeGreaterThanOrEqual(2); // the pool's connections and the engine's lease connection
      await new Promise((r) => setTimeout(r, 300));
      await s.db.terminateBackends(); // while the pools reconnect and the engine re-takes its lease
    });
    process.stdout.write(`terminate backends: healthy again ${resumedMs} ms after; statuses ${JSON.stringify([...statuses])}\n`);
  });

  test('unreachable for longer than the sync interval: answers 503 meanwhile, the timer that fell due fires after', async () => {
    const s = scenario();
    let warningsWhileAway = 0;
    const { resumedMs, ranAfterMs, statuses } = await s.survives('away', async () => {
      await s.proxy.stop();
      const down = Date.now();
      await waitFor('503 from a database-backed call', async () => (await s.api('GET', '/records?model=Item&limit=1')).status === 503, 10_000);
      expect(await s.api('GET', '/records?model=Item&limit=1')).toMatchObject({ status: 503, body: { error: { code: 'database_unavailable' } } });
      expect((await fetch(`${s.syncline.url}/health`)).status).toBe(503);
      expect((await fetch(`${s.syncline.url}/health?live`)).status).toBe(200);
      // Longer than the 30 s interval: the next scheduled run falls due while the database is away.
      await new Promise((r) => setTimeout(r, 35_000 - (Date.now() - down)));
      warningsWhileAway = s.log.filter((l) => Number(l.time) >= down).length;
      await s.proxy.start();
    });
    expect(statuses.get(503)).toBeGreaterThan(0);
    // Throttled one-liners, not a stack per failure (about 8 a second before).
    expect(warningsWhileAway).toBeLessThan(60);
    process.stdout.write(`35 s away: healthy again ${resumedMs} ms after its return, scheduled run stored the data ${ranAfterMs} ms after; ${warningsWhileAway} log lines while away; statuses ${JSON.stringify([...statuses])}\n`);
  });
});
