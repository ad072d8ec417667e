import type { ModelDefinition } from '../../src/config/nango-yaml';
import { PROVIDERS, type ProviderDefinition } from '../../src/providers';
import { MemoryCheckpointStore, runScript, storeServices, type ExecutionRequest, type ExecutionResult, type RuntimeServices } from '../../src/runtime';
import type { Store } from '../../src/store';
import type { ConnectionCredentials } from '../../src/types';
import { startFakeApi, type FakeApi } from '../fixtures/fake-apis';
import { testStore } from '../helpers/db';

export const TOKEN = 'gho_runtime_test_token_0001';

/** Source of a script whose default export runs `body` with `nango` and `input` in scope. */
export const script = (body: string) => `module.exports.default = async function (nango, input) {\n${body}\n};`;

export interface Harness {
  store: Store;
  environmentId: number;
  api: FakeApi;
  /** GitHub's definition pointed at the fake API. */
  github: ProviderDefinition;
  checkpoints: MemoryCheckpointStore;
  services: RuntimeServices;
  /** Runs an action (or a sync with `kind: 'sync'`) against connection `c1` of integration `github`. */
  run(code: string, options?: Partial<ExecutionRequest>): Promise<ExecutionResult>;
  connect(connectionId: string, credentials: ConnectionCredentials, connectionConfig?: Record<string, unknown>): Promise<number>;
  /** The store id of connection `c1`. */
  connectionPk: number;
  close(): Promise<void>;
}

export const issueModel: ModelDefinition = {
  name: 'Issue',
  fields: [
    { name: 'id', type: { kind: 'primitive', name: 'number' }, optional: false },
    { name: 'title', type: { kind: 'primitive', name: 'string' }, optional: false },
    { name: 'labels', type: { kind: 'array', of: { kind: 'primitive', name: 'string' } }, optional: true },
  ],
};

export async function harness(): Promise<Harness> {
  const store = await testStore();
  await store.environments.ensureDefaults();
  const environmentId = (await store.environments.byName('dev'))!.id;
  await store.integrations.create(environmentId, { uniqueKey: 'github', provider: 'github', credentials: { type: 'OAUTH2', client_id: 'cid', client_secret: 'integration-client-secret' } });
  const api = await startFakeApi();
  const github: ProviderDefinition = { ...PROVIDERS.github!, proxy: { ...PROVIDERS.github!.proxy!, base_url: api.url } };
  const checkpoints = new MemoryCheckpointStore();
  const triggered: unknown[] = [];
  const services = storeServices(store, environmentId, {
    checkpoints,
    triggerAction: async (key, connectionId, name, input) => {
      triggered.push({ key, connectionId, name, input });
      return { triggered: name, input };
    },
  });
  const connect = async (connectionId: string, credentials: ConnectionCredentials, connectionConfig?: Record<string, unknown>) =>
    (await store.connections.upsert(environmentId, 'github', { connectionId, credentials, connectionConfig })).connection.id;
  const connectionPk = await connect('c1', { type: 'OAUTH2', access_token: TOKEN, refresh_token: 'refresh-token-0001' });
  return {
    store,
    environmentId,
    api,
    github,
    checkpoints,
    services,
    connect,
    connectionPk,
    run: (code, options = {}) =>
      runScript({
        kind: 'action',
        code,
        scriptName: 'test-script.js',
        providerConfigKey: 'github',
        connectionId: 'c1',
        environmentName: 'dev',
        provider: github,
        services,
        retryBaseMs: 20,
        limits: { timeoutMs: 10_000, memoryMb: 96 },
        ...options,
      }),
    async close() {
      await api.close();
      await store.drop();
    },
  };
}

/** The output of a successful execution, or a failure that names the error. */
export function outputOf(result: ExecutionResult): any {
  if (!result.success) throw new Error(`execution failed: ${result.error.type} ${result.error.message}\n${result.error.stack ?? ''}`);
  return result.output;
}
