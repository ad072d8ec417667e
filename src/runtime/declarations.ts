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

/** Throw from an action to return a descriptive error: the caller gets {error:{type:'action_script_runtime_error', payload}}. */
export class ActionError<T = Record<string, unknown>> extends Error {
  type = 'action_script_runtime_error';
  payload: T;
  constructor(payload?: T) {
    super(typeof (payload as { message?: unknown } | undefined)?.message === 'string' ? String((payload as { message: string }).message) : 'ActionError');
    this.name = 'ActionError';
    this.payload = (payload ?? {}) as T;
  }
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface CursorPagination {
  type: 'cursor';
  cursor_path_in_response: string;
  cursor_name_in_request: string;
  limit?: number;
  limit_name_in_request?: string;
  response_path?: string;
  in_body?: boolean;
}
export interface LinkPagination {
  type: 'link';
  link_rel_in_response_header?: string;
  link_path_in_response_body?: string;
  limit?: number;
  limit_name_in_request?: string;
  response_path?: string;
  in_body?: boolean;
}
export interface OffsetPagination {
  type: 'offset';
  offset_name_in_request: string;
  offset_start_value?: number;
  offset_calculation_method?: 'per-page' | 'by-response-size';
  limit?: number;
  limit_name_in_request?: string;
  response_path?: string;
  in_body?: boolean;
}
export type Pagination = CursorPagination | LinkPagination | OffsetPagination;

/** Called after each page is received, before it is yielded: e.g. to save a checkpoint. */
export type OnPage = (state: { nextPageParam?: string | number; response: AxiosResponse<undefined> }) => Promise<void>;

export interface ProxyConfiguration {
  endpoint: string;
  method?: HttpMethod;
  params?: string | Record<string, string | number | boolean | Array<string | number>>;
  data?: unknown;
  headers?: Record<string, string>;
  baseUrlOverride?: string;
  /** Retries after the first attempt, with exponential back-off. Default 0. */
  retries?: number;
  /** Statuses to retry in addition to 5xx and 429. */
  retryOn?: number[];
  retryHeader?: { at?: string | string[]; after?: string | string[] };
  decompress?: boolean;
  responseType?: 'arraybuffer' | 'blob' | 'document' | 'json' | 'text' | 'stream';
  paginate?: Partial<Pagination> & { on_page?: OnPage };
  connectionId?: string;
  providerConfigKey?: string;
}

/** The response of an HTTP call: the shape of an Axios response. */
export interface AxiosResponse<T = any> {
  data: T;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: Record<string, any>;
  request: { method: string; url: string; path: string };
}

export interface EnvironmentVariable {
  name: string;
  value: string;
}

export type Metadata = Record<string, any>;

export interface Connection {
  id: number;
  connection_id: string;
  provider_config_key: string;
  provider: string;
  connection_config: Record<string, any>;
  metadata: Metadata;
  credentials: Record<string, any>;
  created_at: string;
  updated_at: string;
  [key: string]: any;
}

export interface Integration {
  unique_key: string;
  provider: string;
  display_name: string;
  credentials?: Record<string, any>;
  [key: string]: any;
}

export interface NangoAction {
  readonly connectionId: string;
  readonly providerConfigKey: string;
  readonly provider: string;
  readonly environmentName?: string;
  proxy<T = any>(config: ProxyConfiguration): Promise<AxiosResponse<T>>;
  get<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  post<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  put<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  patch<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  delete<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<AxiosResponse<T>>;
  paginate<T = any>(config: ProxyConfiguration): AsyncGenerator<T[], undefined, void>;
  /** Logs with a level: nango.log('message', { level: 'warn' }). */
  log(...args: any[]): Promise<void>;
  getToken(): Promise<string | Record<string, any>>;
  getConnection(providerConfigKeyOverride?: string, connectionIdOverride?: string, options?: { forceRefresh?: boolean; refreshToken?: boolean }): Promise<Connection>;
  getIntegration(config?: { include?: Array<'credentials' | 'webhook'> }): Promise<Integration>;
  getMetadata<T = Metadata>(): Promise<T>;
  setMetadata(metadata: Metadata): Promise<void>;
  updateMetadata(metadata: Metadata): Promise<void>;
  getEnvironmentVariables(): Promise<EnvironmentVariable[] | null>;
  triggerAction<In = unknown, Out = any>(providerConfigKey: string, connectionId: string, actionName: string, input?: In): Promise<Out>;
  triggerAction<In = unknown, Out = any>(actionName: string, input?: In): Promise<Out>;
  getCheckpoint<T = Record<string, any>>(): Promise<T | null>;
  saveCheckpoint<T = Record<string, any>>(checkpoint: T): Promise<void>;
  clearCheckpoint(): Promise<void>;
  /** @deprecated The \`fieldMapping\` key of the metadata. */
  getFieldMapping(): Promise<Record<string, any>>;
  /** @deprecated Sets the \`fieldMapping\` key of the metadata. */
  setFieldMapping(fieldMapping: Record<string, any>): Promise<void>;
  /** Validates input with a zod schema (\`z.object(...)\`); throws invalid_action_input on a mismatch. */
  zodValidateInput<T = any>(args: { zodSchema: { safeParse(value: unknown): any }; input: T }): { success: true; data: T };
}

export interface NangoSync extends NangoAction {
  /** When the last successful run started (deprecated in favour of checkpoints). */
  readonly lastSyncDate?: Date;
  readonly variant: string;
  /** Upserts records; each needs an id. */
  batchSave<T = any>(records: T[], model: string): Promise<boolean | null>;
  batchSend<T = any>(records: T[], model: string): Promise<boolean | null>;
  /** Merges partial records into existing ones. */
  batchUpdate<T = any>(records: Array<Partial<T> & { id: string | number }>, model: string): Promise<boolean | null>;
  /** Soft-deletes records; only id is read. */
  batchDelete<T = any>(records: Array<Partial<T> & { id: string | number }>, model: string): Promise<boolean | null>;
  /** Stored records of one of the sync's models, by id; ids not found are absent from the map. */
  getRecordsByIds<K = string | number, T = any>(ids: K[], model: string): Promise<Map<K, T>>;
  modelFullName(model: string): string;
  /** Only 'override' (the default: the last write wins) is available. */
  setMergingStrategy(merging: { strategy: 'override' }, model: string): Promise<void>;
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
