/**
 * A provider definition: how to authenticate and talk to one third-party API. Field names follow
 * the documented providers.yaml format (snake_case) so entries read like the public docs, and so a
 * user's own `providers.yaml` (see `user-providers.ts`) uses the same words.
 *
 * Glossary
 * - auth_mode: how the connection's credentials are obtained and injected.
 *   OAUTH2 (authorization code, with state and PKCE), OAUTH2_CC (client credentials: the end user
 *   gives a client id and secret, Syncline fetches and renews the token), OAUTH1 (1.0a, HMAC-SHA1
 *   signed requests), API_KEY, BASIC, NONE.
 * - connection config: values that belong to one connection rather than the provider, such as a
 *   subdomain or an instance URL. Asked from the end user (`connection_config`), taken from the
 *   token response or the callback's query (`connection_config_from`), and interpolated into URLs
 *   and headers as `${connectionConfig.<name>}`.
 * - proxy.base_url: prefix of every relative endpoint; `${connectionConfig.subdomain}` and similar
 *   placeholders are filled from the connection.
 * - proxy.headers / proxy.query: added to every request; may use `${accessToken}`, `${apiKey}`,
 *   `${credentials.<field>}` and `${connectionConfig.<field>}`. When one of them carries the
 *   credential (or sets `authorization`), the auth mode's default `Authorization` header is not added.
 * - proxy.retry: which responses are retried and how long to wait (rate-limit reset headers).
 * - proxy.paginate: defaults for `nango.paginate`, overridable per call.
 */
export type AuthMode = 'OAUTH2' | 'OAUTH2_CC' | 'OAUTH1' | 'API_KEY' | 'BASIC' | 'NONE';

export const AUTH_MODES: readonly AuthMode[] = ['OAUTH2', 'OAUTH2_CC', 'OAUTH1', 'API_KEY', 'BASIC', 'NONE'];

export interface RetryHints {
  /** Header(s) holding the instant at which to retry: epoch seconds, epoch milliseconds or an HTTP date. */
  at?: string | string[];
  /** Header(s) holding seconds to wait, like `Retry-After`. */
  after?: string | string[];
  /** Header whose value `0` marks a rate-limited response as retryable whatever its status. */
  remaining?: string;
  /** Statuses to retry instead of the defaults: `'429'`, `'5xx'`, `'500-502'`. */
  error_code?: string[];
}

interface PaginateCommon {
  /** Page size sent with each request under `limit_name_in_request` (scripts may give it as text, as Nango types it). */
  limit?: number | string;
  limit_name_in_request?: string;
  /** Dotted path to the array of items in the body; the body itself when absent. */
  response_path?: string;
  /** Send pagination parameters in the JSON body instead of the query (default for POST/PUT/PATCH). */
  in_body?: boolean;
}

export interface CursorPagination extends PaginateCommon {
  type: 'cursor';
  cursor_path_in_response: string;
  cursor_name_in_request: string;
}

export interface LinkPagination extends PaginateCommon {
  type: 'link';
  /** Rel of the `Link` header entry to follow, usually `next`. */
  link_rel_in_response_header?: string;
  /** Dotted path to the next page's URL in the body. */
  link_path_in_response_body?: string;
}

export interface OffsetPagination extends PaginateCommon {
  type: 'offset';
  offset_name_in_request: string;
  offset_start_value?: number;
  /** `per-page` adds 1 per page (page numbers), `by-response-size` adds the items received. */
  offset_calculation_method?: 'per-page' | 'by-response-size';
}

export type Pagination = CursorPagination | LinkPagination | OffsetPagination;

/** One value the end user types when connecting (a subdomain, a tenant id). */
export interface ConnectionConfigField {
  title?: string;
  description?: string;
  /** Regular expression the value must match. */
  pattern?: string;
  example?: string;
  /** Used when the end user gives nothing; a field without default is required. */
  default?: string;
}

export interface ProxySettings {
  base_url: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  retry?: RetryHints;
  paginate?: Pagination;
  decompress?: boolean;
}

export interface ProviderDefinition {
  display_name: string;
  auth_mode: AuthMode;
  categories?: string[];
  docs?: string;

  /** OAUTH2 / OAUTH1: where the end user is sent to consent. */
  authorization_url?: string;
  /** OAUTH2 / OAUTH2_CC / OAUTH1: where codes (or request tokens) are exchanged for tokens. */
  token_url?: string;
  /** OAUTH2: where refresh tokens are exchanged; `token_url` when absent. */
  refresh_url?: string;
  /** OAUTH1: where the temporary request token is obtained. */
  request_token_url?: string;
  /** Extra query parameters of the authorization redirect (`access_type: offline`). */
  authorization_params?: Record<string, string>;
  /** Extra body parameters of the code exchange. */
  token_params?: Record<string, string>;
  /** Extra body parameters of a refresh. */
  refresh_params?: Record<string, string>;
  default_scopes?: string[];
  /** Joins scopes in the authorization URL; a space when absent (RFC 6749). */
  scope_separator?: string;
  /** Providers that reject `code_challenge` get no PKCE. */
  disable_pkce?: boolean;
  /** How the client authenticates at the token endpoint: in the body (default) or HTTP Basic. */
  authorization_method?: 'body' | 'header';
  /** Token request body encoding: form (default) or JSON. */
  body_format?: 'form' | 'json';
  /** Seconds before expiry at which a token counts as expiring; 15 minutes when absent. */
  token_expiration_buffer?: number;

  /** Values the end user gives when connecting, by name. */
  connection_config?: Record<string, ConnectionConfigField>;
  /** Connection config copied from the token response (`instance_url`) or the callback query (`realmId`). */
  connection_config_from?: { token_response?: string[]; callback_query?: string[] };

  proxy?: ProxySettings;
  /** How the provider's webhooks to `/webhook/:environment/:integration` are checked and routed. */
  webhook?: ProviderWebhook;
}

/**
 * One way a provider signs its webhooks. Templates take `${body}` (the raw body), `${secret}`,
 * `${method}` and `${url}` (the request's method and full URL, under the public URL when one is
 * set), `${header.<name>}` and `${part.<name>}` (a `k=v` part of the signature header).
 */
export interface WebhookSignature {
  /** The header holding the signature (`x-hub-signature-256`). */
  header: string;
  /** `hmac-sha256`/`hmac-sha1`: HMAC of the signed payload with the secret; `sha256`: plain hash of the signed payload. */
  algorithm: 'hmac-sha256' | 'hmac-sha1' | 'sha256';
  /** Digest encoding; hex when absent. */
  encoding?: 'hex' | 'base64';
  /** Stripped from the header value before comparing (`sha256=`, `v0=`). */
  prefix?: string;
  /** The integration credential that is the secret; `webhook_secret` when absent. */
  secret?: 'webhook_secret' | 'client_secret';
  /** What is signed; `${body}` when absent. */
  signed_payload?: string;
  /** The header is a `k=v` list (`t=…,v1=…`): the signature is the part with this name. */
  signature_part?: string;
  /** Reject deliveries whose `timestamp_part`/header is older than this many seconds. */
  tolerance_seconds?: number;
  /** Where the delivery's Unix timestamp (seconds, or milliseconds as HubSpot's) is, for `tolerance_seconds`: `header.<name>` or `part.<name>`. */
  timestamp?: string;
}

/** Incoming webhooks of a provider. */
export interface ProviderWebhook {
  /**
   * How deliveries are signed; absent: they are accepted unsigned. Several schemes (a provider's
   * signature versions, newest first): the first whose header a delivery carries is checked.
   */
  signature?: WebhookSignature | WebhookSignature[];
  /** The event type syncs' `webhook-subscriptions` are matched against: a header or a payload path. */
  event_type?: { header?: string; payload_path?: string };
  /**
   * How a payload names its connection(s): the value at `payload_path` (dotted; arrays are searched
   * element by element) equals a connection's `connection_config` or `metadata` field; several
   * metadata fields are joined with `/` (GitHub's `repository.full_name` is metadata `owner`/`repo`).
   */
  connection?: Array<{ payload_path: string; connection_config?: string; metadata?: string | string[] }>;
}
