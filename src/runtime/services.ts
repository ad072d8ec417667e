import { getFreshConnection, refresherFor } from '../providers/refresh';
import type { Store } from '../store';
import { readPublicUrl } from '../store/settings';
import type { CheckpointRange } from '../store/checkpoints';
import type { Connection, RecordCounts } from '../types';
import { incomingWebhookPath } from '../shapes';
import type { CheckpointStore, RecordSink, RuntimeServices } from './types';

type WriteKind = 'save' | 'update' | 'delete';

/**
 * A record sink that stores nothing: it keeps what a run would have written, per model, in order.
 * For `dryrun`: give it as `services.records` and print `writes` afterwards.
 *
 * @example
 * const sink = new CollectingRecordSink();
 * await runScript({ ...request, services: { ...services, records: sink } });
 * sink.writes.get('GithubIssue') // [{ kind: 'save', records: [...] }, ...]
 */
export class CollectingRecordSink implements RecordSink {
  readonly writes = new Map<string, Array<{ kind: WriteKind; records: unknown[] }>>();

  upsert(_connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts> {
    return this.keep('save', model, records);
  }

  update(_connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts> {
    return this.keep('update', model, records);
  }

  delete(_connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts> {
    return this.keep('delete', model, records);
  }

  private async keep(kind: WriteKind, model: string, records: readonly unknown[]): Promise<RecordCounts> {
    const list = this.writes.get(model) ?? [];
    list.push({ kind, records: [...records] });
    this.writes.set(model, list);
    const n = records.length;
    return { added: kind === 'save' ? n : 0, updated: kind === 'update' ? n : 0, deleted: kind === 'delete' ? n : 0 };
  }
}

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

/**
 * A CheckpointStore that notes, per key, the checkpoint an execution first found and the last one
 * it left (null once cleared), as Nango reports them in sync webhooks (`checkpoints: {from, to}`).
 *
 * @example
 * const recorder = new CheckpointRangeRecorder(new PgCheckpointStore(store.db, connection.id));
 * await runScript({ ...request, services: { ...services, checkpoints: recorder } });
 * recorder.range(key); // { from: null, to: { page: 3 } }, or null when the script never used it
 */
export class CheckpointRangeRecorder implements CheckpointStore {
  private readonly ranges = new Map<string, CheckpointRange>();

  constructor(private readonly inner: CheckpointStore) {}

  async get(key: string): Promise<Record<string, unknown> | null> {
    const checkpoint = await this.inner.get(key);
    const range = this.ranges.get(key);
    if (range) range.to = checkpoint;
    else this.ranges.set(key, { from: checkpoint, to: checkpoint });
    return checkpoint;
  }

  async save(key: string, checkpoint: Record<string, unknown>): Promise<void> {
    const range = await this.rangeOf(key);
    await this.inner.save(key, checkpoint);
    range.to = checkpoint;
  }

  async clear(key: string): Promise<void> {
    const range = await this.rangeOf(key);
    await this.inner.clear(key);
    range.to = null;
  }

  range(key: string): CheckpointRange | null {
    return this.ranges.get(key) ?? null;
  }

  /** The key's range, reading where it starts when the script writes before it reads. */
  private async rangeOf(key: string): Promise<CheckpointRange> {
    if (!this.ranges.has(key)) await this.get(key);
    return this.ranges.get(key)!;
  }
}

export interface StoreServicesOptions {
  /** Where checkpoints go; in memory by default until they have a table. */
  checkpoints?: CheckpointStore;
  triggerAction?: RuntimeServices['triggerAction'];
  /**
   * The server's public URL (`https://sync.example.com`), the origin of the incoming-webhook URLs
   * `nango.getWebhookURL()` returns. By default the one the server recorded at start
   * (`SYNCLINE_PUBLIC_URL`, or the address it listens on); null when none is known.
   */
  publicUrl?: string;
  /**
   * The execution's own connection as its caller just read it (a sync run reads it to start): the
   * execution's first fetch of it within {@link PREFETCHED_CONNECTION_MS} of `readAt` takes it
   * (refreshed if due) instead of reading it again. Later fetches read it, so a change of credentials
   * during a long run is seen.
   */
  connection?: { connection: Connection; readAt: number };
}

/** How long a connection read for an execution stands for its first fetch (the host keeps a fetched one a minute too). */
export const PREFETCHED_CONNECTION_MS = 60_000;

/**
 * Runtime services of one environment, backed by the store. Connections come with fresh
 * credentials: OAuth2 tokens expiring within 15 minutes (or any, with `forceRefresh`) are refreshed
 * by the provider layer first.
 *
 * @example
 * const services = storeServices(store, env.id, { triggerAction: (key, conn, name, input) => actions.run(...) });
 */
export function storeServices(store: Store, environmentId: number, options: StoreServicesOptions = {}): RuntimeServices {
  let prefetched = options.connection;
  return {
    getConnection: async (key, connectionId, fresh) => {
      const given = prefetched;
      const own = given?.connection.environmentId === environmentId && given.connection.providerConfigKey === key && given.connection.connectionId === connectionId;
      if (own) prefetched = undefined;
      const connection =
        own && !fresh?.forceRefresh && Date.now() - given!.readAt < PREFETCHED_CONNECTION_MS
          ? await refresherFor(store).fresh(given!.connection)
          : await getFreshConnection(store, environmentId, key, connectionId, fresh);
      await store.connections.markFetched(connection.id);
      return connection;
    },
    getIntegration: (key) => store.integrations.get(environmentId, key),
    getEnvironmentVariables: () => store.environmentVariables.list(environmentId),
    setMetadata: (key, connectionId, metadata, mode) => {
      prefetched = undefined; // it holds the metadata before the change
      return store.connections.setMetadata(environmentId, key, [connectionId], metadata, mode);
    },
    triggerAction: options.triggerAction,
    getWebhookUrl: async (key) => {
      const origin = (options.publicUrl ?? (await readPublicUrl(store.db))?.url)?.replace(/\/+$/, '');
      if (!origin) return null;
      const environment = await store.webhooks.environmentById(environmentId);
      return environment ? `${origin}${incomingWebhookPath(environment.uuid, key)}` : null;
    },
    records: store.records,
    checkpoints: options.checkpoints ?? new MemoryCheckpointStore(),
  };
}
