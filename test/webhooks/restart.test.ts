import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { startOrchestration } from '../../src/worker';
import { temporalDispatcher } from '../../src/webhooks';
import { testStore } from '../helpers/db';
import { waitFor } from '../orchestration/helpers';
import { startReceiver } from './receiver';

jest.setTimeout(90_000);

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed
}

test('a delivery interrupted by a restart (engine, worker and client stopped) is retried by the next start', async () => {
  const [store, app] = await Promise.all([testStore(), startReceiver()]);
  try {
    await store.environments.ensureDefaults();
    const env = (await store.environments.byName('dev'))!;
    await store.webhooks.update(env.id, { primaryUrl: `${app.url}/hooks` });
    const logger = createLogger('silent');
    app.answers.push(503);

    const first = await startOrchestration({ store, logger, enginePort: 0 });
    const { orchestrator } = first;
    const [id] = await temporalDispatcher(store, orchestrator.client, orchestrator.taskQueue).asyncAction(env.id, { id: 'a-1', integration: 'fake', connectionId: 'c1' });
    await waitFor('the first attempt', async () => (await store.webhooks.delivery(id!))?.attempts === 1);
    await first.close();
    expect((await store.webhooks.delivery(id!))!.status).toBe('PENDING');

    const second = await startOrchestration({ store, logger, enginePort: 0 });
    try {
      const delivered = await waitFor('delivered after the restart', async () => {
        const d = await store.webhooks.delivery(id!);
        return d?.status === 'DELIVERED' && d;
      }, 30_000);
      expect(delivered.attempts).toBe(2);
      expect(app.received.map((r) => r.body.payload)).toEqual([{ id: 'a-1', statusUrl: '/action/a-1' }, { id: 'a-1', statusUrl: '/action/a-1' }]);
      const [log] = await store.webhooks.list(env.id, { limit: 1 });
      expect(log!.attemptLog.map((a) => a.statusCode)).toEqual([503, 200]);
    } finally {
      await second.close();
    }
  } finally {
    await app.close();
    await store.drop();
  }
});
