import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import { useUserProviders } from '../../src/providers';
import type { Environment } from '../../src/types';
import { startOrchestration, type Orchestration, type OrchestrationOptions } from '../../src/worker';
import type { SyncTarget } from '../../src/worker/orchestrator';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { call, type RawRequest } from '../helpers/api';
import { testStore } from '../helpers/db';
import type { TestServer } from '../helpers/server';

/** A project of one hourly sync, `items` of integration `fake`, whose script saves one record: deploy with `t.deploy(HOURLY_ITEMS.yaml, HOURLY_ITEMS.code)`. */
export const HOURLY_ITEMS = {
  yaml: `integrations:
  fake:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
`,
  code: { 'sync/items': `module.exports = async function fetchData(nango) { await nango.batchSave([{ id: 'a' }], 'Item'); };` },
};

export interface OrchestrationTest extends TestServer {
  orchestration: Orchestration;
  fake: FakeApi;
  dev: Environment;
  /** POST /sync/deploy of `yaml` with a CommonJS bundle per `type/name`. */
  deploy(yaml: string, code: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Imports an API-key connection of integration `fake`. */
  connect(connectionId: string, integration?: string): Promise<void>;
  request(method: string, path: string, request?: RawRequest): ReturnType<typeof call>;
  targets(connectionId: string, syncs?: string[], integration?: string): Promise<SyncTarget[]>;
}

let runtimeInstalled = false;

/**
 * The API with the real orchestration (embedded engine, or the Temporal server at `temporalAddress`;
 * worker, lifecycle outbox) over a fresh database, a fake third-party API as provider `fake` (API
 * key), and integration `fake`.
 */
export async function startOrchestrationTest(
  options: Pick<OrchestrationOptions, 'heartbeatTimeoutMs' | 'runsPerExecution' | 'workflowThreads' | 'temporalAddress' | 'activitySlots' | 'runLimits' | 'unfinishedActionCheckMs' | 'lifecyclePollMs'> = {},
): Promise<OrchestrationTest> {
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // already installed in this process
    }
    runtimeInstalled = true;
  }
  const [store, fake] = await Promise.all([testStore(), startFakeApi()]);
  const created = await store.environments.ensureDefaults();
  const key = (name: string) => created.find((c) => c.name === name)!.secretKey;
  useUserProviders({
    fake: { display_name: 'Fake', auth_mode: 'API_KEY', proxy: { base_url: fake.url, headers: { 'x-api-key': '${apiKey}' } } },
  } as never);
  const dev = (await store.environments.byName('dev'))!;
  const prod = (await store.environments.byName('prod'))!;
  await store.integrations.create(dev.id, { uniqueKey: 'fake', provider: 'fake' });
  const logger = createLogger('silent');
  const orchestration = await startOrchestration({ store, logger, enginePort: 0, ...options });
  const app = createApp({ store, logger, orchestrator: orchestration.orchestrator });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const t: OrchestrationTest = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    keys: { dev: key('dev'), prod: key('prod') },
    env: { dev: dev.id, prod: prod.id },
    dev,
    orchestration,
    fake,
    request: (method, path, request) => call(t, method, path, request),
    async deploy(yaml, code) {
      const flowConfigs = Object.entries(code).map(([id, js]) => {
        const [type, name, integration = 'fake'] = id.split('/');
        return { type, name, providerConfigKey: integration, fileBody: { js } };
      });
      const res = await call(t, 'POST', '/sync/deploy', { json: { nangoYamlBody: yaml, flowConfigs } });
      return { status: res.status, body: res.body };
    },
    async connect(connectionId, integration = 'fake') {
      const res = await call(t, 'POST', '/connections', { json: { provider_config_key: integration, connection_id: connectionId, credentials: { type: 'API_KEY', apiKey: 'k' } } });
      if (res.status !== 200 && res.status !== 201) throw new Error(`import failed: ${res.status} ${JSON.stringify(res.body)}`);
    },
    targets: (connectionId, syncs = [], integration = 'fake') => orchestration.orchestrator.targets(dev, integration, syncs, connectionId),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orchestration.close();
      await fake.close();
      useUserProviders({});
      await store.drop();
    },
  };
  return t;
}

/** Polls `check` until it returns something truthy (returned), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
