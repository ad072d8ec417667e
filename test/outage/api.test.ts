import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/logger';
import { startSyncline, type Syncline } from '../../src/server';
import { postgresProxy, scratchDatabase, synclineConfig, waitFor } from './postgres';

jest.setTimeout(120_000);

// Postgres only (several connections, backends to terminate, a server to stop): jest.config.js
// collects this file only when DATABASE_URL is set.
describe('the API while Postgres is away', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let proxy: Awaited<ReturnType<typeof postgresProxy>>;
  let syncline: Syncline;
  const secretKey = `sk_${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    db = await scratchDatabase();
    proxy = await postgresProxy(new URL(process.env.DATABASE_URL!));
    syncline = await startSyncline(await synclineConfig(proxy.url(db.name), secretKey), createLogger('silent'));
  });

  afterAll(async () => {
    await proxy?.start().catch(() => undefined);
    await syncline?.close();
    await proxy?.close();
    await db?.drop();
  });

  const get = async (url: string, key?: string) => {
    const res = await fetch(`${syncline.url}${url}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  test('answers 503 with a JSON error and an unhealthy /health, then recovers by itself', async () => {
    expect(await get('/health')).toMatchObject({ status: 200, body: { result: 'ok', database: 'ok', temporal: 'ok' } });
    expect((await get('/connections', secretKey)).status).toBe(200);

    await proxy.stop();
    const refused = await get('/connections', secretKey);
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'database_unavailable', message: expect.any(String) } } });
    expect(refused.headers.get('retry-after')).toBe('5');
    // The engine lost its lease connection with the rest: it is away too.
    await waitFor('the engine to be reported away', async () => (await get('/health')).body.temporal === 'unavailable');
    expect(await get('/health')).toMatchObject({ status: 503, body: { result: 'unavailable', database: 'unavailable', temporal: 'unavailable' } });
    expect(await get('/health?live')).toMatchObject({ status: 200, body: { result: 'ok' } });

    await proxy.start();
    const back = Date.now();
    await waitFor('/health to be ok again', async () => (await get('/health')).status === 200);
    expect(Date.now() - back).toBeLessThan(15_000);
    expect((await get('/connections', secretKey)).status).toBe(200);
  });
});
