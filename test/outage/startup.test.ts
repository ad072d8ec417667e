import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';
import { startSyncline, type Syncline } from '../../src/server';
import { postgresProxy, scratchDatabase, synclineConfig, waitFor } from './postgres';

jest.setTimeout(120_000);

// Postgres only (several connections, backends to terminate, a server to stop): jest.config.js
// collects this file only when DATABASE_URL is set.
describe('starting while Postgres is away', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let proxy: Awaited<ReturnType<typeof postgresProxy>>;
  let syncline: Syncline | undefined;

  beforeAll(async () => {
    db = await scratchDatabase();
    proxy = await postgresProxy(new URL(process.env.DATABASE_URL!));
  });

  afterAll(async () => {
    await syncline?.close();
    await proxy?.close();
    await db?.drop();
  });

  test('waits for the database with back-off, saying what it waits for, then serves', async () => {
    await proxy.stop();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger(
      'warn',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
          done();
        },
      }),
    );
    const secretKey = `sk_${randomBytes(12).toString('hex')}`;
    const config = await synclineConfig(proxy.url(db.name), secretKey);
    const started = startSyncline(config, logger).then((s) => (syncline = s));
    const waiting = () => lines.filter((l) => /^waiting for the database at 127\.0\.0\.1:\d+\/syncline_outage_\w+; retrying in [\d.]+ s$/.test(String(l.msg)));
    await waitFor('two attempts to be logged', () => waiting().length >= 2);
    expect(waiting()[0]).toMatchObject({ msg: expect.stringContaining('retrying in 0.5 s'), error: expect.stringContaining('ECONNREFUSED') });
    expect(waiting()[1]).toMatchObject({ msg: expect.stringContaining('retrying in 1 s') });
    expect(syncline).toBeUndefined();

    await proxy.start();
    await started;
    const res = await fetch(`${syncline!.url}/connections`, { headers: { authorization: `Bearer ${secretKey}` } });
    expect(res.status).toBe(200);
    expect((await (await fetch(`${syncline!.url}/health`)).json())).toMatchObject({ result: 'ok', database: 'ok', temporal: 'ok' });
  });
});
