import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { errorHandler } from '../../src/api/errors';
import { incomingWebhookRoutes } from '../../src/api/routes/webhooks';
import { createLogger } from '../../src/logger';
import type { WebhookDispatcher } from '../../src/webhooks';
import { testStore } from '../helpers/db';

let store: Awaited<ReturnType<typeof testStore>>;
let server: Server;
let url: string;
const started: unknown[] = [];

beforeAll(async () => {
  store = await testStore();
  const app = express()
    .use(incomingWebhookRoutes({ store, webhooks: {} as WebhookDispatcher, startHandler: async (args) => void started.push(args), perMinute: 3 }))
    .use(errorHandler(createLogger('silent')));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.drop();
});

const post = (environment: string) => fetch(`${url}/webhook/${environment}/github`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

test('past the per-minute limit an environment gets 429 with Retry-After, before anything is read; other environments are not affected', async () => {
  // The uuids are unknown here (404), which shows the limit is checked first and counted per path environment.
  for (let i = 0; i < 3; i++) expect((await post('env-a')).status).toBe(404);
  const limited = await post('env-a');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('60');
  expect(await limited.json()).toEqual({ error: { code: 'too_many_requests', message: expect.stringContaining('More than 3 webhooks in a minute') } });
  expect((await post('env-b')).status).toBe(404);
  expect(started).toEqual([]);
});
