/**
 * Type declarations for script authors, as text.
 *
 * - `HELPER_DECLARATIONS` goes into the generated `models.ts` (`generateModelsTs(config,
 *   HELPER_DECLARATIONS)`), so scripts `import type { NangoSync } from './models'` as with Nango.
 *   `ActionError` is a real class there, so `import { ActionError } from '../../models'` bundles it.
 * - `SANDBOX_GLOBALS` declares what the sandbox provides beyond ES2022 (console, timers, Buffer, URL,
 *   the `crypto` and `url` subsets), so the type-check rejects what would fail at run time.
 */
export const HELPER_DECLARATIONS = `// ---- Helper typings (Syncline script runtime) ----

/**
 * Throw from an action to return a descriptive error: the caller gets
 * {error:{type:'action_script_runtime_error', payload}}. Also available as \`nango.ActionError\`.
 * A payload that is not an object (a string, an array) reaches the caller as {message: payload}.
 */
export class ActionError<T = Record<string, unknown>> extends Error {
  type: string = 'action_script_runtime_error';
  payload: T;
  constructor(payload?: T) {
    const message = (payload as { message?: unknown } | null | undefined)?.message;
    super(typeof message === 'string' ? message : typeof payload === 'string' ? payload : 'ActionError');
    this.name = 'ActionError';
    this.payload = (payload ?? {}) as T;
  }
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'get' | 'post' | 'put' | 'patch' | 'delete';
export type LogLevel = 'info' | 'debug' | 'error' | 'warn' | 'http' | 'verbose' | 'silly';

/** Called after each page is received, before it is yielded: e.g. to save a checkpoint. */
export type OnPage = (state: { nextPageParam?: string | number | undefined; response: AxiosResponse }) => Promise<void>;

/** Options every kind of pagination shares. \`type\` is 'cursor', 'link' or 'offset'. */
export interface Pagination {
  type: string;
  limit?: number | string;
  limit_name_in_request: string;
  /** Dotted path of the items in the response body; the body itself by default. */
  response_path?: string;
  /** Send the pagination values in the body instead of the query (default: in the body for POST, PUT and PATCH). */
  in_body?: boolean;
  on_page?: OnPage;
}
export interface CursorPagination extends Pagination {
  cursor_path_in_response: string;
  cursor_name_in_request: string;
}
export interface LinkPagination extends Pagination {
  link_rel_in_response_header?: string;
  link_path_in_response_body?: string;
}
export interface OffsetPagination extends Pagination {
  offset_name_in_request: string;
  offset_start_value?: number;
  offset_calculation_method?: 'per-page' | 'by-response-size';
}

export interface RetryHeaderConfig {
  at?: string | string[];
  after?: string | string[];
}

export interface ProxyConfiguration {
  endpoint: string;
  providerConfigKey?: string;
  connectionId?: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  /**
   * The query string, as text or values. Values are strings, numbers or booleans (the typing of
   * Nango's nango.yaml era, so a nested object is an error where Nango reports it); for a repeated
   * key give the text: 'a=1&a=2'. Scripts importing from 'nango' get today's typing, lists allowed.
   */
  params?: string | Record<string, string | number | boolean>;
  data?: unknown;
  /** Retries after the first attempt, with exponential back-off. Default 0. */
  retries?: number;
  baseUrlOverride?: string | undefined;
  /** The provider's pagination settings, overridden field by field. */
  paginate?: Partial<CursorPagination> | Partial<LinkPagination> | Partial<OffsetPagination>;
  /** Headers that tell how long to wait before a retry. */
  retryHeader?: RetryHeaderConfig;
  responseType?: 'arraybuffer' | 'blob' | 'document' | 'json' | 'text' | 'stream' | undefined;
  /** Statuses to retry in addition to 5xx and 429. */
  retryOn?: number[] | null;
  decompress?: boolean;
}

/** The response of an HTTP call: the shape of an Axios response. */
export interface AxiosResponse<T = any> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, any>;
  config: { url?: string; method?: string; params?: any; data?: any; headers?: Record<string, any>; [key: string]: any };
  request?: any;
}

export interface EnvironmentVariable {
  name: string;
  value: string;
}

export type Metadata = Record<string, any>;

export interface MetadataChangeResponse {
  metadata: Metadata;
  provider_config_key: string;
  connection_id: string | string[];
}

export type AuthModeType =
  | 'OAUTH1' | 'OAUTH2' | 'OAUTH2_CC' | 'BASIC' | 'API_KEY' | 'APP_STORE' | 'CUSTOM' | 'APP' | 'NONE' | 'TBA' | 'JWT' | 'BILL' | 'TWO_STEP' | 'SIGNATURE';

export interface OAuth1Token {
  oAuthToken: string;
  oAuthTokenSecret: string;
}
export interface OAuth2Credentials {
  type: 'OAUTH2';
  access_token: string;
  refresh_token?: string;
  expires_at?: Date | string | undefined;
  raw: Record<string, any>;
}
export interface OAuth2ClientCredentials {
  type: 'OAUTH2_CC';
  token: string;
  expires_at?: Date | string | undefined;
  client_id: string;
  client_secret: string;
  raw: Record<string, any>;
}
export interface OAuth1Credentials {
  type: 'OAUTH1';
  oauth_token: string;
  oauth_token_secret: string;
  raw: Record<string, any>;
}
export interface BasicApiCredentials {
  type: 'BASIC';
  username: string;
  password: string;
}
export interface ApiKeyCredentials {
  type: 'API_KEY';
  apiKey: string;
}
export interface AppCredentials {
  type: 'APP';
  access_token: string;
  expires_at?: Date | string | undefined;
  raw: Record<string, any>;
}
export interface AppStoreCredentials {
  type?: 'APP_STORE';
  access_token: string;
  expires_at?: Date | string | undefined;
  raw: Record<string, any>;
  private_key: string;
}
export interface TbaCredentials {
  type: 'TBA';
  token_id: string;
  token_secret: string;
  config_override: { client_id?: string; client_secret?: string };
}
export interface JwtCredentials {
  type: 'JWT';
  [key: string]: any;
  token?: string;
  expires_at?: Date | string | undefined;
}
export interface BillCredentials {
  type: 'BILL';
  username: string;
  password: string;
  organization_id: string;
  dev_key: string;
  session_id?: string;
  user_id?: string;
  expires_at?: Date | string | undefined;
  raw: Record<string, any>;
}
export interface TwoStepCredentials {
  type: 'TWO_STEP';
  [key: string]: any;
  token?: string;
  expires_at?: Date | string | undefined;
  raw: Record<string, any>;
}
export interface SignatureCredentials {
  type: 'SIGNATURE';
  username: string;
  password: string;
  token?: string;
  expires_at?: Date | string | undefined;
}
export interface CustomCredentials {
  type: 'CUSTOM';
  raw: Record<string, any>;
  [key: string]: any;
}
export type UnauthCredentials = Record<string, never>;
export type AuthCredentials =
  | OAuth2Credentials
  | OAuth2ClientCredentials
  | OAuth1Credentials
  | BasicApiCredentials
  | ApiKeyCredentials
  | AppCredentials
  | AppStoreCredentials
  | UnauthCredentials
  | TbaCredentials
  | JwtCredentials
  | BillCredentials
  | TwoStepCredentials
  | SignatureCredentials
  | CustomCredentials;

export interface EndUser {
  id: string;
  email: string | null;
  display_name: string | null;
  organization: { id: string; display_name: string | null } | null;
}

export interface Connection {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  connection_config: Record<string, any>;
  webhook_url_override?: string | null;
  created_at: string;
  updated_at: string;
  last_fetched_at: string | null;
  metadata: Metadata | null;
  errors: Array<{ type: string; log_id: string }>;
  end_user: EndUser | null;
  tags?: Record<string, string>;
  credentials: AuthCredentials;
}

export interface Integration {
  unique_key: string;
  provider: string;
  display_name: string;
  logo: string | null;
  forward_webhooks?: boolean;
  created_at: string;
  updated_at: string;
  webhook_url?: string | null;
  /** With \`include: ['credentials']\`: the integration's app credentials, as Nango types them. */
  credentials?: IntegrationCredentials | null;
}

export type IntegrationCredentials =
  | { type: 'OAUTH1' | 'OAUTH2' | 'TBA'; client_id: string; client_secret: string; scopes?: string | undefined; webhook_secret?: string | undefined }
  | { type: 'APP'; app_id: string; app_link: string; private_key: string }
  | { type: 'CUSTOM'; client_id: string; client_secret: string; app_id: string; app_link: string; private_key: string };

/** The response of \`nango.uncontrolledFetch\`: the shape of a fetch Response. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The successful result of a zod \`safeParse\`, with \`data\` of the schema's output type. */
export interface SafeParseSuccess<Z> {
  success: true;
  data: Z;
  error?: never;
}

export interface NangoAction {
  connectionId: string;
  providerConfigKey: string;
  provider: string;
  environmentName?: string;
  /** \`throw new nango.ActionError({ message: '...' })\`: the same class as \`ActionError\` from models.ts. */
  ActionError: typeof ActionError;
  proxy<T = any>(config: ProxyConfiguration): Promise<AxiosResponse<T>>;
  get<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  post<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  put<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  patch<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  delete<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  paginate<T = any>(config: ProxyConfiguration): AsyncGenerator<T[], undefined, void>;
  /** Logs a message; the last argument may give the level: \`nango.log('message', { level: 'warn' })\`. */
  log(message: any, options?: { level?: LogLevel } | { [key: string]: any; level?: never }): Promise<void>;
  log(message: string, ...args: [any, { level?: LogLevel }]): Promise<void>;
  log(...args: any[]): Promise<void>;
  getToken(): Promise<
    | string
    | OAuth1Token
    | OAuth2ClientCredentials
    | BasicApiCredentials
    | ApiKeyCredentials
    | AppCredentials
    | AppStoreCredentials
    | UnauthCredentials
    | CustomCredentials
    | TbaCredentials
    | JwtCredentials
    | BillCredentials
    | TwoStepCredentials
    | SignatureCredentials
  >;
  getConnection(providerConfigKeyOverride?: string, connectionIdOverride?: string, options?: { forceRefresh?: boolean; refreshToken?: boolean }): Promise<Connection>;
  getIntegration(config?: { include?: Array<'credentials' | 'webhook'> }): Promise<Integration>;
  getMetadata<T = Metadata>(): Promise<T>;
  /** Replaces the connection's metadata. */
  setMetadata(metadata: Metadata): Promise<AxiosResponse<MetadataChangeResponse>>;
  /** Merges into the connection's metadata (top-level keys). */
  updateMetadata(metadata: Metadata): Promise<AxiosResponse<MetadataChangeResponse>>;
  /** The URL where the provider should send webhooks for this integration (null when the server's public URL is not known). */
  getWebhookURL(): Promise<string | null | undefined>;
  getEnvironmentVariables(): Promise<EnvironmentVariable[] | null>;
  triggerAction<In = unknown, Out = any>(providerConfigKey: string, connectionId: string, actionName: string, input?: In): Promise<Out>;
  triggerAction<In = unknown, Out = any>(actionName: string, input?: In): Promise<Out>;
  getCheckpoint<T = Record<string, any>>(): Promise<T | null>;
  saveCheckpoint<T = Record<string, any>>(checkpoint: T): Promise<void>;
  clearCheckpoint(): Promise<void>;
  /** @deprecated The \`fieldMapping\` key of the metadata. */
  getFieldMapping(): Promise<Record<string, any>>;
  /** @deprecated Sets the \`fieldMapping\` key of the metadata. */
  setFieldMapping(fieldMapping: Record<string, any>): Promise<AxiosResponse<object>>;
  /**
   * Validates input with a zod schema and returns the parsed value typed from the schema. On a
   * mismatch, logs each issue and throws \`ActionError({ message: 'Invalid input provided' })\`.
   */
  zodValidateInput<T = any, Z = any>(args: { zodSchema: { _output: Z; safeParse(value: unknown): unknown }; input: T }): Promise<SafeParseSuccess<Z>>;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  triggerSync(providerConfigKey: string, connectionId: string, sync: string | { name: string; variant: string }, syncMode?: 'incremental' | 'full_refresh' | 'full_refresh_and_clear_cache' | boolean): Promise<void | string>;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  startSync(providerConfigKey: string, syncs: Array<string | { name: string; variant: string }>, connectionId?: string): Promise<void>;
  /** Not available in Syncline yet (scripts reach the network only through the proxy): fails at run time. */
  uncontrolledFetch(options: { url: URL; method?: HttpMethod; headers?: Record<string, string> | undefined; body?: string | null }): Promise<FetchResponse>;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  getFlowAttributes<A = object>(): A | null;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  tryAcquireLock(props: { key: string; ttlMs: number }): Promise<boolean>;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  releaseLock(props: { key: string }): Promise<boolean>;
}

export interface NangoSync extends NangoAction {
  /** When the last successful run started (deprecated in favour of checkpoints). */
  lastSyncDate?: Date;
  variant: string;
  /** Upserts records; each needs an id. */
  batchSave<T = any>(records: T[], model: string): Promise<boolean | null>;
  /** @deprecated Use batchSave. */
  batchSend<T = any>(records: T[], model: string): Promise<boolean | null>;
  /** Merges partial records into existing ones. */
  batchUpdate<T = any>(records: T[], model: string): Promise<boolean | null>;
  /** Soft-deletes records; only id is read. */
  batchDelete<T = any>(records: T[], model: string): Promise<boolean | null>;
  /** Stored records of one of the sync's models, by id; ids not found are absent from the map. */
  getRecordsByIds<K = string | number, T = any>(ids: K[], model: string): Promise<Map<K, T>>;
  modelFullName(model: string): string;
  /** Starts tracking deletes of the model, unless a run that did not reach trackDeletesEnd started it already. Call it before saving. */
  trackDeletesStart(model: string): Promise<void>;
  /** Marks as deleted the model's records not saved since trackDeletesStart and returns their ids. Call it after the last save. */
  trackDeletesEnd(model: string): Promise<{ deletedKeys: string[] }>;
  /** Only 'override' (the default: the last write wins) is available; 'ignore_if_modified_after' fails at run time. */
  setMergingStrategy(merging: { strategy: 'ignore_if_modified_after' | 'override' }, model: string): Promise<void>;
}
`;

export const SANDBOX_GLOBALS = `
type BufferEncoding = 'utf8' | 'utf-8' | 'hex' | 'base64' | 'base64url' | 'latin1' | 'binary' | 'ascii';

declare var console: {
  log(...args: any[]): void;
  info(...args: any[]): void;
  debug(...args: any[]): void;
  warn(...args: any[]): void;
  error(...args: any[]): void;
  trace(...args: any[]): void;
};
interface Timeout {
  ref(): Timeout;
  unref(): Timeout;
  hasRef(): boolean;
  refresh(): Timeout;
  [Symbol.toPrimitive](): number;
}
declare function setTimeout(fn: (...args: any[]) => void, ms?: number, ...args: any[]): Timeout;
declare function setInterval(fn: (...args: any[]) => void, ms?: number, ...args: any[]): Timeout;
declare function setImmediate(fn: (...args: any[]) => void, ...args: any[]): Timeout;
declare function clearTimeout(timeout?: Timeout | number): void;
declare function clearInterval(timeout?: Timeout | number): void;
declare function clearImmediate(timeout?: Timeout | number): void;
declare function queueMicrotask(fn: () => void): void;
declare function structuredClone<T>(value: T): T;
declare function btoa(data: string): string;
declare function atob(data: string): string;

interface Buffer extends Uint8Array {
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
  toJSON(): { type: 'Buffer'; data: number[] };
  equals(other: Uint8Array): boolean;
  write(text: string, offset?: number): number;
}
declare var Buffer: {
  new (size: number): Buffer;
  prototype: Buffer;
  from(value: string, encoding?: BufferEncoding): Buffer;
  from(value: ArrayBuffer | ArrayBufferView | ArrayLike<number> | { type: 'Buffer'; data: number[] }): Buffer;
  alloc(size: number, fill?: number | string): Buffer;
  isBuffer(value: unknown): value is Buffer;
  byteLength(value: string | Uint8Array, encoding?: BufferEncoding): number;
  concat(list: readonly Uint8Array[], totalLength?: number): Buffer;
};

declare class URLSearchParams implements Iterable<[string, string]> {
  constructor(init?: string | URLSearchParams | Record<string, string> | Iterable<[string, string]>);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(fn: (value: string, key: string, params: URLSearchParams) => void): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
  toString(): string;
}
declare class URL {
  constructor(input: string, base?: string | URL);
  static canParse(input: string, base?: string): boolean;
  href: string;
  readonly origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  readonly searchParams: URLSearchParams;
  hash: string;
  toString(): string;
  toJSON(): string;
}
type HeadersInit = Headers | Iterable<readonly [string, string]> | Record<string, string>;
declare class Headers implements Iterable<[string, string]> {
  constructor(init?: HeadersInit);
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(fn: (value: string, name: string, headers: Headers) => void, thisArg?: any): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  entries(): IterableIterator<[string, string]>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}
/** A fetch response, as scripts name the type of \`nango.uncontrolledFetch\`'s answer (there is no \`fetch\`). */
interface Response {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  text(): Promise<string>;
  json(): Promise<any>;
  arrayBuffer(): Promise<ArrayBuffer>;
}
declare class TextEncoder {
  readonly encoding: string;
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  readonly encoding: string;
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

declare module 'crypto' {
  interface Hash {
    update(data: string | Uint8Array, encoding?: BufferEncoding): Hash;
    digest(): Buffer;
    digest(encoding: BufferEncoding): string;
  }
  type Hmac = Hash;
  function createHash(algorithm: string): Hash;
  function createHmac(algorithm: string, key: string | Uint8Array): Hmac;
  function randomUUID(): string;
  function randomBytes(size: number): Buffer;
  function randomInt(max: number): number;
  function randomInt(min: number, max: number): number;
  function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  type KeyLike = string | Uint8Array | { key: string | Uint8Array; passphrase?: string };
  interface Sign {
    update(data: string | Uint8Array, encoding?: BufferEncoding): Sign;
    sign(privateKey: KeyLike): Buffer;
    sign(privateKey: KeyLike, encoding: BufferEncoding): string;
  }
  interface Verify {
    update(data: string | Uint8Array, encoding?: BufferEncoding): Verify;
    verify(publicKey: KeyLike, signature: string | Uint8Array, encoding?: BufferEncoding): boolean;
  }
  function createSign(algorithm: string): Sign;
  function createVerify(algorithm: string): Verify;
  function getHashes(): string[];
}
declare module 'node:crypto' {
  export * from 'crypto';
}
declare module 'url' {
  interface UrlWithParsedQuery {
    protocol: string | null; slashes: boolean | null; auth: string | null; host: string | null; port: string | null;
    hostname: string | null; hash: string | null; search: string | null; query: any; pathname: string | null; path: string | null; href: string;
  }
  const URL: typeof globalThis.URL;
  const URLSearchParams: typeof globalThis.URLSearchParams;
  function parse(input: string, parseQueryString?: boolean): UrlWithParsedQuery;
  function format(value: string | URL | Partial<UrlWithParsedQuery>): string;
  function resolve(from: string, to: string): string;
}
declare module 'node:url' {
  export * from 'url';
}
`;

/**
 * The virtual module \`nango\` of scripts that declare themselves (\`createSync\`, \`createAction\`,
 * \`createOnEvent\`), as Nango's runner-sdk exports it: the helper typings of HELPER_DECLARATIONS
 * (imported from \`helpersModule\`), with \`NangoAction\` and \`NangoSync\` made generic over the
 * definition's zod schemas so \`getMetadata\`, checkpoints and \`batchSave\` are typed from them.
 * An option the script does not declare types as \`never\`, as in Nango. In the sandbox, \`require('nango')\` gives
 * the three functions (each returns the definition with its \`type\`) and \`ActionError\`.
 */
export function nangoModuleDeclarations(helpersModule: string): string {
  return `import type * as z from 'zod/v4';
import type { AxiosResponse, NangoAction as HelperAction, NangoSync as HelperSync, ProxyConfiguration as HelperProxyConfiguration } from '${helpersModule}';
export * from '${helpersModule}';

/** Nango's current typing: a list is a repeated key (a=1&a=2). */
export type ProxyConfiguration = Omit<HelperProxyConfiguration, 'params'> & { params?: string | Record<string, string | number | string[] | number[]> };
type HttpHelpers = 'proxy' | 'get' | 'post' | 'put' | 'patch' | 'delete' | 'paginate';

export type MaybePromise<T> = T | Promise<T>;
export type ZodMetadata = z.ZodObject | z.ZodVoid | undefined;
/** A checkpoint is an object of strings, numbers and booleans. */
export type ZodCheckpoint = z.ZodObject<Record<string, z.ZodString | z.ZodNumber | z.ZodBoolean>> | undefined;
export type ZodModel = z.ZodObject<{ id: z.ZodString }>;
export interface RawModel {
  [key: string]: unknown;
  id: string;
}
/** As Nango's: a schema's type; an option the definition does not declare gives never. */
type Inferred<T> = [T] extends [never] ? never : z.infer<Exclude<T, undefined>>;
export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  group?: string | undefined;
}

export interface NangoAction<TMetadata extends ZodMetadata = never, TCheckpoint extends ZodCheckpoint = never>
  extends Omit<HelperAction, HttpHelpers | 'getMetadata' | 'setMetadata' | 'updateMetadata' | 'getCheckpoint' | 'saveCheckpoint'> {
  proxy<T = any>(config: ProxyConfiguration): Promise<AxiosResponse<T>>;
  get<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  post<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  put<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  patch<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  delete<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  paginate<T = any>(config: ProxyConfiguration): AsyncGenerator<T[], undefined, void>;
  getMetadata<T = Inferred<TMetadata>>(): Promise<T>;
  setMetadata(metadata: Inferred<TMetadata>): ReturnType<HelperAction['setMetadata']>;
  updateMetadata(metadata: Partial<Inferred<TMetadata>>): ReturnType<HelperAction['updateMetadata']>;
  getCheckpoint(): Promise<Inferred<TCheckpoint> | null>;
  saveCheckpoint(checkpoint: Inferred<TCheckpoint>): Promise<void>;
}

type ModelOf<TModels, TName> = [TModels] extends [never] ? never : TName extends keyof TModels ? (TModels[TName] extends z.ZodType ? z.infer<TModels[TName]> : never) : never;

export interface NangoSync<
  TModels extends Record<string, ZodModel> = never,
  TMetadata extends ZodMetadata = never,
  TCheckpoint extends ZodCheckpoint = never,
  TModelName extends keyof TModels = keyof TModels
> extends NangoAction<TMetadata, TCheckpoint>, Pick<HelperSync, 'lastSyncDate' | 'variant' | 'modelFullName'> {
  batchSave<TModel extends RawModel = ModelOf<TModels, TModelName>>(results: TModel[], model: TModelName): Promise<boolean>;
  /** @deprecated Use batchSave. */
  batchSend<TModel extends RawModel = ModelOf<TModels, TModelName>>(results: TModel[], model: TModelName): Promise<boolean | null>;
  batchUpdate<TModel extends RawModel = ModelOf<TModels, TModelName>>(results: (Pick<TModel, 'id'> & Partial<TModel>)[], model: TModelName): Promise<boolean>;
  batchDelete<TModel extends RawModel = ModelOf<TModels, TModelName>>(results: (Pick<TModel, 'id'> & Partial<TModel>)[], model: TModelName): Promise<boolean>;
  getRecordsByIds<TKey = string | number, TModel extends RawModel = ModelOf<TModels, TModelName>>(ids: TKey[], model: TModelName): Promise<Map<TKey, TModel>>;
  setMergingStrategy(merging: { strategy: 'ignore_if_modified_after' | 'override' }, model: TModelName): Promise<void>;
  /** Not available in Syncline yet: fails at run time with an error that says so. */
  listRecords<TModel extends RawModel = ModelOf<TModels, TModelName>>(model: TModelName, options?: { cursor?: string }): AsyncGenerator<TModel>;
  /** Starts tracking deletes of the model, unless a run that did not reach trackDeletesEnd started it already. Call it before saving. */
  trackDeletesStart(model: TModelName): Promise<void>;
  /** Marks as deleted the model's records not saved since trackDeletesStart and returns their ids. Call it after the last save. */
  trackDeletesEnd(model: TModelName): Promise<{ deletedKeys: string[] }>;
  /** @deprecated Not available in Syncline yet: fails at run time with an error that says so. */
  deleteRecordsFromPreviousExecutions(model: TModelName): Promise<{ deletedKeys: string[] }>;
}

export interface CreateSyncProps<TModels extends Record<string, ZodModel>, TMetadata extends ZodMetadata = never, TCheckpoint extends ZodCheckpoint = never> {
  version?: string;
  description: string;
  /** @deprecated As in Nango: endpoints are optional. */
  endpoints?: Endpoint[];
  /** e.g. 'every hour', 'every 5 minutes' (30 seconds to 31 days). */
  frequency: string;
  models: TModels;
  /** @deprecated */
  syncType?: 'full' | 'incremental';
  /** @deprecated */
  trackDeletes?: boolean;
  autoStart?: boolean;
  scopes?: string[];
  metadata?: TMetadata;
  checkpoint?: TCheckpoint;
  webhookSubscriptions?: string[];
  exec: (nango: NangoSync<TModels, TMetadata, TCheckpoint>) => MaybePromise<void>;
  onWebhook?: (nango: NangoSync<TModels, TMetadata, TCheckpoint>, payload: any) => MaybePromise<void>;
}
export interface CreateSyncResponse<TModels extends Record<string, ZodModel>, TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined>
  extends CreateSyncProps<TModels, TMetadata, TCheckpoint> {
  type: 'sync';
}
export declare function createSync<TModels extends Record<string, ZodModel>, TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined>(
  params: CreateSyncProps<TModels, TMetadata, TCheckpoint>
): CreateSyncResponse<TModels, TMetadata, TCheckpoint>;

export interface CreateActionProps<TInput extends z.ZodTypeAny, TOutput extends z.ZodTypeAny, TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined> {
  version?: string;
  description: string;
  /** @deprecated As in Nango: the endpoint is optional. */
  endpoint?: Endpoint;
  input: TInput;
  output: TOutput;
  metadata?: TMetadata;
  checkpoint?: TCheckpoint;
  scopes?: string[];
  exec: (nango: NangoAction<TMetadata, TCheckpoint>, input: z.infer<TInput>) => MaybePromise<z.infer<TOutput>>;
}
export interface CreateActionResponse<TInput extends z.ZodTypeAny, TOutput extends z.ZodTypeAny, TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined>
  extends CreateActionProps<TInput, TOutput, TMetadata, TCheckpoint> {
  type: 'action';
}
export declare function createAction<TInput extends z.ZodTypeAny, TOutput extends z.ZodTypeAny, TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined>(
  params: CreateActionProps<TInput, TOutput, TMetadata, TCheckpoint>
): CreateActionResponse<TInput, TOutput, TMetadata, TCheckpoint>;

export interface CreateOnEventProps<TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined> {
  version?: string;
  description: string;
  event: 'post-connection-creation' | 'pre-connection-deletion' | 'validate-connection';
  metadata?: TMetadata;
  checkpoint?: TCheckpoint;
  exec: (nango: NangoAction<TMetadata, TCheckpoint>) => MaybePromise<void>;
}
export interface CreateOnEventResponse<TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined> extends CreateOnEventProps<TMetadata, TCheckpoint> {
  type: 'onEvent';
}
export declare function createOnEvent<TMetadata extends ZodMetadata = undefined, TCheckpoint extends ZodCheckpoint = undefined>(
  params: CreateOnEventProps<TMetadata, TCheckpoint>
): CreateOnEventResponse<TMetadata, TCheckpoint>;
`;
}
