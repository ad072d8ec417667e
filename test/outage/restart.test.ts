import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { useOutageScenario } from './scenario';
import { waitFor } from './postgres';

// The real Postgres server restarted, then stopped for a minute, under load. It drops every other
// test's connections too, so jest.config.js collects this file only with SYNCLINE_TEST_PG_RESTART=1
// and .ci/run runs it on its own after the suite. Needs the server's `pg_ctlcluster` (Debian).
// SYNCLINE_TEST_PG_CLUSTER names the cluster to restart (default `main`): a private one, on the
// port DATABASE_URL names, leaves the server other tests use alone.
jest.setTimeout(420_000);

const version = fs.readdirSync('/etc/postgresql')[0]!;
const clusterName = process.env.SYNCLINE_TEST_PG_CLUSTER ?? 'main';
const cluster = (action: 'restart' | 'stop' | 'start' | 'status') => execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, clusterName, action], { stdio: 'ignore' });

/** Runs `disturb`, then makes sure the shared server is up whatever happened (`status` fails when it is down). */
async function disturbing(disturb: () => Promise<void> | void): Promise<void> {
  try {
    await disturb();
  } finally {
    try {
      cluster('status');
    } catch {
      cluster('start');
    }
  }
}

describe('the Postgres server restarted and stopped under load', () => {
  const scenario = useOutageScenario();

  test('a full restart (pg_ctlcluster restart)', async () => {
    const { resumedMs, statuses } = await scenario().survives('restart', () => disturbing(() => void cluster('restart')));
    process.stdout.write(`pg_ctlcluster restart: healthy again ${resumedMs} ms after; statuses ${JSON.stringify([...statuses])}\n`);
  });

  test('stopped for 60 s: 503 meanwhile, every timer that fell due fires after', async () => {
    const s = scenario();
    const { resumedMs, ranAfterMs, statuses } = await s.survives('stopped', () =>
      disturbing(async () => {
        cluster('stop');
        const down = Date.now();
        await waitFor('503 from a database-backed call', async () => (await s.api('GET', '/records?model=Item&limit=1')).status === 503, 10_000);
        expect((await fetch(`${s.syncline.url}/health`)).status).toBe(503);
        await new Promise((r) => setTimeout(r, 60_000 - (Date.now() - down)));
        cluster('start');
      }),
    );
    expect(statuses.get(503)).toBeGreaterThan(0);
    process.stdout.write(`stopped 60 s: healthy again ${resumedMs} ms after the start, scheduled run stored the data ${ranAfterMs} ms after; statuses ${JSON.stringify([...statuses])}\n`);
  });
});
