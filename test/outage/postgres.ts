import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/env';

/**
 * A database of its own on the Postgres of `DATABASE_URL`, so terminating "all backends of the
 * database" hits this test only (other test files share the `test` database).
 */
export async function scratchDatabase(): Promise<{ name: string; url: string; terminateBackends(): Promise<number>; drop(): Promise<void> }> {
  const base = new URL(process.env.DATABASE_URL!);
  const name = `syncline_outage_${randomBytes(5).toString('hex')}`;
  // A connection per statement: a test that restarts the server must not leave a dead admin client behind.
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: base.toString() });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    /** What a failover does to the pools: every connection to the database (the engine's lease one too) ends. */
    async terminateBackends() {
      const { rowCount } = await admin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]));
      return rowCount ?? 0;
    },
    async drop() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * A TCP proxy in front of Postgres: `stop()` is Postgres going away (open connections cut, new ones
 * refused) without touching the server other tests use; `start()` brings it back on the same port.
 */
export async function postgresProxy(target: URL): Promise<{ url(database: string): string; stop(): Promise<void>; start(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    url(database) {
      const url = new URL(target);
      url.host = `127.0.0.1:${port}`;
      url.pathname = `/${database}`;
      return url.toString();
    },
    stop,
    start: () => listen(port),
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}

/** Polls `check` every 100 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The configuration of a Syncline in Postgres mode on `databaseUrl`, on free ports, whose dev key is `secretKey`. */
export async function synclineConfig(databaseUrl: string, secretKey: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  return loadConfig({
    ...env,
    DATABASE_URL: databaseUrl,
    PORT: String(await freePort()),
    ENGINE_PORT: String(await freePort()),
    SYNCLINE_SECRET_KEY: secretKey,
    SYNCLINE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SYNCLINE_DATA_DIR: path.join(os.tmpdir(), `syncline-outage-${randomBytes(4).toString('hex')}`),
    LOG_LEVEL: 'silent',
  });
}
