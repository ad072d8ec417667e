/**
 * The JSON shapes the SDK sends and receives: Nango's wire shapes (nango-api.md §1), field names and all.
 *
 * Glossary (see also `src/types.ts`)
 * - providerConfigKey / uniqueKey / integrationId: the key of an integration in an environment.
 * - connectionId: the id a product team gives one end user's connection to an integration.
 * - model / variant: a record shape; variant `base` is the default.
 */
import type { ConnectionCredentials, EndUser, EnvironmentVariable, IntegrationCredentials, RecordMetadata } from '../types';

export type { ConnectionCredentials, EndUser, EnvironmentVariable, IntegrationCredentials, RecordMetadata };

/** Free-form metadata stored on a connection. */
export type Metadata = Record<string, unknown>;

export interface SynclineOptions {
  /** The environment's secret key, sent as `Authorization: Bearer <key>`. */
  secretKey?: string;
  /** Nango-style name of the same key; give one of `apiKey` and `secretKey`, not both. */
  apiKey?: string;
  /** Base URL of the Syncline server. Default `http://localhost:3003`. */
  host?: string;
  /** The fetch to use (a proxy-aware one, say). Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** The environment's webhook signing key (`GET /environment/webhook`), for `verifyIncomingWebhookRequest`. */
  webhookSigningKey?: string;
}

/** `errors` entries of a connection (always empty today). */
export interface ConnectionError {
  type: string;
  log_id: string;
}

/** A connection as `GET /connections` lists it: no credentials. */
export interface ApiConnection {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  created: string;
  metadata: Metadata;
  errors: ConnectionError[];
  end_user: EndUser | null;
  tags: Record<string, string>;
}

/** A connection with its credentials, as `GET /connections/:connectionId` returns it. */
export interface ApiConnectionFull<M extends Metadata = Metadata> {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  connection_config: Record<string, unknown>;
  webhook_url_override: string | null;
  created_at: string;
  updated_at: string;
  last_fetched_at: string | null;
  metadata: M;
  errors: ConnectionError[];
  end_user: EndUser | null;
  tags: Record<string, string>;
  credentials: ConnectionCredentials;
}

/** Filters both call forms of `listConnections` take. */
interface ConnectionFilters {
  endUserOrganizationId?: string;
  /** One integration key or several. */
  integrationId?: string | string[];
  /** Connections with every one of these tags (keys ignore case). */
  tags?: Record<string, string>;
  limit?: number;
  /** Zero-based page of `limit` connections. */
  page?: number;
}

/** Legacy `listConnections(connectionId?, search?, queries?)` extra filters. */
export interface ListConnectionsQueries extends ConnectionFilters {
  endUserId?: string;
}

/** Object form of `listConnections`. */
export interface ListConnectionsParams extends ConnectionFilters {
  connectionId?: string;
  /** The end user's id (sent as `endUserId`). */
  userId?: string;
  /** Part of the connection id, end user id, email or display name. */
  search?: string;
}

/** Body of `POST /connections`: imports a connection whose credentials were obtained elsewhere. */
export interface ImportConnectionBody {
  /** Generated (a UUID) when absent. */
  connection_id?: string;
  provider_config_key: string;
  credentials: ConnectionCredentials;
  metadata?: Metadata;
  connection_config?: Record<string, unknown>;
  end_user?: EndUser | null;
  tags?: Record<string, string>;
  webhook_url_override?: string | null;
}

/** Body of `PATCH /connections/:connectionId`. */
export interface PatchConnectionBody {
  end_user?: EndUser | null;
  tags?: Record<string, string>;
  webhook_url_override?: string | null;
}

/** What `setMetadata` / `updateMetadata` answer: the request, echoed. */
export interface MetadataChangeResponse {
  metadata: Metadata;
  provider_config_key: string;
  connection_id: string | string[];
}

export interface ApiIntegration {
  unique_key: string;
  provider: string;
  display_name: string;
  logo: string | null;
  forward_webhooks: boolean;
  created_at: string;
  updated_at: string;
  /** Only with `include: ['webhook']`. */
  webhook_url?: string;
  /** Only with `include: ['credentials']`; null when the integration has none. */
  credentials?: IntegrationCredentials | null;
}

export type IntegrationInclude = 'webhook' | 'credentials';

export interface CreateIntegrationBody {
  unique_key: string;
  provider: string;
  display_name?: string;
  credentials?: IntegrationCredentials;
  forward_webhooks?: boolean;
}

export interface UpdateIntegrationBody {
  /** Renames the integration. */
  unique_key?: string;
  display_name?: string | null;
  credentials?: IntegrationCredentials | null;
  forward_webhooks?: boolean;
}

export type FilterAction = 'added' | 'updated' | 'deleted' | 'ADDED' | 'UPDATED' | 'DELETED';
export type CombinedFilterAction = `${FilterAction},${FilterAction}`;

export interface ListRecordsConfig {
  providerConfigKey: string;
  connectionId: string;
  model: string;
  variant?: string;
  /** @deprecated use `modifiedAfter` */
  delta?: string;
  /** ISO 8601 instant: only records modified at or after it. */
  modifiedAfter?: string;
  /** 1 to 10 000; the server's default is 100. */
  limit?: number;
  filter?: FilterAction | CombinedFilterAction;
  /** A previous page's `next_cursor`. */
  cursor?: string | null;
  /** At most 100 record ids. */
  ids?: string[];
}

/** A synced record: the model's fields plus `id` and `_nango_metadata`. */
export type NangoRecord<T extends Record<string, unknown> = Record<string, unknown>> = T & {
  id: string | number;
  _nango_metadata: RecordMetadata;
};

export interface RecordsPage<T extends Record<string, unknown> = Record<string, unknown>> {
  records: NangoRecord<T>[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface PruneRecordsConfig {
  providerConfigKey: string;
  connectionId: string;
  model: string;
  variant?: string;
  /** Prune records up to and including the one this cursor points at. */
  untilCursor: string;
  limit?: number;
}

export interface PruneRecordsResult {
  count: number;
  has_more: boolean;
}

export interface Success {
  success: true;
}

/** Options of `proxy` and `get/post/put/patch/delete`, as in `@nangohq/node`'s `ProxyConfiguration`. */
export interface ProxyConfiguration {
  /** Path (and query) relative to the provider's base URL: `/user/repos`. */
  endpoint: string;
  providerConfigKey: string;
  connectionId: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
  /** Sent to the provider as is (the SDK prefixes them with `Nango-Proxy-`). */
  headers?: Record<string, string>;
  params?: string | Record<string, string | number | boolean>;
  /** JSON-encoded unless a string, Buffer, Uint8Array, Blob, FormData or URLSearchParams. */
  data?: unknown;
  /** Extra attempts on 5xx, 429, network errors and `retryOn` statuses; default 0. */
  retries?: number;
  retryOn?: number[];
  baseUrlOverride?: string;
  /** Have the server decompress the provider's body. */
  decompress?: boolean;
  /** How to read the body: parsed JSON when the provider says JSON (`json`, default), `text`, `arraybuffer` (a Buffer) or `stream`. */
  responseType?: 'json' | 'text' | 'arraybuffer' | 'stream';
  forwardHeadersOnRedirect?: boolean;
}

/** The provider's answer, passed through unchanged (axios-like shape). */
export interface ProxyResponse<T = any> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, string>;
}

/** Compiled on-event scripts by integration, as Nango's deploy payload carries them. */
export type OnEventScriptsByProvider = Array<{
  providerConfigKey: string;
  scripts: Array<{ name: string; event: 'post-connection-creation' | 'pre-connection-deletion' | 'validate-connection'; fileBody: { js: string; ts?: string; map?: string } }>;
}>;

/** Body of `deploy`: the nango.yaml text and one compiled bundle per sync, action and on-event script. */
export interface DeployBody {
  nangoYamlBody: string;
  flowConfigs: Array<{ type: 'sync' | 'action'; providerConfigKey: string; name: string; fileBody: { js: string; ts?: string; /** Source map of js: stack traces in logs name the TypeScript lines. */ map?: string } }>;
  /** The scripts nango.yaml names under `on-events`. */
  onEventScriptsByProvider?: OnEventScriptsByProvider;
  /** Deactivate deployed scripts the yaml no longer has (default true). */
  reconcile?: boolean;
}

/**
 * Body of `deployFlows`: Nango's deploy payload for scripts that declare themselves, without
 * nango.yaml; each flow carries its models as JSON Schema (what `nango deploy` sends).
 */
export interface FlowsDeployBody {
  onEventScriptsByProvider?: OnEventScriptsByProvider;
  flowConfigs: Array<{
    type: 'sync' | 'action';
    syncName: string;
    providerConfigKey: string;
    /** Sync: its models; action: its output model. */
    models: string[];
    /** Sync: its metadata model; action: its input model. */
    input?: string | null;
    runs?: string | null;
    auto_start?: boolean;
    track_deletes?: boolean;
    sync_type?: 'incremental' | 'full';
    endpoints?: Array<{ method: string; path: string; group?: string }>;
    version?: string | null;
    metadata?: { description?: string; scopes?: string[] };
    webhookSubscriptions?: string[];
    models_json_schema: { definitions: Record<string, Record<string, unknown>> };
    fileBody: { js: string; ts?: string; /** Source map of js: stack traces in logs name the TypeScript lines. */ map?: string };
  }>;
  reconcile?: boolean;
}

/** One deployed script, as `deployFlows` answers (Nango's shape). */
export interface DeployedFlow {
  name: string;
  providerConfigKey: string;
  type: 'sync' | 'action';
  version?: string;
  models: string[];
}

export interface DeployResponse {
  deployment_id: number;
  scripts: Array<{ type: 'sync' | 'action'; providerConfigKey: string; name: string; version: string | null }>;
  removed: Array<{ integration: string; type: 'sync' | 'action'; name: string }>;
}

/** One integration's deployed scripts, as `getScriptsConfig` returns them. */
export interface ScriptsConfig {
  providerConfigKey: string;
  provider: string;
  syncs: Array<Record<string, unknown> & { name: string }>;
  actions: Array<Record<string, unknown> & { name: string }>;
}

/** A sync named in sync calls: its name, or name and variant. */
export type SyncName = string | { name: string; variant?: string };

/** One entry of `syncStatus`. */
export interface SyncStatus {
  id: string;
  connection_id: string;
  name: string;
  variant: string;
  status: 'RUNNING' | 'SUCCESS' | 'ERROR' | 'PAUSED' | 'STOPPED';
  /** Deprecated: INITIAL until an incremental sync has finished once. */
  type: 'INITIAL' | 'INCREMENTAL';
  finishedAt: string | null;
  nextScheduledSyncAt: string | null;
  frequency: string;
  latestResult: Record<string, { added: number; updated: number; deleted: number }> | null;
  recordCount: Record<string, number>;
  checkpoint: Record<string, unknown> | null;
}

export interface SyncStatusResponse {
  syncs: SyncStatus[];
}

/** Options of `triggerSync`: `reset` ignores and clears the checkpoint (a full resync); with it, `emptyCache` deletes the sync's records before the run. */
export interface TriggerSyncOptions {
  reset?: boolean;
  emptyCache?: boolean;
}

/** Which sync variant `createSyncVariant` and `deleteSyncVariant` address (Nango's argument). */
export interface SyncVariantProps {
  provider_config_key: string;
  connection_id: string;
  /** The sync's name. */
  name: string;
  /** Letters, digits, `_` and `-`; `base` is reserved. */
  variant: string;
}

/** A created sync variant. */
export interface SyncVariant {
  id: string;
  name: string;
  variant: string;
}

/** What `triggerActionAsync` resolves with: poll `getAsyncActionResult` with it. */
export interface AsyncActionResponse {
  id: string;
  statusUrl: string;
}

/** `POST /connect/sessions`: who connects, and to what. */
export interface ConnectSessionBody {
  end_user: { id: string; email?: string | null; display_name?: string | null; tags?: Record<string, string> };
  organization?: { id: string; display_name?: string | null } | null;
  tags?: Record<string, string>;
  /** Integration keys offered on the connect page; all when absent. */
  allowed_integrations?: string[];
  /** Per integration: connection config (a subdomain, say) and extra authorization parameters. */
  integrations_config_defaults?: Record<string, { connection_config?: Record<string, unknown>; authorization_params?: Record<string, string> }>;
  webhook_url_override?: string | null;
}

/** `POST /connect/sessions/reconnect`: re-authorise one existing connection. */
export interface ReconnectSessionBody {
  connection_id: string;
  integration_id: string;
  end_user?: ConnectSessionBody['end_user'];
  organization?: ConnectSessionBody['organization'];
  integrations_config_defaults?: ConnectSessionBody['integrations_config_defaults'];
}

export interface ConnectSession {
  data: { token: string; connect_link: string; expires_at: string };
}

/** A catalogue entry: its name plus the provider definition's fields (auth_mode, proxy, ...). */
export interface ApiProvider {
  name: string;
  display_name: string;
  auth_mode: string;
  [field: string]: unknown;
}

/**
 * `GET/PATCH /environment/settings`: how strictly the environment's scripts are held to their models
 * (Nango's runner flags). Off (the default), a mismatch is a `warn` line in the run's logs and the run
 * goes on; on, it fails the action (`invalid_action_input`, `invalid_action_output`) or the sync run
 * (`invalid_sync_record`).
 */
export interface EnvironmentSettings {
  validate_action_input: boolean;
  validate_action_output: boolean;
  validate_sync_records: boolean;
}

/** `GET/PATCH /environment/webhook`: where and when the app gets webhooks, and the key they are signed with. */
export interface WebhookSettings {
  primary_url: string | null;
  secondary_url: string | null;
  /** Also send `sync` webhooks for runs that changed nothing. */
  on_sync_completion_always: boolean;
  on_auth_creation: boolean;
  on_auth_refresh_error: boolean;
  on_sync_error: boolean;
  on_async_action_completion: boolean;
  /** Verifies `X-Nango-Hmac-Sha256`; give it to `webhookSigningKey`. */
  signing_key: string;
  /** The environment's public id: providers post to `/webhook/<environment_uuid>/<integration>`. */
  environment_uuid: string;
}

export type UpdateWebhookSettingsBody = Partial<Omit<WebhookSettings, 'signing_key' | 'environment_uuid'>>;

/** One webhook to one URL, with every attempt. */
export interface WebhookDelivery {
  id: number;
  type: 'sync' | 'auth' | 'async_action' | 'forward';
  url: string;
  connection_id: string | null;
  provider_config_key: string | null;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  body: Record<string, unknown>;
  created_at: string;
  finished_at: string | null;
  attempts: Array<{ attempt: number; status_code: number | null; error: string | null; duration_ms: number; created_at: string }>;
}

/** `listLogs` filters; every one optional. Pages come newest first unless `order: 'asc'`. */
export interface ListLogsConfig {
  connectionId?: string;
  /** Integration (provider config) key. */
  integration?: string;
  /** Only this sync's runs (exclusive with `action`). */
  sync?: string;
  /** Only this action's runs. */
  action?: string;
  /** A sync job id or an action run id. */
  jobId?: string;
  level?: LogLevel | LogLevel[];
  kind?: LogKind | LogKind[];
  /** ISO 8601 instants: lines created at or after `from`, before `to`. */
  from?: string;
  to?: string;
  order?: 'asc' | 'desc';
  /** 1 to 1000; the server's default is 100. */
  limit?: number;
  /** A previous page's `next_cursor` (same filters and order). */
  cursor?: string | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** A script's own line, one HTTP call it made through the helper, or how its run ended. */
export type LogKind = 'log' | 'http' | 'outcome';

/** One stored log line of a sync or action run. Secrets are redacted before anything is stored. */
export interface LogLine {
  id: string;
  created_at: string;
  level: LogLevel;
  kind: LogKind;
  message: string;
  operation: 'sync' | 'action' | 'webhook' | 'auth';
  integration: string;
  connection_id: string;
  /** The sync or action name. */
  name: string;
  job_id: string;
  /** For `kind: 'http'`: never headers or bodies, and no credential in the URL. */
  http: { method: string; url: string; status: number | null; duration_ms: number; error?: string } | null;
}

export interface LogsPage {
  logs: LogLine[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}
