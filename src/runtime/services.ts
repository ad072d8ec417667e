import type { Store } from '../store';
import type { CheckpointStore, RuntimeServices } from './types';

/**
 * Checkpoints kept in memory: for tests, `dryrun` and anything short-lived. Values are copied in
 * and out, so a script never shares an object with the store.
 */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly values = new Map<string, string>();

  async get(key: string): Promise<Record<string, unknown> | null> {
    const json = this.values.get(key);
    return json === undefined ? null : (JSON.parse(json) as Record<string, unknown>);
  }

  async save(key: string, checkpoint: Record<string, unknown>): Promise<void> {
    this.values.set(key, JSON.stringify(checkpoint));
  }

  async clear(key: string): Promise<void> {
    this.values.delete(key);
  }
}

export interface StoreServicesOptions {
  /** Where checkpoints go; in memory by default until they have a table. */
  checkpoints?: CheckpointStore;
  triggerAction?: RuntimeServices['triggerAction'];
}

/**
 * Runtime services of one environment, backed by the store. Credentials are read as stored;
 * token refresh belongs to the provider layer and can wrap `getConnection`.
 *
 * @example
 * const services = storeServices(store, env.id, { triggerAction: (key, conn, name, input) => actions.run(...) });
 */
export function storeServices(store: Store, environmentId: number, options: StoreServicesOptions = {}): RuntimeServices {
  return {
    getConnection: async (key, connectionId) => {
      const connection = await store.connections.get(environmentId, key, connectionId);
      await store.connections.markFetched(connection.id);
      return connection;
    },
    getIntegration: (key) => store.integrations.get(environmentId, key),
    getEnvironmentVariables: () => store.environmentVariables.list(environmentId),
    setMetadata: (key, connectionId, metadata, mode) => store.connections.setMetadata(environmentId, key, [connectionId], metadata, mode),
    triggerAction: options.triggerAction,
    records: store.records,
    checkpoints: options.checkpoints ?? new MemoryCheckpointStore(),
  };
}
