import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import type { Store } from '../../src/store';
import { testStore } from './db';

export interface TestServer {
  url: string;
  store: Store;
  /** Secret keys of the two default environments. */
  keys: { dev: string; prod: string };
  /** Environment ids. */
  env: { dev: number; prod: number };
  close(): Promise<void>;
}

/** The real API on a free loopback port over a fresh database (see testDb). */
export async function startTestServer(): Promise<TestServer> {
  const store = await testStore();
  const created = await store.environments.ensureDefaults();
  const key = (name: string) => created.find((c) => c.name === name)!.secretKey;
  const app = createApp({ store, logger: createLogger('silent') });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    keys: { dev: key('dev'), prod: key('prod') },
    env: { dev: (await store.environments.byName('dev'))!.id, prod: (await store.environments.byName('prod'))!.id },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.drop();
    },
  };
}
