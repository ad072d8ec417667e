/**
 * The script runtime's public types.
 *
 * Glossary
 * - Script: one integration script entry (`github/syncs/issues.ts`), bundled by `compile.ts` into
 *   CommonJS whose default export is `fetchData(nango)` (sync) or `runAction(nango, input)` (action).
 * - Execution: one run of a compiled script in the sandbox: a fresh worker thread holding a fresh
 *   `vm` context, with a wall-clock and a memory limit.
 * - Helper: the `nango` object the script receives. Inside the sandbox it is a thin proxy that turns
 *   every call into a message; the host side (`HelperHost`) does the HTTP, store and credential work
 *   and never exposes a host object to the script.
 * - Services: what the host side needs from the rest of Syncline (connections, integrations,
 *   environment variables, metadata, records, checkpoints, triggerAction), injected per execution.
 */
import type { ModelDefinition } from '../config/nango-yaml';
import type { Pagination, ProviderDefinition } from '../providers';
import type { CollectedLogEntry, LogEntry, LogLevel } from '../store/logs';
import type { Connection, EnvironmentVariable, Integration, RecordCounts } from '../types';
import type { RecordMemory } from './records';

export type { LogEntry, LogLevel } from '../store/logs';

/** Options of `nango.get/post/put/patch/delete/proxy`, as in Nango's `ProxyConfiguration`. */
export interface ProxyConfiguration {
  endpoint: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'get' | 'post' | 'put' | 'patch' | 'delete';
  params?: string | Record<string, string | number | boolean | Array<string | number>>;
  data?: unknown;
  headers?: Record<string, string>;
  baseUrlOverride?: string;
  /** Retries after the first attempt; default 0. */
  retries?: number;
  /** Statuses retried in addition to the defaults (5xx, 429) or the provider's `error_code`. */
  retryOn?: number[] | null;
  /** Headers that tell how long to wait before retrying, overriding the provider's. */
  retryHeader?: { at?: string | string[]; after?: string | string[] };
  decompress?: boolean;
  responseType?: 'json' | 'text' | 'arraybuffer' | 'blob' | 'document' | 'stream';
  /** The provider's pagination, overridden field by field. `type` is any text, as scripts type it: an unknown one fails when paging. */
  paginate?: ScriptPagination;
  connectionId?: string;
  providerConfigKey?: string;
}

/** Each kind of pagination as a call overrides it (distributed over the kinds). */
type Overridden<P> = P extends Pagination ? Omit<Partial<P>, 'type'> & { type?: string } : never;
type ScriptPagination = Overridden<Pagination>;

/** An axios-shaped response, as scripts receive it. */
export interface ProxyResponse<T = unknown> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: Omit<ProxyConfiguration, 'method'> & { method: string; url: string };
  request: { method: string; url: string; path: string };
}

/** Where checkpoints live. Keys identify one sync (or action) of one connection. */
export interface CheckpointStore {
  get(key: string): Promise<Record<string, unknown> | null>;
  save(key: string, checkpoint: Record<string, unknown>): Promise<void>;
  clear(key: string): Promise<void>;
}

/** Where a sync's records go: `RecordStore` from `src/store` satisfies it. */
export interface RecordSink {
  upsert(connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts>;
  update(connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts>;
  delete(connection: number, model: string, records: readonly unknown[]): Promise<RecordCounts>;
  /** Reads records by id, for `getRecordsByIds`; a sink without it (a dry run) has nothing to read. */
  list?(connection: number, query: { model: string; ids: string[]; limit: number; cursor?: string }): Promise<{ records: Array<Record<string, unknown>>; next_cursor?: string | null }>;
  /**
   * `nango.trackDeletesStart/End` of a sync run (models by full name): `end` marks as deleted the
   * model's records not saved since `start` and returns their ids, or null when no phase was started.
   * A sink without it (a dry run, a webhook handler) deletes nothing.
   */
  trackDeletes?: { start(model: string): Promise<void>; end(model: string): Promise<string[] | null> };
}

/** The rest of Syncline, as one execution sees it. `storeServices` builds one from the store. */
export interface RuntimeServices {
  /** A connection with fresh credentials; `forceRefresh` asks for a refreshed token. */
  getConnection(providerConfigKey: string, connectionId: string, options?: { forceRefresh?: boolean }): Promise<Connection>;
  getIntegration(providerConfigKey: string): Promise<Integration>;
  getEnvironmentVariables(): Promise<EnvironmentVariable[]>;
  setMetadata(providerConfigKey: string, connectionId: string, metadata: Record<string, unknown>, mode: 'replace' | 'merge'): Promise<void>;
  triggerAction?(providerConfigKey: string, connectionId: string, actionName: string, input: unknown): Promise<unknown>;
  /**
   * Where the provider should send webhooks for an integration (`<public URL>/webhook/<environment
   * uuid>/<integration>`), or null when the server's public URL is not known. For `nango.getWebhookURL()`.
   */
  getWebhookUrl?(providerConfigKey: string): Promise<string | null>;
  records?: RecordSink;
  checkpoints?: CheckpointStore;
}

/** What a sync execution knows about its sync. */
export interface SyncContext {
  name: string;
  /** Models the sync declares as output: the only ones it may save. */
  models: ModelDefinition[];
  /** Every model of the config, to resolve references inside fields. */
  allModels?: ReadonlyMap<string, ModelDefinition>;
  lastSyncDate?: Date | null;
  variant?: string;
  /**
   * `fail` makes a record that does not match its model fatal; `warn` (default) logs it. A function
   * is asked at the execution's first record that does not match (once), so a run whose records all
   * match never needs to know.
   */
  validation?: 'warn' | 'fail' | (() => Promise<'warn' | 'fail'>);
}

export interface ExecutionLimits {
  /** Wall-clock limit of the whole execution. Default 5 minutes. */
  timeoutMs?: number;
  /** Memory limit of the sandbox: its heap and its ArrayBuffers/Buffers together. Default 256 MB. */
  memoryMb?: number;
}

export interface ExecutionRequest {
  kind: 'sync' | 'action';
  /** The compiled CommonJS bundle (`compileScript(...).code`). */
  code: string;
  /** Shown in stacks and errors, e.g. `github/syncs/issues.ts`. */
  scriptName: string;
  /** `compileScript(...).sourceMap`: stack frames of a failed script then point at its TypeScript files. */
  sourceMap?: string;
  providerConfigKey: string;
  connectionId: string;
  /**
   * The connection's internal id, when the caller has it: the sync's records are written and read
   * under it without fetching the connection (a fetch reads its credentials, maybe refreshes them,
   * and stamps `last_fetched_at`).
   */
  connectionPk?: number;
  environmentName?: string;
  provider: ProviderDefinition;
  services: RuntimeServices;
  /** Action input, or the webhook payload when `webhook` is set. */
  input?: unknown;
  /** A sync's webhook run: calls `onWebhookPayloadReceived(nango, input)` instead of `fetchData(nango)`. */
  webhook?: boolean;
  sync?: SyncContext;
  limits?: ExecutionLimits;
  /** Entries below this level are dropped. Default `debug`. */
  logLevel?: LogLevel | 'off';
  /**
   * Stores log entries while the execution runs (about once a second), so a crash keeps them; the
   * result's `logs` then holds only those not stored yet.
   */
  onLogs?: (entries: CollectedLogEntry[]) => Promise<void>;
  /** Base of the exponential back-off between retries; default 3000 ms (Nango's). */
  retryBaseMs?: number;
  /** Longest single wait before a retry; default 10 minutes. */
  maxRetryWaitMs?: number;
  /** Records buffered before a write to the store; default 1000. */
  flushSize?: number;
  /** The batch limit and the record budget; default the process's (`configureRecordLimits`). */
  recordMemory?: RecordMemory;
  /** Aborting stops the script at once (`script_cancelled`); buffered records are not written. */
  signal?: AbortSignal;
}

export type ScriptErrorType =
  | 'script_error'
  | 'script_timeout'
  | 'script_memory_exceeded'
  | 'action_script_runtime_error'
  | 'invalid_sync_record'
  | 'batch_too_large'
  | 'script_cancelled'
  | 'script_internal_error';

export type ExecutionResult =
  | { success: true; output: unknown; counts: Record<string, RecordCounts>; logs: LogEntry[]; durationMs: number }
  | { success: false; error: import('./errors').ScriptRunError; counts: Record<string, RecordCounts>; logs: LogEntry[]; durationMs: number };
