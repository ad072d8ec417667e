import { connectionFull, integrationShape } from '../shapes';
import { SynclineError } from '../errors';
import { getProvider, secretsOf, type ProviderDefinition } from '../providers';
import type { Connection, RecordCounts } from '../types';
import { ProxyError, ScriptRunError } from './errors';
import { proxyRequest, type HttpContext, type ResolvedRequest } from './http';
import { LogCollector, normaliseLevel } from './logs';
import { paginate, type Page } from './paginate';
import { modelChecker, processRecordMemory, RecordWriter, type WriteKind } from './records';
import type { ExecutionRequest, LogLevel, ProxyConfiguration, ProxyResponse } from './types';

const CONNECTION_MEMO_MS = 60_000;
/** Longest record id the store keeps. */
const MAX_ID_LENGTH = 255;
/** Largest action output, as in Nango. */
export const MAX_ACTION_OUTPUT_BYTES = 2 * 1024 * 1024;

/** Marks binary data inside JSON crossing into the sandbox. */
export const BYTES_MARKER = '__syncline_bytes__';

/** `size`: the length of a record call's JSON, which took room in the record budget. */
type Handler = (args: Record<string, unknown>, size: number) => Promise<unknown>;

/** Why the requests and waits of an execution are stopped (each caller raises its own error). */
const EXECUTION_ENDED = 'The execution has ended';

/**
 * The host half of the `nango` helper: every method the sandboxed script calls arrives here as
 * `(method, args)` with JSON arguments and leaves as a JSON result. Credentials, HTTP, the store and
 * the services never enter the sandbox.
 */
export class HelperHost {
  readonly logs: LogCollector;
  /** Set when a problem must fail the execution even if the script catches it. */
  fatal: ScriptRunError | undefined;
  private readonly writer: RecordWriter | undefined;
  private readonly abort = new AbortController();
  private readonly pages = new Map<number, AsyncGenerator<Page>>();
  private nextPageId = 1;
  private memo = new Map<string, { at: number; connection: Promise<Connection> }>();
  private validationMode: Promise<'warn' | 'fail'> | undefined;
  private readonly checkers = new Map<string, (record: unknown) => string[]>();
  private readonly handlers: Record<string, Handler>;
  private readonly calls = new Set<Promise<unknown>>();

  constructor(private readonly request: ExecutionRequest) {
    this.logs = new LogCollector(request.logLevel ?? 'debug', request.onLogs);
    const { services, sync } = request;
    if (request.kind === 'sync' && services.records) {
      this.writer = new RecordWriter(services.records, () => this.connectionPk(), request.flushSize, request.recordMemory);
    }
    for (const model of sync?.models ?? []) this.checkers.set(model.name, modelChecker(model, sync?.allModels));
    this.handlers = {
      proxy: (a) => this.proxy(a.config as ProxyConfiguration),
      'paginate.start': async (a) => this.startPaginate(a.config as ProxyConfiguration),
      'paginate.next': (a) => this.nextPage(a.id as number, a.withData === true),
      'paginate.end': async (a) => void (await this.pages.get(a.id as number)?.return(undefined), this.pages.delete(a.id as number)),
      log: async (a) => this.logs.add(normaliseLevel(a.level) ?? 'info', String(a.message)),
      getToken: async () => token(await this.connection()),
      getConnection: async (a) => this.getConnection(a),
      getIntegration: async (a) => this.getIntegration(a.include as string[] | undefined),
      getMetadata: async () => (await this.connection()).metadata,
      setMetadata: async (a) => this.setMetadata(a.metadata, 'replace'),
      updateMetadata: async (a) => this.setMetadata(a.metadata, 'merge'),
      getEnvironmentVariables: async () => this.environmentVariables(),
      triggerAction: async (a) => this.triggerAction(a),
      getWebhookURL: async () => (await this.request.services.getWebhookUrl?.(this.request.providerConfigKey)) ?? null,
      batchSave: async (a, size) => this.write('save', a, size),
      batchUpdate: async (a, size) => this.write('update', a, size),
      batchDelete: async (a, size) => this.write('delete', a, size),
      getRecordsByIds: async (a) => this.recordsByIds(a.ids, String(a.model)),
      trackDeletesStart: async (a) => this.trackDeletes('start', String(a.model)),
      trackDeletesEnd: async (a) => this.trackDeletes('end', String(a.model)),
      getCheckpoint: async () => (await this.checkpoints().get(this.checkpointKey())) ?? null,
      // Records saved before the checkpoint are committed first: a run resumed from it loses none.
      saveCheckpoint: async (a) => {
        const checkpoint = object(a.checkpoint, 'saveCheckpoint');
        await this.writer?.flush();
        return this.checkpoints().save(this.checkpointKey(), checkpoint);
      },
      clearCheckpoint: async () => this.checkpoints().clear(this.checkpointKey()),
    };
  }

  /** Runs one helper call; the result is JSON-safe. */
  async handle(method: string, args: Record<string, unknown>, size = 0): Promise<unknown> {
    if (this.abort.signal.aborted) throw new ScriptRunError('script_error', EXECUTION_ENDED);
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler) throw new ScriptRunError('script_error', `Unknown helper method "${method}"`);
    const call = handler(args, size);
    this.calls.add(call);
    void call.catch(() => undefined).finally(() => this.calls.delete(call));
    return call;
  }

  /** Resolves once every call under way has ended, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.calls.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.calls]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Room for a record call of `bytes` (its JSON's length) before it leaves the sandbox; a call over the batch limit fails the run. */
  async reserveRecords(bytes: number): Promise<void> {
    // A run already failing writes nothing more.
    if (this.fatal) throw this.fatal;
    try {
      await this.writer?.reserve(bytes, this.abort.signal);
    } catch (err) {
      throw this.failIfTooLarge(err);
    }
  }

  /** `reserveRecords` when the room can be had at once: true once taken, false (nothing taken) otherwise. */
  reserveRecordsNow(bytes: number): boolean {
    if (this.fatal) throw this.fatal;
    try {
      return this.writer?.reserveNow(bytes) ?? true;
    } catch (err) {
      throw this.failIfTooLarge(err);
    }
  }

  private failIfTooLarge(err: unknown): unknown {
    if (err instanceof ScriptRunError && err.type === 'batch_too_large') this.fatal ??= err;
    return err;
  }

  /** Gives back the record budget the execution still holds; call once it has ended. */
  dispose(): void {
    this.writer?.dispose();
  }

  /** Writes the buffered records and returns the counts per model. */
  async finish(): Promise<Record<string, RecordCounts>> {
    return this.writer ? this.writer.finish() : {};
  }

  /** Stops every pending wait and request of the execution. */
  close(): void {
    // A reason of our own: the default one is a DOMException, whose stack is captured at every run's end.
    this.abort.abort(EXECUTION_ENDED);
    for (const generator of this.pages.values()) void generator.return(undefined).catch(() => undefined);
    this.pages.clear();
  }

  log(level: LogLevel, message: string): void {
    this.logs.add(level, message);
  }

  /** Fails the execution with `output` unless it is JSON within the action output limit. */
  checkActionOutput(json: string | undefined): void {
    if (json !== undefined && Buffer.byteLength(json) > MAX_ACTION_OUTPUT_BYTES) {
      throw new ScriptRunError('script_error', `The action output is larger than ${MAX_ACTION_OUTPUT_BYTES} bytes`);
    }
  }

  private connection(options: { forceRefresh?: boolean; providerConfigKey?: string; connectionId?: string } = {}): Promise<Connection> {
    const key = options.providerConfigKey ?? this.request.providerConfigKey;
    const id = options.connectionId ?? this.request.connectionId;
    const memoKey = `${key}\u0000${id}`;
    const cached = this.memo.get(memoKey);
    if (cached && !options.forceRefresh && Date.now() - cached.at < CONNECTION_MEMO_MS) return cached.connection;
    const connection = this.request.services.getConnection(key, id, { forceRefresh: options.forceRefresh }).then((c) => {
      this.logs.addSecrets(secretsOf(c.credentials));
      return c;
    });
    this.memo.set(memoKey, { at: Date.now(), connection });
    connection.catch(() => this.memo.delete(memoKey));
    return connection;
  }

  /** The internal id of the execution's connection, which its records are stored under. */
  private async connectionPk(): Promise<number> {
    return this.request.connectionPk ?? (await this.connection()).id;
  }

  /** What a record that does not match its model does: the sync's `validation`, asked once (again after a failed ask). */
  private validation(): Promise<'warn' | 'fail'> {
    if (this.validationMode) return this.validationMode;
    const validation = this.request.sync?.validation ?? 'warn';
    const mode = typeof validation === 'function' ? validation() : Promise.resolve(validation);
    this.validationMode = mode;
    void mode.catch(() => (this.validationMode = undefined));
    return mode;
  }

  private httpContext(config: ProxyConfiguration): HttpContext {
    const target = { providerConfigKey: config.providerConfigKey, connectionId: config.connectionId };
    const other = (target.providerConfigKey ?? this.request.providerConfigKey) !== this.request.providerConfigKey;
    let provider: ProviderDefinition = this.request.provider;
    return {
      get provider() {
        return provider;
      },
      connection: async (options) => {
        const c = await this.connection({ ...target, ...options });
        if (other) provider = safeProvider(c.provider) ?? provider;
        return c;
      },
      log: (level, message) => this.logs.add(level, message),
      http: (call, secretParams) => this.logs.http(call, secretParams),
      retryBaseMs: this.request.retryBaseMs ?? 3000,
      maxRetryWaitMs: this.request.maxRetryWaitMs ?? 10 * 60_000,
      sleep: (ms) => this.sleep(ms),
      integrationCredentials: async () => (await this.request.services.getIntegration(this.request.providerConfigKey)).credentials,
      signal: this.abort.signal,
    };
  }

  private async proxy(config: ProxyConfiguration): Promise<ProxyResponse> {
    checkConfig(config);
    return forSandbox(await this.send(config));
  }

  private send(config: ResolvedRequest): Promise<ProxyResponse> {
    return proxyRequest(this.httpContext(config), config);
  }

  private startPaginate(config: ProxyConfiguration): number {
    checkConfig(config);
    const id = this.nextPageId++;
    this.pages.set(id, paginate((c) => this.send(c), config, this.request.provider.proxy?.paginate));
    return id;
  }

  /** The next page; its response goes along for `on_page`, with its body only when `withData` (the page is most of it). */
  private async nextPage(id: number, withData: boolean): Promise<{ done: boolean; page?: unknown[]; nextPageParam?: string | number; response?: ProxyResponse }> {
    const generator = this.pages.get(id);
    if (!generator) return { done: true };
    const next = await generator.next();
    if (next.done) {
      this.pages.delete(id);
      return { done: true };
    }
    const { items, nextPageParam, response } = next.value;
    return { done: false, page: items, nextPageParam, response: withData ? forSandbox(response) : { ...response, data: undefined } };
  }

  private async getConnection(a: Record<string, unknown>) {
    const options = (a.options ?? {}) as { forceRefresh?: boolean; refreshToken?: boolean };
    const c = await this.connection({
      providerConfigKey: a.providerConfigKey as string | undefined,
      connectionId: a.connectionId as string | undefined,
      forceRefresh: options.forceRefresh,
    });
    return connectionFull(c, { includeRefreshToken: options.refreshToken === true });
  }

  private async getIntegration(include: string[] | undefined) {
    const integration = await this.request.services.getIntegration(this.request.providerConfigKey);
    const withCredentials = include?.includes('credentials') ?? false;
    if (withCredentials && integration.credentials) {
      this.logs.addSecrets(Object.values(integration.credentials).filter((v): v is string => typeof v === 'string' && v.length >= 6));
    }
    return integrationShape(integration, { credentials: withCredentials });
  }

  private async setMetadata(metadata: unknown, mode: 'replace' | 'merge'): Promise<void> {
    await this.request.services.setMetadata(this.request.providerConfigKey, this.request.connectionId, object(metadata, 'metadata'), mode);
    this.memo.clear();
  }

  private async environmentVariables() {
    const variables = await this.request.services.getEnvironmentVariables();
    this.logs.addSecrets(variables.map((v) => v.value).filter((v) => v.length >= 6));
    return variables.map(({ name, value }) => ({ name, value }));
  }

  private async triggerAction(a: Record<string, unknown>): Promise<unknown> {
    const trigger = this.request.services.triggerAction;
    if (!trigger) throw new ScriptRunError('script_error', 'triggerAction is not available in this execution');
    return trigger(
      (a.providerConfigKey as string | undefined) ?? this.request.providerConfigKey,
      (a.connectionId as string | undefined) ?? this.request.connectionId,
      String(a.actionName),
      a.input,
    );
  }

  private async write(kind: WriteKind, a: Record<string, unknown>, size: number): Promise<boolean> {
    const method = kind === 'save' ? 'batchSave' : kind === 'update' ? 'batchUpdate' : 'batchDelete';
    if (this.request.kind !== 'sync' || !this.writer) throw new ScriptRunError('script_error', `${method} is only available in syncs`);
    const model = String(a.model);
    const records = a.records;
    if (!Array.isArray(records)) throw this.fail(`${method}: expected an array of records for model "${model}"`);
    const check = this.checkers.get(model);
    if (!check) {
      const declared = this.request.sync?.models.map((m) => m.name).join(', ') || 'none';
      throw this.fail(`${method}: model "${model}" is not an output of sync "${this.request.sync?.name}" (declared: ${declared})`);
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Record<string, unknown> | null;
      const id = record !== null && typeof record === 'object' && !Array.isArray(record) ? record.id : undefined;
      if ((typeof id !== 'string' && typeof id !== 'number') || id === '') {
        throw this.fail(`${method}: record ${i} of model "${model}" has no "id" (a non-empty string or number is required)`);
      }
      if (String(id).length > MAX_ID_LENGTH) throw this.fail(`${method}: record ${i} of model "${model}" has an id longer than ${MAX_ID_LENGTH} characters`);
      if (kind !== 'save') continue;
      const problems = check(record);
      if (problems.length === 0) continue;
      const message = `${method}: record "${id}" of model "${model}" does not match the model: ${problems.slice(0, 5).join('; ')}`;
      if ((await this.validation()) === 'fail') throw this.fail(message);
      this.logs.add('warn', message);
    }
    await this.writer.write(kind, modelFullName(model, this.request.sync?.variant), records, size);
    return true;
  }

  /** Stored records of one of the sync's models, by id (after writing what is buffered, so the script reads its own writes). */
  private async recordsByIds(ids: unknown, model: string): Promise<Array<Record<string, unknown>>> {
    const sink = this.request.services.records;
    if (this.request.kind !== 'sync' || !this.writer) throw new ScriptRunError('script_error', 'getRecordsByIds is only available in syncs');
    if (!Array.isArray(ids)) throw new ScriptRunError('script_error', 'getRecordsByIds: expected an array of ids');
    if (!this.checkers.has(model)) throw new ScriptRunError('script_error', `getRecordsByIds: model "${model}" is not an output of sync "${this.request.sync?.name}"`);
    if (!sink?.list) return [];
    await this.writer.flush();
    const connection = await this.connectionPk();
    const wanted = [...new Set(ids.map(String))];
    const found: Array<Record<string, unknown>> = [];
    // What one call brings into the process is bounded as one batchSave is: pages end at a byte
    // size (their next_cursor continues), and past the batch limit the call fails.
    const { maxBatchBytes } = (this.request.recordMemory ?? processRecordMemory()).limits;
    let bytes = 0;
    for (let i = 0; i < wanted.length; i += 100) {
      let cursor: string | undefined;
      do {
        const page = await sink.list(connection, { model: modelFullName(model, this.request.sync?.variant), ids: wanted.slice(i, i + 100), limit: 100, cursor });
        for (const { _nango_metadata: _meta, ...record } of page.records) {
          bytes += JSON.stringify(record).length;
          found.push(record);
        }
        if (bytes > maxBatchBytes) {
          // As an oversized batchSave: the run fails even if the script catches the error.
          throw (this.fatal ??= new ScriptRunError(
            'batch_too_large',
            `getRecordsByIds: the records asked for are more than the ${maxBatchBytes} bytes of JSON one call may bring (SYNCLINE_MAX_BATCH_MB): ask for fewer ids per call`,
          ));
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    }
    return found;
  }

  /**
   * `trackDeletesStart/End`: what is buffered is written first, so a phase counts exactly the saves
   * made between its two calls (Nango's CLI refuses scripts that save before the start or after the end).
   */
  private async trackDeletes(step: 'start' | 'end', model: string): Promise<{ deletedKeys: string[] } | undefined> {
    const method = step === 'start' ? 'trackDeletesStart' : 'trackDeletesEnd';
    if (this.request.kind !== 'sync' || !this.writer) throw new ScriptRunError('script_error', `${method} is only available in syncs`);
    if (!this.checkers.has(model)) throw new ScriptRunError('script_error', `${method}: model "${model}" is not an output of sync "${this.request.sync?.name}"`);
    await this.writer.flush();
    const tracker = this.request.services.records?.trackDeletes;
    const fullName = modelFullName(model, this.request.sync?.variant);
    if (step === 'start') return void (await tracker?.start(fullName));
    if (!tracker) {
      this.logs.add('info', `${method}("${model}") has no effect in this run (a dry run or a webhook handler): in a sync run it marks as deleted the records not saved since trackDeletesStart`);
      return { deletedKeys: [] };
    }
    const deletedKeys = await tracker.end(fullName);
    if (deletedKeys === null) throw new ScriptRunError('script_error', `${method}: no track deletes starting point found for model "${model}": call nango.trackDeletesStart("${model}") first`);
    return { deletedKeys };
  }

  private fail(message: string): ScriptRunError {
    this.fatal ??= new ScriptRunError('invalid_sync_record', message);
    return this.fatal;
  }

  private checkpoints() {
    const store = this.request.services.checkpoints;
    if (!store) throw new ScriptRunError('script_error', 'Checkpoints are not available in this execution');
    return store;
  }

  private checkpointKey(): string {
    const r = this.request;
    const name = r.sync?.name ?? r.scriptName;
    return [r.environmentName ?? '', r.providerConfigKey, r.connectionId, name, r.sync?.variant ?? 'base'].join(':');
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ScriptRunError('script_error', EXECUTION_ENDED));
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new ScriptRunError('script_error', EXECUTION_ENDED));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** `Model` or `Model::variant` as records are stored for a sync variant. */
export function modelFullName(model: string, variant: string | undefined): string {
  return variant && variant !== 'base' ? `${model}::${variant}` : model;
}

function token(c: Connection): unknown {
  const credentials = c.credentials;
  if (typeof credentials.access_token === 'string') return credentials.access_token;
  if (typeof credentials.apiKey === 'string') return credentials.apiKey;
  if (credentials.type === 'BASIC') return { username: credentials.username, password: credentials.password };
  return credentials;
}

function safeProvider(name: string): ProviderDefinition | undefined {
  try {
    return getProvider(name);
  } catch {
    return undefined;
  }
}

function checkConfig(config: ProxyConfiguration): void {
  if (typeof config !== 'object' || config === null || typeof config.endpoint !== 'string') {
    throw new ScriptRunError('script_error', 'The request configuration needs an "endpoint" string');
  }
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScriptRunError('script_error', `${what} must be an object`);
  return value as Record<string, unknown>;
}

/** Binary bodies cannot travel as JSON: they are marked and rebuilt as Buffers inside the sandbox. */
function forSandbox(response: ProxyResponse): ProxyResponse {
  if (!Buffer.isBuffer(response.data)) return response;
  return { ...response, data: { [BYTES_MARKER]: response.data.toString('base64') } };
}

/** An error as the sandbox rebuilds it: message, name, and the fields scripts inspect. */
export function errorForSandbox(err: unknown): Record<string, unknown> {
  if (err instanceof ProxyError) {
    const response = err.response && { ...err.response, data: Buffer.isBuffer(err.response.data) ? { [BYTES_MARKER]: err.response.data.toString('base64') } : err.response.data };
    return { name: err.name, message: err.message, code: err.code, status: err.response?.status, response, isAxiosError: true };
  }
  if (err instanceof ScriptRunError) return { name: 'NangoError', message: err.message, type: err.type };
  if (err instanceof SynclineError) return { name: 'NangoError', message: err.message, type: err.code };
  return { name: 'Error', message: err instanceof Error ? err.message : String(err) };
}
