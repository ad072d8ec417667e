/**
 * Syncline's public types, in one place.
 *
 * Glossary
 * - Environment: a tenant (`dev`, `prod`). It has its own secret key; every other object belongs to one.
 * - Integration: a configured provider in an environment, named by its unique key (Nango's
 *   "provider config key"), with the OAuth app credentials used to connect end users.
 * - Connection: one end user's account on an integration's provider: credentials, connection config
 *   (provider inputs such as a subdomain), free-form metadata and tags. Named by its connection id.
 * - Model: a named record shape declared in nango.yaml (`GithubIssue`); with a sync variant it is
 *   stored as `Model::variant`.
 * - Record: one synced object of a model for a connection, keyed by its `id`, with `_nango_metadata`.
 * - Sync / action: integration scripts; a sync keeps records up to date on a schedule, an action
 *   runs once per call. Each run is a Temporal workflow.
 * - Webhook: a signed POST to the product team's app (`sync`, `auth`, `async_action`, `forward`),
 *   or a provider's POST to `/webhook/<environment uuid>/<integration>`; see `src/webhooks`.
 */

/** The last thing that happened to a record. */
export type RecordAction = 'ADDED' | 'UPDATED' | 'DELETED';

/** Bookkeeping attached to every record served by `GET /records`. */
export interface RecordMetadata {
  first_seen_at: string;
  last_modified_at: string;
  last_action: RecordAction;
  deleted_at: string | null;
  /** Set once the payload was emptied by a prune; the record's id and metadata remain. */
  pruned_at: string | null;
  /** Resume paging right after this record. */
  cursor: string;
}

/** A synced record as served: the script's payload plus `id` and `_nango_metadata`. */
export interface SyncRecord {
  id: string | number;
  _nango_metadata: RecordMetadata;
  [field: string]: unknown;
}

/** How many records one write added, updated and deleted (feeds job results and webhooks). */
export interface RecordCounts {
  added: number;
  updated: number;
  deleted: number;
}

/** An environment (tenant). */
export interface Environment {
  id: number;
  name: string;
}

/** OAuth app (or other) credentials of an integration. Secret fields are encrypted at rest. */
export interface IntegrationCredentials {
  type: string;
  client_id?: string;
  client_secret?: string;
  scopes?: string;
  webhook_secret?: string;
  [field: string]: unknown;
}

export interface Integration {
  id: number;
  environmentId: number;
  uniqueKey: string;
  provider: string;
  displayName: string | null;
  credentials: IntegrationCredentials | null;
  forwardWebhooks: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A connection's credentials, by auth mode. Encrypted at rest. */
export type ConnectionCredentials =
  | { type: 'OAUTH2'; access_token: string; refresh_token?: string; expires_at?: string; raw?: Record<string, unknown>; [k: string]: unknown }
  | { type: 'API_KEY'; apiKey: string; [k: string]: unknown }
  | { type: 'BASIC'; username: string; password?: string; [k: string]: unknown }
  | { type: string; [k: string]: unknown };

/** The person (and organisation) in the product team's app who owns a connection. */
export interface EndUser {
  id: string;
  email?: string | null;
  display_name?: string | null;
  organization?: { id: string; display_name?: string | null } | null;
}

export interface Connection {
  /** Internal numeric id (the `id` field of API responses). */
  id: number;
  environmentId: number;
  integrationId: number;
  providerConfigKey: string;
  provider: string;
  connectionId: string;
  connectionConfig: Record<string, unknown>;
  metadata: Record<string, unknown>;
  tags: Record<string, string>;
  endUser: EndUser | null;
  webhookUrlOverride: string | null;
  credentials: ConnectionCredentials;
  credentialsExpiresAt: Date | null;
  lastFetchedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Something wrong with a connection, as `errors` of GET /connection(s) reports it: `auth` when its
 * last token refresh failed, `sync` when the last run of one of its syncs failed. `log_id` is the
 * `jobId` to look up in GET /logs.
 */
export interface ConnectionError {
  type: 'auth' | 'sync';
  log_id: string;
}

/** An environment variable as scripts and the API see it. Values are encrypted at rest. */
export interface EnvironmentVariable {
  name: string;
  value: string;
}
