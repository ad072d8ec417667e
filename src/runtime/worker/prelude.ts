'use strict';
// Runs inside the sandbox's vm context, before the script. Builds everything the script can
// touch out of this context's own objects: the `nango` helper, `require` for the allowed modules,
// console, timers, Buffer, URL, crypto. The only links to the outside are the functions given to
// `boot`, kept in this closure; they take and return strings (or nothing), and every call to them
// is wrapped so no outside object or error ever reaches script code.
import { base64Encode, SandboxBuffer, utf8Decode, utf8Encode } from './bytes';
import { Headers, plainHeaders } from './headers';
import { setMemoryReserve } from './memory';
import { makeUrlClasses } from './url';

const BYTES_MARKER = '__syncline_bytes__';
/** Helper calls awaiting an answer; a script firing more without waiting gets an error, not the host's memory. */
const MAX_PENDING_CALLS = 1000;
/** Log entries sent per execution; the host keeps fewer, and counts the rest. */
const MAX_LOG_MESSAGES = 20_000;
const LEVELS = ['debug', 'info', 'warn', 'error', 'verbose', 'silly', 'http'];

/** Functions of the worker (outside this context). */
export interface Outside {
  /** Starts an asynchronous call; the answer comes through `deliver`. Returns an error text or nothing. */
  post(id: number, method: string, json: string): string | undefined;
  /** A synchronous call: returns `{"ok":true,"value":…}` or `{"ok":false,"message":…}` as JSON text. */
  call(method: string, json: string): string;
  /** Reports the end of the execution (JSON text of `{ok, output}` or `{ok:false, error}`). */
  finish(json: string): void;
  /** Evaluates the bundle of zod `major` (3 or 4) in this context and returns its CommonJS wrapper, or nothing. */
  loadZod(major: number): unknown;
  /** Whether `bytes` more ArrayBuffer memory fits the execution's memory limit; past it the execution is already ending. */
  reserveMemory(bytes: number): boolean;
}

interface Setup {
  kind: 'sync' | 'action';
  providerConfigKey: string;
  connectionId: string;
  environmentName?: string;
  provider: string;
  lastSyncDate?: string | null;
  variant?: string;
  syncName?: string;
  scriptName: string;
  /** Run the sync's webhook handler (`onWebhookPayloadReceived`) with the input instead of `fetchData`. */
  webhook?: boolean;
}

type ModuleFn = (exports: unknown, require: (name: string) => unknown, module: { exports: unknown }) => void;

function boot(post: Outside['post'], call: Outside['call'], finish: Outside['finish'], loadZod: Outside['loadZod'], reserveMemory: Outside['reserveMemory'], setupJson: string) {
  const setup = JSON.parse(setupJson) as Setup;
  setMemoryReserve((bytes) => {
    let allowed = false;
    try {
      allowed = reserveMemory(bytes) === true;
    } catch {
      allowed = false;
    }
    if (!allowed) throw new RangeError(`Array buffer allocation failed: ${bytes} more bytes exceed the script's memory limit`);
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  let nextId = 1;
  let ended = false;

  const send = (method: string, args: unknown): Promise<any> =>
    new Promise((resolve, reject) => {
      if (ended) return reject(new Error('The execution has ended'));
      if (pending.size >= MAX_PENDING_CALLS) return reject(new Error(`More than ${MAX_PENDING_CALLS} helper calls are waiting for an answer: await them`));
      const id = nextId++;
      let failure: unknown;
      try {
        failure = post(id, method, JSON.stringify(args ?? {}));
      } catch {
        failure = 'the call could not be sent';
      }
      if (typeof failure === 'string') return reject(new Error(`${method}: ${failure}`));
      pending.set(id, { resolve, reject });
    });

  const callSync = (method: string, args: unknown): unknown => {
    let answer: string;
    try {
      answer = String(call(method, JSON.stringify(args ?? {})));
    } catch {
      throw new Error(`${method} failed`);
    }
    const parsed = JSON.parse(answer) as { ok: boolean; value?: unknown; message?: string; name?: string };
    if (!parsed.ok) throw parsed.name === 'TypeError' ? new TypeError(parsed.message) : new Error(parsed.message);
    return parsed.value;
  };

  function deliver(id: number, ok: boolean, json: string | undefined): void {
    const waiter = pending.get(id);
    if (!waiter) return;
    pending.delete(id);
    const value = typeof json === 'string' ? JSON.parse(json) : undefined;
    if (ok) waiter.resolve(value);
    else waiter.reject(toError(value));
  }

  function toError(info: any): Error {
    const error = new Error(typeof info?.message === 'string' ? info.message : 'Unknown error') as Error & Record<string, unknown>;
    if (info && typeof info === 'object') {
      for (const key of ['name', 'code', 'status', 'type', 'isAxiosError']) if (info[key] !== undefined) error[key] = info[key];
      if (info.response) error.response = { ...info.response, data: revive(info.response.data) };
    }
    return error;
  }

  function revive(data: any): unknown {
    if (data && typeof data === 'object' && typeof data[BYTES_MARKER] === 'string') return SandboxBuffer.from(data[BYTES_MARKER], 'base64');
    return data;
  }

  const format = (args: unknown[]): string =>
    args
      .map((a) => {
        if (typeof a === 'string') return a;
        if (a instanceof Error) return a.stack ?? `${a.name}: ${a.message}`;
        try {
          return JSON.stringify(a) ?? String(a);
        } catch {
          return String(a);
        }
      })
      .join(' ');

  // Logs need no answer: id 0 tells the host not to reply.
  let logged = 0;
  const log = (level: string, args: unknown[]): void => {
    if (ended || ++logged > MAX_LOG_MESSAGES) return;
    try {
      post(0, 'log', JSON.stringify({ level, message: format(args) }));
    } catch {
      // A log that cannot be sent is dropped.
    }
  };

  // ---------------------------------------------------------------- the helper
  /**
   * `nango.ActionError`: behaves as the `ActionError` class of models.ts (HELPER_DECLARATIONS), so
   * both forms reach the caller alike: type `action_script_runtime_error` and the payload.
   */
  class ActionError extends Error {
    type = 'action_script_runtime_error';
    payload: unknown;
    constructor(payload?: unknown) {
      const message = (payload as { message?: unknown } | null | undefined)?.message;
      super(typeof message === 'string' ? message : typeof payload === 'string' ? payload : 'ActionError');
      this.name = 'ActionError';
      this.payload = payload ?? {};
    }
  }

  /** What `setMetadata`/`updateMetadata` resolve to: Nango's axios response of the metadata call. */
  const metadataResponse = (metadata: unknown) => ({
    data: { metadata, provider_config_key: setup.providerConfigKey, connection_id: setup.connectionId },
    status: 200,
    statusText: 'OK',
    headers: {},
    config: {},
  });

  /** A proxy call's config as it crosses: `headers` given as a `Headers` object go as its entries. */
  const proxyConfig = (config: any) => (config?.headers instanceof Headers ? { ...config, headers: plainHeaders(config.headers) } : config);

  class NangoAction {
    readonly ActionError = ActionError;
    readonly connectionId = setup.connectionId;
    readonly providerConfigKey = setup.providerConfigKey;
    readonly provider = setup.provider;
    readonly environmentName = setup.environmentName;
    readonly variant = setup.variant ?? 'base';

    proxy(config: any) {
      return send('proxy', { config: proxyConfig(config) }).then((response: any) => ({ ...response, data: revive(response.data) }));
    }
    get(config: any) {
      return this.proxy({ ...config, method: 'GET' });
    }
    post(config: any) {
      return this.proxy({ ...config, method: 'POST' });
    }
    put(config: any) {
      return this.proxy({ ...config, method: 'PUT' });
    }
    patch(config: any) {
      return this.proxy({ ...config, method: 'PATCH' });
    }
    delete(config: any) {
      return this.proxy({ ...config, method: 'DELETE' });
    }
    async *paginate(config: any): AsyncGenerator<any[]> {
      const onPage = typeof config?.paginate?.on_page === 'function' ? config.paginate.on_page : undefined;
      const id = await send('paginate.start', { config: proxyConfig(config) });
      let done = false;
      try {
        for (;;) {
          // As in Nango, on_page gets the whole response; its body (most of it the page) only crosses when on_page is set.
          const next = await send('paginate.next', { id, withData: onPage !== undefined });
          if (next.done) {
            done = true;
            return;
          }
          if (onPage) await onPage({ nextPageParam: next.nextPageParam, response: { ...next.response, data: revive(next.response.data) } });
          yield next.page;
        }
      } finally {
        if (!done) send('paginate.end', { id }).catch(() => undefined);
      }
    }
    log(...args: unknown[]) {
      const last = args[args.length - 1] as { level?: unknown } | undefined;
      let level = 'info';
      if (args.length > 1 && last && typeof last === 'object' && typeof last.level === 'string' && LEVELS.includes(last.level) && Object.keys(last).length === 1) {
        level = last.level;
        args = args.slice(0, -1);
      }
      log(level, args);
      return Promise.resolve();
    }
    getToken() {
      return send('getToken', {});
    }
    getConnection(providerConfigKey?: string, connectionId?: string, options?: unknown) {
      return send('getConnection', { providerConfigKey, connectionId, options });
    }
    getIntegration(config?: { include?: string[] }) {
      return send('getIntegration', { include: config?.include });
    }
    getMetadata() {
      return send('getMetadata', {});
    }
    setMetadata(metadata: unknown) {
      return send('setMetadata', { metadata }).then(() => metadataResponse(metadata));
    }
    updateMetadata(metadata: unknown) {
      return send('updateMetadata', { metadata }).then(() => metadataResponse(metadata));
    }
    getWebhookURL() {
      return send('getWebhookURL', {});
    }
    getEnvironmentVariables() {
      return send('getEnvironmentVariables', {});
    }
    triggerAction(...args: unknown[]) {
      // Nango accepts (providerConfigKey, connectionId, actionName, input) and the older (actionName, input).
      const [providerConfigKey, connectionId, actionName, input] = args.length <= 2 ? [undefined, undefined, args[0], args[1]] : args;
      return send('triggerAction', { providerConfigKey, connectionId, actionName, input });
    }
    getCheckpoint() {
      return send('getCheckpoint', {});
    }
    saveCheckpoint(checkpoint: unknown) {
      return send('saveCheckpoint', { checkpoint }).then(() => undefined);
    }
    clearCheckpoint() {
      return send('clearCheckpoint', {}).then(() => undefined);
    }
    /** Deprecated in Nango: the `fieldMapping` key of the metadata. */
    async getFieldMapping() {
      return ((await this.getMetadata()) as { fieldMapping?: unknown }).fieldMapping ?? {};
    }
    setFieldMapping(fieldMapping: unknown) {
      return this.updateMetadata({ fieldMapping });
    }
    /**
     * Validates input with a zod schema (either major) and resolves to the parse result. As Nango: a
     * mismatch logs each issue at error level, then throws ActionError({ message: 'Invalid input provided' }).
     */
    async zodValidateInput({ zodSchema, input }: { zodSchema: { safeParse(v: unknown): { success: boolean; error?: { issues?: Array<{ message?: unknown; path?: unknown[] }> } } }; input: unknown }) {
      const result = zodSchema.safeParse(input);
      if (!result.success) {
        for (const issue of result.error?.issues ?? []) {
          log('error', [`Invalid input provided: ${String(issue.message)} at path ${(issue.path ?? []).join('.')}`]);
        }
        throw new ActionError({ message: 'Invalid input provided' });
      }
      return result;
    }
  }
  // Nango helper methods Syncline does not have yet: a clear error instead of "is not a function".
  for (const name of ['getFlowAttributes', 'tryAcquireLock', 'releaseLock', 'releaseAllLocks', 'uncontrolledFetch', 'triggerSync', 'startSync']) {
    Object.defineProperty(NangoAction.prototype, name, {
      value() {
        return Promise.reject(new Error(`nango.${name}() is not supported by Syncline yet`));
      },
    });
  }

  class NangoSync extends NangoAction {
    readonly lastSyncDate = setup.lastSyncDate ? new Date(setup.lastSyncDate) : undefined;
    readonly syncName = setup.syncName;

    batchSave(records: unknown[], model: string) {
      return send('batchSave', { records, model });
    }
    batchSend(records: unknown[], model: string) {
      return this.batchSave(records, model);
    }
    batchUpdate(records: unknown[], model: string) {
      return send('batchUpdate', { records, model });
    }
    batchDelete(records: unknown[], model: string) {
      return send('batchDelete', { records, model });
    }
    async getRecordsByIds(ids: unknown[], model: string) {
      const records: Array<{ id: unknown }> = await send('getRecordsByIds', { ids, model });
      const byId = new Map(records.map((r) => [String(r.id), r]));
      const found = new Map<unknown, unknown>();
      for (const id of ids) if (byId.has(String(id))) found.set(id, byId.get(String(id)));
      return found;
    }
    trackDeletesStart(model: string) {
      return send('trackDeletesStart', { model }).then(() => undefined);
    }
    trackDeletesEnd(model: string): Promise<{ deletedKeys: string[] }> {
      return send('trackDeletesEnd', { model });
    }
    modelFullName(model: string) {
      return this.variant === 'base' ? model : `${model}::${this.variant}`;
    }
    /** Only Nango's default, `override` (the last write wins), is available. */
    async setMergingStrategy(merging: { strategy?: string }, model: string) {
      if (merging?.strategy !== 'override') throw new Error(`Merging strategy "${merging?.strategy}" for ${model} is not supported by Syncline yet: records are always overwritten`);
    }
  }
  for (const name of ['deleteRecordsFromPreviousExecutions', 'listRecords']) {
    Object.defineProperty(NangoSync.prototype, name, {
      value() {
        return Promise.reject(new Error(`nango.${name}() is not supported by Syncline yet`));
      },
    });
  }

  // ---------------------------------------------------------------- modules and globals
  const { URL, URLSearchParams } = makeUrlClasses(callSync);

  const toBytes = (data: unknown, encoding?: string): SandboxBuffer =>
    typeof data === 'string' ? SandboxBuffer.from(data, encoding ?? 'utf8') : SandboxBuffer.from(data as Uint8Array);

  class Hash {
    #parts: Uint8Array[] = [];
    constructor(
      private readonly algorithm: string,
      private readonly key?: Uint8Array,
    ) {}
    update(data: unknown, encoding?: string) {
      this.#parts.push(toBytes(data, encoding));
      return this;
    }
    digest(encoding?: string) {
      const data = base64Encode(SandboxBuffer.concat(this.#parts));
      const key = this.key && base64Encode(this.key);
      const out = SandboxBuffer.from(callSync('crypto.digest', { algorithm: this.algorithm, key, data }) as string, 'base64');
      return encoding ? out.toString(encoding) : out;
    }
  }

  /** A key as PEM text: a string, or bytes of one; `{ key, passphrase }` objects too. */
  const pemOf = (key: unknown): { key: string; passphrase?: string } => {
    if (key && typeof key === 'object' && !ArrayBuffer.isView(key) && 'key' in key) {
      const { key: inner, passphrase } = key as { key: unknown; passphrase?: unknown };
      return { key: pemOf(inner).key, passphrase: passphrase === undefined ? undefined : String(passphrase) };
    }
    return { key: typeof key === 'string' ? key : toBytes(key).toString('utf8') };
  };

  class Signer {
    #parts: Uint8Array[] = [];
    constructor(private readonly algorithm: string) {}
    update(data: unknown, encoding?: string) {
      this.#parts.push(toBytes(data, encoding));
      return this;
    }
    protected data(): string {
      return base64Encode(SandboxBuffer.concat(this.#parts));
    }
    sign(key: unknown, encoding?: string) {
      const out = SandboxBuffer.from(callSync('crypto.sign', { algorithm: this.algorithm, data: this.data(), ...pemOf(key) }) as string, 'base64');
      return encoding ? out.toString(encoding) : out;
    }
    verify(key: unknown, signature: unknown, encoding?: string) {
      const bytes = typeof signature === 'string' ? SandboxBuffer.from(signature, encoding ?? 'utf8') : toBytes(signature);
      return callSync('crypto.verify', { algorithm: this.algorithm, data: this.data(), key: pemOf(key).key, signature: base64Encode(bytes) }) as boolean;
    }
  }

  const crypto = Object.freeze({
    createSign: (algorithm: string) => new Signer(String(algorithm)),
    createVerify: (algorithm: string) => new Signer(String(algorithm)),
    createHash: (algorithm: string) => new Hash(String(algorithm)),
    createHmac: (algorithm: string, key: unknown) => new Hash(String(algorithm), toBytes(key)),
    randomUUID: () => callSync('crypto.uuid', {}) as string,
    randomBytes: (size: number) => SandboxBuffer.from(callSync('crypto.random', { size }) as string, 'base64'),
    randomInt: (min: number, max?: number) => callSync('crypto.randomInt', max === undefined ? { min: 0, max: min } : { min, max }) as number,
    timingSafeEqual: (a: Uint8Array, b: Uint8Array) => {
      if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
      return diff === 0;
    },
    getHashes: () => ['md5', 'sha1', 'sha256', 'sha384', 'sha512'],
  });

  const url = Object.freeze({
    URL,
    URLSearchParams,
    parse: (input: string, parseQuery?: boolean) => callSync('url.legacyParse', { input: String(input), parseQuery: parseQuery === true }),
    format: (value: unknown) => callSync('url.format', { value: value instanceof URL ? String(value) : value }) as string,
    resolve: (from: string, to: string) => callSync('url.resolve', { from: String(from), to: String(to) }) as string,
  });

  // zod 4 answers `zod` (the bundles of zod 4 projects, and deployments older than the zod option)
  // and `zod/v4`; zod 3 answers `zod/v3`, what zod 3 projects compile `zod` to. Each loads on first use.
  const zods = new Map<number, unknown>();
  const loadZodModule = (major: number): unknown => {
    if (!zods.has(major)) {
      let factory: unknown;
      try {
        factory = loadZod(major);
      } catch {
        factory = undefined;
      }
      if (typeof factory !== 'function') throw new Error(`zod ${major} could not be loaded`);
      const module = { exports: {} as unknown };
      (factory as ModuleFn)(module.exports, requireModule, module);
      zods.set(major, module.exports);
    }
    return zods.get(major);
  };
  // A script's definition is data: each function tags its argument with the kind, as Nango's do.
  const nangoModule = Object.freeze({
    createSync: (params: object) => ({ type: 'sync', ...params }),
    createAction: (params: object) => ({ type: 'action', ...params }),
    createOnEvent: (params: object) => ({ type: 'onEvent', ...params }),
    ActionError,
  });
  const requireModule = (name: string): unknown => {
    switch (name) {
      case 'zod':
      case 'zod/v4':
        return loadZodModule(4);
      case 'zod/v3':
        return loadZodModule(3);
      case 'crypto':
      case 'node:crypto':
        return crypto;
      case 'url':
      case 'node:url':
        return url;
      case 'nango':
        return nangoModule;
      default:
        throw new Error(`Cannot require "${name}": scripts may only import zod, crypto, url and nango`);
    }
  };

  const timers = new Map<number, boolean>();
  let nextTimer = 1;
  const schedule = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean) => {
    const id = nextTimer++;
    timers.set(id, true);
    const tick = () => {
      send('timer', { ms: Math.max(0, Number(ms) || 0) }).then(() => {
        if (!timers.get(id)) return;
        if (!repeat) timers.delete(id);
        try {
          if (typeof fn === 'function') fn(...args);
        } catch (err) {
          end({ ok: false, error: describe(err) });
        }
        if (repeat && timers.get(id)) tick();
      }, () => undefined);
    };
    tick();
    return timerHandle(id);
  };
  const clear = (handle: unknown) => void timers.delete(Number(handle));
  // Node returns a Timeout object that scripts may ref/unref; it converts to its numeric id.
  const timerHandle = (id: number) =>
    Object.freeze({
      ref() {
        return this;
      },
      unref() {
        return this;
      },
      hasRef: () => true,
      refresh() {
        return this;
      },
      [Symbol.toPrimitive]: () => id,
    });

  const consoleObject = Object.freeze({
    log: (...a: unknown[]) => void log('info', a),
    info: (...a: unknown[]) => void log('info', a),
    debug: (...a: unknown[]) => void log('debug', a),
    warn: (...a: unknown[]) => void log('warn', a),
    error: (...a: unknown[]) => void log('error', a),
    trace: (...a: unknown[]) => void log('debug', a),
  });

  /** structuredClone for what scripts hold: plain data, Date, Map, Set, typed arrays, cycles. */
  function clone<T>(value: T, seen = new Map<unknown, unknown>()): T {
    if (typeof value !== 'object' || value === null) {
      if (typeof value === 'function' || typeof value === 'symbol') throw new Error(`${String(value)} could not be cloned`);
      return value;
    }
    if (seen.has(value)) return seen.get(value) as T;
    if (value instanceof Date) return new Date(value.getTime()) as T;
    if (value instanceof RegExp) return new RegExp(value.source, value.flags) as T;
    if (ArrayBuffer.isView(value)) return (value as unknown as Uint8Array).slice() as T;
    let out: unknown;
    if (value instanceof Map) {
      const map = new Map();
      seen.set(value, map);
      for (const [k, v] of value) map.set(clone(k, seen), clone(v, seen));
      out = map;
    } else if (value instanceof Set) {
      const set = new Set();
      seen.set(value, set);
      for (const v of value) set.add(clone(v, seen));
      out = set;
    } else {
      const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
      seen.set(value, copy);
      for (const key of Object.keys(value)) (copy as Record<string, unknown>)[key] = clone((value as Record<string, unknown>)[key], seen);
      out = copy;
    }
    return out as T;
  }

  class TextEncoder {
    readonly encoding = 'utf-8';
    encode(text = '') {
      return utf8Encode(String(text));
    }
  }
  class TextDecoder {
    readonly encoding = 'utf-8';
    decode(bytes?: ArrayBuffer | ArrayBufferView) {
      if (!bytes) return '';
      return utf8Decode(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }

  const g = globalThis as Record<string, unknown>;
  Object.assign(g, {
    console: consoleObject,
    setTimeout: (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, false),
    setInterval: (fn: unknown, ms?: unknown, ...args: unknown[]) => schedule(fn, ms, args, true),
    setImmediate: (fn: unknown, ...args: unknown[]) => schedule(fn, 0, args, false),
    clearTimeout: clear,
    clearInterval: clear,
    clearImmediate: clear,
    queueMicrotask: (fn: () => void) => void Promise.resolve().then(fn),
    structuredClone: clone,
    Buffer: SandboxBuffer,
    URL,
    URLSearchParams,
    Headers,
    TextEncoder,
    TextDecoder,
    btoa: (text: string) => base64Encode(SandboxBuffer.from(String(text), 'latin1')),
    atob: (text: string) => SandboxBuffer.from(String(text), 'base64').toString('latin1'),
  });

  // ---------------------------------------------------------------- running the script
  function describe(err: unknown): Record<string, unknown> {
    if (err && typeof err === 'object') {
      const e = err as Record<string, unknown>;
      const isActionError = err instanceof ActionError || e.type === 'action_script_runtime_error' || e.name === 'ActionError';
      let stack: string | undefined;
      try {
        stack = typeof e.stack === 'string' ? e.stack : undefined;
      } catch {
        stack = undefined;
      }
      return {
        name: typeof e.name === 'string' ? e.name : 'Error',
        message: typeof e.message === 'string' ? e.message : String(err),
        stack,
        actionError: isActionError,
        payload: isActionError ? safeJson(actionPayload(e.payload)) : undefined,
        type: typeof e.type === 'string' ? e.type : undefined,
      };
    }
    return { name: 'Error', message: `The script threw ${typeof err === 'string' ? JSON.stringify(err) : String(err)}` };
  }

  /** As Nango reports an ActionError's payload: an object; a string, number or array becomes { message }. */
  function actionPayload(payload: unknown): unknown {
    if (Array.isArray(payload) || (typeof payload !== 'object' && payload !== undefined)) return { message: payload };
    return payload ?? {};
  }

  function safeJson(value: unknown): unknown {
    try {
      return JSON.parse(JSON.stringify(value ?? {}));
    } catch {
      return {};
    }
  }

  function end(result: Record<string, unknown>): void {
    if (ended) return;
    let json: string;
    try {
      json = JSON.stringify(result);
    } catch {
      json = JSON.stringify({ ok: false, error: { name: 'Error', message: 'The action output cannot be converted to JSON' } });
    }
    ended = true;
    try {
      finish(json);
    } catch {
      // Nothing more can be reported.
    }
  }

  /** A sync's webhook handler: the legacy named export, or `onWebhook` of a `createSync` definition. */
  function webhookHandler(exports: any, entry: any): ((nango: unknown, payload: unknown) => unknown) | undefined {
    if (typeof exports?.onWebhookPayloadReceived === 'function') return exports.onWebhookPayloadReceived;
    if (typeof entry?.onWebhook === 'function') return entry.onWebhook.bind(entry);
    return undefined;
  }

  async function run(moduleFn: ModuleFn, inputJson: string | undefined): Promise<void> {
    try {
      const module = { exports: {} as any };
      moduleFn.call(module.exports, module.exports, requireModule, module);
      const entry = module.exports?.default ?? module.exports;
      const fn = setup.webhook
        ? webhookHandler(module.exports, entry)
        : typeof entry === 'function' ? entry : typeof entry?.exec === 'function' ? entry.exec.bind(entry) : undefined;
      if (!fn && setup.webhook) throw new Error('The sync has no webhook handler: export async function onWebhookPayloadReceived(nango, payload)');
      if (!fn) throw new Error('The script has no default export: export default async function fetchData(nango) or runAction(nango, input)');
      const nango = setup.kind === 'sync' ? new NangoSync() : new NangoAction();
      const input = inputJson === undefined ? undefined : JSON.parse(inputJson);
      const output = setup.kind === 'sync' && !setup.webhook ? await fn(nango) : await fn(nango, input);
      end({ ok: true, output: setup.kind === 'action' ? (output ?? null) : null });
    } catch (err) {
      end({ ok: false, error: describe(err) });
    }
  }

  return {
    deliver,
    run,
    /** A safe text for an unhandled rejection's reason. */
    describeReason: (reason: unknown) => {
      try {
        return JSON.stringify(describe(reason));
      } catch {
        return '{"name":"Error","message":"Unhandled rejection"}';
      }
    },
  };
}

(globalThis as Record<string, unknown>).__syncline_boot = boot;
