import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SynclineApiError } from './errors';
import type {
  ApiConnection,
  ApiProvider,
  ConnectSession,
  ConnectSessionBody,
  ReconnectSessionBody,
  ApiConnectionFull,
  ApiIntegration,
  CreateIntegrationBody,
  EnvironmentSettings,
  EnvironmentVariable,
  ImportConnectionBody,
  IntegrationInclude,
  ListConnectionsParams,
  ListConnectionsQueries,
  ListLogsConfig,
  ListRecordsConfig,
  LogsPage,
  Metadata,
  MetadataChangeResponse,
  NangoRecord,
  PatchConnectionBody,
  PruneRecordsConfig,
  PruneRecordsResult,
  ProxyConfiguration,
  ProxyResponse,
  RecordsPage,
  DeployBody,
  DeployedFlow,
  FlowsDeployBody,
  DeployResponse,
  ScriptsConfig,
  AsyncActionResponse,
  Success,
  SyncName,
  SyncStatusResponse,
  SyncVariant,
  SyncVariantProps,
  SynclineOptions,
  TriggerSyncOptions,
  UpdateIntegrationBody,
  UpdateWebhookSettingsBody,
  WebhookDelivery,
  WebhookSettings,
} from './types';

export const DEFAULT_HOST = 'http://localhost:3003';

type QueryValue = string | number | boolean | string[] | undefined;

interface RequestOptions {
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  body?: unknown;
}

const segment = encodeURIComponent;

/**
 * The Node client of Syncline's REST API. Its methods take the arguments of `@nangohq/node`'s
 * `Nango` class, so code written for Nango moves over by changing the import. Differences: every
 * method resolves with the response body (never an axios response), and every non-2xx answer
 * rejects with a {@link SynclineApiError}.
 *
 * @example
 * const syncline = new Syncline({ secretKey: process.env.SYNCLINE_SECRET_KEY!, host: 'http://localhost:3003' });
 * const { connections } = await syncline.listConnections();
 */
export class Syncline {
  readonly host: string;
  private readonly secretKey: string;
  private readonly fetch: typeof fetch;
  private readonly webhookSigningKey: string | undefined;

  /**
   * @example
   * new Syncline({ secretKey: 'sk_dev_…' });                          // local server
   * new Syncline({ apiKey: 'sk_dev_…', host: 'https://sync.example.com' }); // Nango-style option name
   */
  constructor(options: SynclineOptions) {
    if (options.apiKey && options.secretKey) {
      throw new Error('You must specify only one of apiKey or secretKey, not both.');
    }
    const key = options.apiKey ?? options.secretKey;
    if (!key) throw new Error('You must specify a secret key (secretKey or apiKey).');
    const host = (options.host || DEFAULT_HOST).replace(/\/+$/, '');
    try {
      new URL(host);
    } catch {
      throw new Error(`Invalid URL provided for the Syncline host: ${host}`);
    }
    this.host = host;
    this.secretKey = key;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.webhookSigningKey = options.webhookSigningKey;
  }

  // ---- Connections ----------------------------------------------------------------------------

  /**
   * A connection with its credentials. `refreshToken` adds the OAuth refresh token to the
   * credentials; `forceRefresh` asks for fresh credentials before they expire.
   *
   * @example
   * const connection = await syncline.getConnection('github', 'user-1');
   * const token = connection.credentials.access_token;
   */
  async getConnection<M extends Metadata = Metadata>(
    providerConfigKey: string,
    connectionId: string,
    forceRefresh = false,
    refreshToken = false,
  ): Promise<ApiConnectionFull<M>> {
    return this.request('GET', `/connections/${segment(connectionId)}`, {
      query: { provider_config_key: providerConfigKey, force_refresh: forceRefresh, refresh_token: refreshToken },
    });
  }

  /**
   * Connections of the environment, without credentials, oldest first. Either Nango's legacy
   * positional form or the object form.
   *
   * @example
   * await syncline.listConnections();                                    // all
   * await syncline.listConnections('user-1');                            // by connection id
   * await syncline.listConnections(undefined, 'acme', { limit: 20 });     // search
   * await syncline.listConnections({ userId: 'u1', integrationId: ['github', 'slack'], tags: { plan: 'pro' } });
   */
  async listConnections(connectionId?: string, search?: string, queries?: ListConnectionsQueries): Promise<{ connections: ApiConnection[] }>;
  async listConnections(params: ListConnectionsParams): Promise<{ connections: ApiConnection[] }>;
  async listConnections(
    connectionIdOrParams?: string | ListConnectionsParams,
    search?: string,
    queries: ListConnectionsQueries = {},
  ): Promise<{ connections: ApiConnection[] }> {
    const params: ListConnectionsParams =
      typeof connectionIdOrParams === 'object'
        ? connectionIdOrParams
        : { ...queries, connectionId: connectionIdOrParams, search, userId: queries.endUserId };
    const integrationId = Array.isArray(params.integrationId) ? params.integrationId.join(',') : params.integrationId;
    const query: Record<string, QueryValue> = {
      connectionId: params.connectionId,
      search: params.search,
      endUserId: params.userId,
      endUserOrganizationId: params.endUserOrganizationId,
      integrationId,
      limit: params.limit,
      page: params.page,
    };
    for (const [key, value] of Object.entries(params.tags ?? {})) query[`tags[${key.toLowerCase()}]`] = value;
    return this.request('GET', '/connections', { query });
  }

  /**
   * Imports a connection whose credentials were obtained elsewhere (`POST /connections`), or
   * replaces the credentials of the connection with the same id. Resolves with the connection.
   *
   * @example
   * await syncline.importConnection({
   *   provider_config_key: 'github',
   *   connection_id: 'user-1',
   *   credentials: { type: 'OAUTH2', access_token: 'gho_…', refresh_token: 'ghr_…' },
   * });
   */
  async importConnection(body: ImportConnectionBody): Promise<ApiConnectionFull> {
    return this.request('POST', '/connections', { body });
  }

  /**
   * Changes a connection's end user, tags or webhook URL override.
   *
   * @example
   * await syncline.patchConnection({ connectionId: 'user-1', provider_config_key: 'github' }, { tags: { plan: 'pro' } });
   */
  async patchConnection(params: { connectionId: string; provider_config_key: string }, body: PatchConnectionBody): Promise<Success> {
    return this.request('PATCH', `/connections/${segment(params.connectionId)}`, {
      query: { provider_config_key: params.provider_config_key },
      body,
    });
  }

  /**
   * Deletes a connection and its synced records.
   *
   * @example
   * await syncline.deleteConnection('github', 'user-1');
   */
  async deleteConnection(providerConfigKey: string, connectionId: string): Promise<Success> {
    return this.request('DELETE', `/connections/${segment(connectionId)}`, { query: { provider_config_key: providerConfigKey } });
  }

  // ---- Metadata -------------------------------------------------------------------------------

  /**
   * A connection's metadata, typed as you say.
   *
   * @example
   * const { fieldMapping } = await syncline.getMetadata<{ fieldMapping: Record<string, string> }>('github', 'user-1');
   */
  async getMetadata<T = Metadata>(providerConfigKey: string, connectionId: string): Promise<T> {
    const connection = await this.getConnection(providerConfigKey, connectionId);
    return connection.metadata as T;
  }

  /**
   * Replaces the metadata of one or several connections of an integration. All or nothing: if one
   * connection id is unknown, none is changed.
   *
   * @example
   * await syncline.setMetadata('github', 'user-1', { filter: 'status=closed' });
   * await syncline.setMetadata('github', ['user-1', 'user-2'], { plan: 'pro' });
   */
  async setMetadata(providerConfigKey: string, connectionId: string | string[], metadata: Metadata): Promise<MetadataChangeResponse> {
    return this.request('POST', '/connections/metadata', {
      body: { metadata, connection_id: connectionId, provider_config_key: providerConfigKey },
    });
  }

  /**
   * Merges keys into the metadata of one or several connections (shallow: a given key replaces
   * the whole old value of that key). All or nothing, as {@link setMetadata}.
   *
   * @example
   * await syncline.updateMetadata('github', 'user-1', { lastSeen: '2024-05-01' });
   */
  async updateMetadata(providerConfigKey: string, connectionId: string | string[], metadata: Metadata): Promise<MetadataChangeResponse> {
    return this.request('PATCH', '/connections/metadata', {
      body: { metadata, connection_id: connectionId, provider_config_key: providerConfigKey },
    });
  }

  // ---- Integrations ---------------------------------------------------------------------------

  /**
   * Integrations of the environment, without credentials (wrapped as `configs`, like Nango's SDK).
   *
   * @example
   * const { configs } = await syncline.listIntegrations();
   */
  async listIntegrations(): Promise<{ configs: ApiIntegration[] }> {
    const { data } = await this.request<{ data: ApiIntegration[] }>('GET', '/integrations');
    return { configs: data };
  }

  /**
   * One integration. Its credentials (client secret included) and webhook URL are only returned
   * when asked for with `include`.
   *
   * @example
   * const { data } = await syncline.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
   */
  async getIntegration(params: { uniqueKey: string }, queries: { include?: IntegrationInclude[] } = {}): Promise<{ data: ApiIntegration }> {
    return this.request('GET', `/integrations/${segment(params.uniqueKey)}`, {
      query: { include: queries.include?.length ? queries.include.join(',') : undefined },
    });
  }

  /**
   * @example
   * await syncline.createIntegration({
   *   unique_key: 'github',
   *   provider: 'github',
   *   credentials: { type: 'OAUTH2', client_id: 'Iv1.…', client_secret: '…', scopes: 'repo' },
   * });
   */
  async createIntegration(body: CreateIntegrationBody): Promise<{ data: ApiIntegration }> {
    return this.request('POST', '/integrations', { body });
  }

  /**
   * Changes only the fields given; `unique_key` renames the integration.
   *
   * @example
   * await syncline.updateIntegration({ uniqueKey: 'github' }, { display_name: 'GitHub (prod app)' });
   */
  async updateIntegration(params: { uniqueKey: string }, body: UpdateIntegrationBody): Promise<{ data: ApiIntegration }> {
    return this.request('PATCH', `/integrations/${segment(params.uniqueKey)}`, { body });
  }

  /**
   * Deletes an integration with all its connections and their records.
   *
   * @example
   * await syncline.deleteIntegration('github');
   */
  async deleteIntegration(uniqueKey: string): Promise<Success> {
    return this.request('DELETE', `/integrations/${segment(uniqueKey)}`);
  }

  // ---- Records --------------------------------------------------------------------------------

  /**
   * One page of synced records, oldest modification first. Keep `next_cursor` per connection and
   * model and pass it back as `cursor` to read only what changed since.
   *
   * @example
   * let cursor: string | null = null;
   * do {
   *   const page = await syncline.listRecords<{ title: string }>({ providerConfigKey: 'github', connectionId: 'user-1', model: 'Issue', cursor });
   *   for (const issue of page.records) console.log(issue.id, issue.title, issue._nango_metadata.last_action);
   *   cursor = page.next_cursor;
   * } while (cursor);
   */
  async listRecords<T extends Record<string, unknown> = Record<string, unknown>>(config: ListRecordsConfig): Promise<RecordsPage<T>> {
    return this.request('GET', '/records', {
      headers: connectionHeaders(config),
      query: {
        model: config.model,
        variant: config.variant,
        modified_after: config.modifiedAfter ?? config.delta,
        limit: config.limit,
        filter: config.filter,
        cursor: config.cursor ?? undefined,
        ids: config.ids,
      },
    });
  }

  /**
   * The records of one page, without the cursor.
   *
   * @deprecated Use {@link listRecords}, which returns `next_cursor` for paging.
   * @example
   * const issues = await syncline.getRecords<{ title: string }>({ providerConfigKey: 'github', connectionId: 'user-1', model: 'Issue' });
   */
  async getRecords<T extends Record<string, unknown> = Record<string, unknown>>(config: ListRecordsConfig): Promise<NangoRecord<T>[]> {
    return (await this.listRecords<T>(config)).records;
  }

  /**
   * Empties the payload of records up to a cursor (their ids and metadata stay); a later sync of a
   * record restores it. Call again while `has_more`.
   *
   * @example
   * const { count, has_more } = await syncline.pruneRecords({ providerConfigKey: 'github', connectionId: 'user-1', model: 'Issue', untilCursor: cursor });
   */
  async pruneRecords(config: PruneRecordsConfig): Promise<PruneRecordsResult> {
    return this.request('PATCH', '/records/prune', {
      headers: connectionHeaders(config),
      body: { model: config.model, until_cursor: config.untilCursor, limit: config.limit, variant: config.variant },
    });
  }

  // ---- Logs -----------------------------------------------------------------------------------

  /**
   * One page of the environment's execution logs (script lines, HTTP calls, run outcomes).
   *
   * @example
   * let cursor: string | null = null;
   * do {
   *   const page = await syncline.listLogs({ connectionId: 'user-1', sync: 'issues', level: ['warn', 'error'], cursor });
   *   for (const line of page.logs) console.log(line.created_at, line.level, line.message);
   *   cursor = page.next_cursor;
   * } while (cursor);
   */
  async listLogs(config: ListLogsConfig = {}): Promise<LogsPage> {
    const list = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
    return this.request('GET', '/logs', {
      query: {
        connectionId: config.connectionId,
        integration: config.integration,
        sync: config.sync,
        action: config.action,
        jobId: config.jobId,
        level: list(config.level),
        kind: list(config.kind),
        from: config.from,
        to: config.to,
        order: config.order,
        limit: config.limit,
        cursor: config.cursor ?? undefined,
      },
    });
  }

  // ---- Environment variables ------------------------------------------------------------------

  /**
   * The environment's variables, as scripts see them.
   *
   * @example
   * const vars = await syncline.getEnvironmentVariables(); // [{ name: 'BOT_TOKEN', value: '…' }]
   */
  async getEnvironmentVariables(): Promise<EnvironmentVariable[]> {
    return (await this.request<EnvironmentVariable[] | null>('GET', '/environment-variables')) ?? [];
  }

  /**
   * Creates or overwrites variables; others are left as they are.
   *
   * @example
   * await syncline.setEnvironmentVariables([{ name: 'BOT_TOKEN', value: 'abc' }]);
   */
  async setEnvironmentVariables(variables: EnvironmentVariable[]): Promise<Success> {
    return this.request('POST', '/environment-variables', { body: variables });
  }

  /**
   * @example
   * await syncline.deleteEnvironmentVariable('BOT_TOKEN');
   */
  async deleteEnvironmentVariable(name: string): Promise<Success> {
    return this.request('DELETE', `/environment-variables/${segment(name)}`);
  }

  // ---- Scripts --------------------------------------------------------------------------------

  /**
   * Deploys a whole nango.yaml with its compiled scripts, all or nothing (what `syncline deploy` sends).
   *
   * @example
   * await syncline.deploy({ nangoYamlBody, flowConfigs: [{ type: 'sync', providerConfigKey: 'github', name: 'issues', fileBody: { js, ts } }] });
   */
  async deploy(body: DeployBody): Promise<DeployResponse> {
    return this.request('POST', '/sync/deploy', { body });
  }

  /**
   * Deploys scripts that declare themselves (no nango.yaml), all or nothing: Nango's payload, each
   * flow with its models as JSON Schema.
   *
   * @example
   * await syncline.deployFlows({ flowConfigs: [{ type: 'action', syncName: 'double', providerConfigKey: 'demo', models: ['Out'], models_json_schema: { definitions: { Out: {...} } }, fileBody: { js } }] });
   */
  async deployFlows(body: FlowsDeployBody): Promise<DeployedFlow[]> {
    return this.request('POST', '/sync/deploy', { body });
  }

  /**
   * The deployed syncs and actions, per integration.
   *
   * @example
   * const [github] = await syncline.getScriptsConfig();
   */
  async getScriptsConfig(): Promise<ScriptsConfig[]> {
    return this.request('GET', '/scripts/config');
  }

  // ---- Syncs and actions ----------------------------------------------------------------------

  /**
   * Runs syncs now (or right after their current run): the named ones, or all of the integration's
   * when `syncs` is empty; of one connection, or of all when `connectionId` is omitted.
   * `opts.reset` ignores and clears the checkpoint. Nango's legacy `syncMode` string/boolean is accepted.
   *
   * @example
   * await syncline.triggerSync('github', ['issues'], 'user-1', { reset: true });
   */
  async triggerSync(
    providerConfigKey: string,
    syncs?: SyncName[],
    connectionId?: string,
    opts?: TriggerSyncOptions | 'incremental' | 'full_refresh' | 'full_refresh_and_clear_cache' | boolean,
  ): Promise<Success> {
    if (syncs && !Array.isArray(syncs)) throw new Error('Syncs must be an array. If it is a single sync, please wrap it in an array.');
    const legacy = typeof opts === 'boolean' ? (opts ? 'full_refresh' : 'incremental') : typeof opts === 'string' ? opts : undefined;
    const body = { syncs: syncs ?? [], provider_config_key: providerConfigKey, connection_id: connectionId, ...(legacy ? { sync_mode: legacy } : { opts }) };
    return this.request('POST', '/sync/trigger', { body });
  }

  /**
   * Unpauses syncs and runs them now.
   *
   * @example
   * await syncline.startSync('github', ['issues'], 'user-1');
   */
  async startSync(providerConfigKey: string, syncs: SyncName[], connectionId?: string): Promise<Success> {
    return this.request('POST', '/sync/start', { body: syncBody(providerConfigKey, syncs, connectionId) });
  }

  /**
   * Pauses the schedule of syncs (a run in progress finishes).
   *
   * @example
   * await syncline.pauseSync('github', ['issues']); // every connection
   */
  async pauseSync(providerConfigKey: string, syncs: SyncName[], connectionId?: string): Promise<Success> {
    return this.request('POST', '/sync/pause', { body: syncBody(providerConfigKey, syncs, connectionId) });
  }

  /**
   * Status of syncs (`'*'`: all of the integration's) per connection.
   *
   * @example
   * const { syncs } = await syncline.syncStatus('github', '*', 'user-1');
   * syncs[0].status; // 'SUCCESS'
   */
  async syncStatus(providerConfigKey: string, syncs: '*' | SyncName[], connectionId?: string): Promise<SyncStatusResponse> {
    if (!Array.isArray(syncs) && syncs !== '*') throw new Error('Syncs must be an array. If it is a single sync, please wrap it in an array.');
    const names = syncs === '*' ? '*' : syncs.map((s) => (typeof s === 'string' ? s : s.variant ? `${s.name}::${s.variant}` : s.name)).join(',');
    return this.request('GET', '/sync/status', { query: { syncs: names, provider_config_key: providerConfigKey, connection_id: connectionId } });
  }

  /**
   * Overrides a sync's frequency for one connection (`null` reverts to the deployed `runs`).
   *
   * @example
   * await syncline.updateSyncConnectionFrequency('github', 'issues', 'user-1', 'every 5 minutes');
   */
  async updateSyncConnectionFrequency(providerConfigKey: string, sync: SyncName, connectionId: string, frequency: string | null): Promise<{ frequency: string }> {
    const name = typeof sync === 'string' ? { sync_name: sync } : { sync_name: sync.name, sync_variant: sync.variant };
    return this.request('PUT', '/sync/update-connection-frequency', { body: { ...name, provider_config_key: providerConfigKey, connection_id: connectionId, frequency } });
  }

  /**
   * Creates a variant of a sync for one connection and starts it: the same script, its own schedule,
   * checkpoint and records (stored as `Model::variant`; read them with `listRecords({ variant })`).
   * Address it in sync calls as `{ name, variant }`.
   *
   * @example
   * await syncline.createSyncVariant({ provider_config_key: 'github', connection_id: 'user-1', name: 'issues', variant: 'octo-hello' });
   */
  async createSyncVariant(props: SyncVariantProps): Promise<SyncVariant> {
    return this.request('POST', `/sync/${segment(props.name)}/variant/${segment(props.variant)}`, {
      body: { provider_config_key: props.provider_config_key, connection_id: props.connection_id },
    });
  }

  /**
   * Deletes a sync variant: stops it (a running run is stopped) and deletes its records and jobs.
   *
   * @example
   * await syncline.deleteSyncVariant({ provider_config_key: 'github', connection_id: 'user-1', name: 'issues', variant: 'octo-hello' });
   */
  async deleteSyncVariant(props: SyncVariantProps): Promise<Success> {
    return this.request('DELETE', `/sync/${segment(props.name)}/variant/${segment(props.variant)}`, {
      body: { provider_config_key: props.provider_config_key, connection_id: props.connection_id },
    });
  }

  /**
   * Runs an action and resolves with its output; a failed action (its `ActionError` payload in
   * `error.payload`) rejects with a {@link SynclineApiError}.
   *
   * @example
   * const issue = await syncline.triggerAction('github', 'user-1', 'create-issue', { title: 'Bug' });
   */
  async triggerAction<In = unknown, Out = any>(providerConfigKey: string, connectionId: string, actionName: string, input?: In, options: { maxRetries?: number } = {}): Promise<Out> {
    const headers = { ...connectionHeaders({ providerConfigKey, connectionId }), ...(options.maxRetries !== undefined ? { 'X-Max-Retries': String(options.maxRetries) } : {}) };
    return this.request('POST', '/action/trigger', { headers, body: { action_name: actionName, input } });
  }

  /**
   * Starts an action and resolves at once with its id; `getAsyncActionResult` serves the output.
   *
   * @example
   * const { id } = await syncline.triggerActionAsync('github', 'user-1', 'create-issue', { title: 'Bug' });
   */
  async triggerActionAsync<In = unknown>(providerConfigKey: string, connectionId: string, actionName: string, input?: In): Promise<AsyncActionResponse> {
    const headers = { ...connectionHeaders({ providerConfigKey, connectionId }), 'X-Async': 'true' };
    return this.request('POST', '/action/trigger', { headers, body: { action_name: actionName, input } });
  }

  /**
   * The result of an async action: its output once finished. Until then it rejects with a
   * `SynclineApiError` of status 404 (code `not_found`), as Nango's API answers; a failed action
   * rejects with its error (an ActionError: status 500, code `action_script_runtime_error`, its payload).
   *
   * @example
   * const output = await syncline.getAsyncActionResult({ id });
   */
  async getAsyncActionResult<Out = any>(props: { id?: string; statusUrl?: string }): Promise<Out> {
    if (!props.id && !props.statusUrl) throw new Error('Either id or statusUrl must be provided');
    return this.request('GET', props.statusUrl ?? `/action/${segment(props.id!)}`);
  }

  // ---- Connect sessions and providers ---------------------------------------------------------

  /**
   * A short-lived (30 min) token for your frontend to connect an end user's accounts, with the
   * link of the connect page.
   *
   * @example
   * const { data } = await syncline.createConnectSession({ end_user: { id: 'u-42' }, allowed_integrations: ['github'] });
   * // hand data.token to the browser SDK, or send the user to data.connect_link
   */
  async createConnectSession(body: ConnectSessionBody): Promise<ConnectSession> {
    return this.request('POST', '/connect/sessions', { body });
  }

  /**
   * A connect session that re-authorises one existing connection (its credentials are replaced).
   *
   * @example
   * const { data } = await syncline.createReconnectSession({ connection_id: 'user-1', integration_id: 'github' });
   */
  async createReconnectSession(body: ReconnectSessionBody): Promise<ConnectSession> {
    return this.request('POST', '/connect/sessions/reconnect', { body });
  }

  /**
   * The provider catalogue, your own providers included.
   *
   * @example
   * const { data } = await syncline.listProviders({ search: 'google' });
   */
  async listProviders(queries: { search?: string } = {}): Promise<{ data: ApiProvider[] }> {
    return this.request('GET', '/providers', { query: { search: queries.search } });
  }

  /**
   * @example
   * const { data } = await syncline.getProvider({ provider: 'github' }); // data.proxy.base_url
   */
  async getProvider(params: { provider: string }): Promise<{ data: ApiProvider }> {
    return this.request('GET', `/providers/${segment(params.provider)}`);
  }

  // ---- Proxy ----------------------------------------------------------------------------------

  /**
   * A request to the provider's API through the server, which adds the connection's credentials
   * and retries as asked. Resolves with the provider's status, headers and body; a non-2xx answer
   * rejects with a {@link SynclineApiError} carrying the provider's body.
   *
   * @example
   * const res = await syncline.proxy({ providerConfigKey: 'github', connectionId: 'user-1', endpoint: '/user/repos', params: { per_page: 100 }, retries: 3 });
   * console.log(res.status, res.data.length);
   */
  async proxy<T = any>(config: ProxyConfiguration): Promise<ProxyResponse<T>> {
    const method = (config.method ?? 'GET').toUpperCase();
    const url = new URL(`${this.host}/proxy${config.endpoint.startsWith('/') ? '' : '/'}${config.endpoint}`);
    if (typeof config.params === 'string') {
      for (const [k, v] of new URLSearchParams(config.params)) url.searchParams.append(k, v);
    } else {
      for (const [k, v] of Object.entries(config.params ?? {})) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.secretKey}`,
      'Connection-Id': config.connectionId,
      'Provider-Config-Key': config.providerConfigKey,
    };
    for (const [name, value] of Object.entries(config.headers ?? {})) headers[`Nango-Proxy-${name}`] = value;
    if (config.baseUrlOverride) headers['Base-Url-Override'] = config.baseUrlOverride;
    if (config.retries) headers.Retries = String(config.retries);
    if (config.retryOn?.length) headers['Retry-On'] = config.retryOn.join(',');
    if (config.decompress) headers.Decompress = 'true';
    if (config.forwardHeadersOnRedirect !== undefined) headers['Forward-Headers-On-Redirect'] = String(config.forwardHeadersOnRedirect);
    let body: RequestInit['body'];
    if (config.data !== undefined && config.data !== null) {
      const d = config.data;
      const raw = typeof d === 'string' || d instanceof Uint8Array || d instanceof ArrayBuffer || d instanceof Blob || d instanceof FormData || d instanceof URLSearchParams;
      body = raw ? (d as RequestInit['body']) : JSON.stringify(d);
      const type = Object.entries(config.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
      if (type) headers['content-type'] = type;
      else if (!raw) headers['content-type'] = 'application/json';
    }
    const response = await this.fetch(url, { method, headers, body });
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => (responseHeaders[name] = value));
    const shape = (data: unknown): ProxyResponse<T> => ({ data: data as T, status: response.status, statusText: response.statusText, headers: responseHeaders });
    if (!response.ok) throw SynclineApiError.fromResponse(response.status, await response.text(), `${method} /proxy${config.endpoint}`);
    switch (config.responseType) {
      case 'stream':
        return shape(response.body);
      case 'arraybuffer':
        return shape(Buffer.from(await response.arrayBuffer()));
      case 'text':
        return shape(await response.text());
      default: {
        const text = await response.text();
        if (!/json/i.test(response.headers.get('content-type') ?? '')) return shape(text);
        return shape(text ? JSON.parse(text) : null);
      }
    }
  }

  /** `proxy` with GET. @example await syncline.get({ providerConfigKey: 'github', connectionId: 'u1', endpoint: '/user' }); */
  get<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy({ ...config, method: 'GET' });
  }

  /** `proxy` with POST. @example await syncline.post({ providerConfigKey: 'github', connectionId: 'u1', endpoint: '/user/repos', data: { name: 'x' } }); */
  post<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy({ ...config, method: 'POST' });
  }

  /** `proxy` with PUT. @example await syncline.put({ providerConfigKey: 'github', connectionId: 'u1', endpoint: '/user/starred/o/r' }); */
  put<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy({ ...config, method: 'PUT' });
  }

  /** `proxy` with PATCH. @example await syncline.patch({ providerConfigKey: 'github', connectionId: 'u1', endpoint: '/user', data: { bio: 'hi' } }); */
  patch<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy({ ...config, method: 'PATCH' });
  }

  /** `proxy` with DELETE. @example await syncline.delete({ providerConfigKey: 'github', connectionId: 'u1', endpoint: '/user/starred/o/r' }); */
  delete<T = any>(config: Omit<ProxyConfiguration, 'method'>): Promise<ProxyResponse<T>> {
    return this.proxy({ ...config, method: 'DELETE' });
  }

  // ---- Environment settings ---------------------------------------------------------------

  /**
   * Whether action inputs and outputs and sync records must match their models (all off by default).
   *
   * @example
   * const { data } = await syncline.getEnvironmentSettings(); // data.validate_action_output
   */
  async getEnvironmentSettings(): Promise<{ data: EnvironmentSettings }> {
    return this.request('GET', '/environment/settings');
  }

  /**
   * Changes the given settings only; runs that start afterwards follow them.
   *
   * @example
   * await syncline.updateEnvironmentSettings({ validate_action_input: true, validate_action_output: true });
   */
  async updateEnvironmentSettings(body: Partial<EnvironmentSettings>): Promise<{ data: EnvironmentSettings }> {
    return this.request('PATCH', '/environment/settings', { body });
  }

  // ---- Webhooks -------------------------------------------------------------------------------

  /**
   * The environment's webhook settings, with the signing key and the environment's public id.
   *
   * @example
   * const { data } = await syncline.getWebhookSettings(); // data.signing_key, data.primary_url
   */
  async getWebhookSettings(): Promise<{ data: WebhookSettings }> {
    return this.request('GET', '/environment/webhook');
  }

  /**
   * Changes the given settings only; URLs may be set to null.
   *
   * @example
   * await syncline.updateWebhookSettings({ primary_url: 'https://app.example.com/hooks', on_sync_completion_always: true });
   */
  async updateWebhookSettings(body: UpdateWebhookSettingsBody): Promise<{ data: WebhookSettings }> {
    return this.request('PATCH', '/environment/webhook', { body });
  }

  /**
   * Replaces the webhook signing key; webhooks sent from now on are signed with the new one.
   *
   * @example
   * const { data } = await syncline.rotateWebhookSigningKey(); // data.signing_key
   */
  async rotateWebhookSigningKey(): Promise<{ data: { signing_key: string } }> {
    return this.request('POST', '/environment/webhook-signing-key/rotate');
  }

  /**
   * Webhooks sent to the app, newest first, with every attempt; page with `cursor: next_cursor`.
   *
   * @example
   * const { data } = await syncline.listWebhookDeliveries({ type: 'sync', limit: 20 });
   */
  async listWebhookDeliveries(params: { type?: WebhookDelivery['type']; connectionId?: string; limit?: number; cursor?: string } = {}): Promise<{ data: WebhookDelivery[]; next_cursor: string | null }> {
    return this.request('GET', '/environment/webhook/deliveries', { query: { type: params.type, connection_id: params.connectionId, limit: params.limit, cursor: params.cursor } });
  }

  /**
   * Whether a webhook from Syncline is genuine: `X-Nango-Hmac-Sha256` must be the HMAC-SHA256 of the
   * raw body with the signing key (`webhookSigningKey`, else the secret key as in `@nangohq/node`).
   *
   * @example
   * app.post('/hooks', express.raw({ type: 'application/json' }), (req, res) => {
   *   if (!syncline.verifyIncomingWebhookRequest(req.body.toString(), req.headers)) return res.sendStatus(401);
   * });
   */
  verifyIncomingWebhookRequest(body: string | Buffer, headers: Record<string, string | string[] | undefined>): boolean {
    const name = Object.keys(headers).find((key) => key.toLowerCase() === 'x-nango-hmac-sha256');
    const given = name === undefined ? undefined : headers[name];
    if (typeof given !== 'string') return false;
    const expected = createHmac('sha256', this.webhookSigningKey ?? this.secretKey).update(body).digest('hex');
    return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  }

  /**
   * Deprecated in Nango: checks `X-Nango-Signature` (sha256 of the key and the JSON text). Prefer
   * {@link verifyIncomingWebhookRequest}.
   *
   * @example
   * syncline.verifyWebhookSignature(req.get('X-Nango-Signature')!, req.body);
   */
  verifyWebhookSignature(signatureInHeader: string, jsonPayload: unknown): boolean {
    const expected = createHash('sha256').update(`${this.webhookSigningKey ?? this.secretKey}${JSON.stringify(jsonPayload)}`).digest('hex');
    return signatureInHeader.length === expected.length && timingSafeEqual(Buffer.from(signatureInHeader), Buffer.from(expected));
  }

  // ---- Transport ------------------------------------------------------------------------------

  private async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.host + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.secretKey}`, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    if (!response.ok) throw SynclineApiError.fromResponse(response.status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function connectionHeaders(config: { providerConfigKey: string; connectionId: string }): Record<string, string> {
  return { 'Connection-Id': config.connectionId, 'Provider-Config-Key': config.providerConfigKey };
}

function syncBody(providerConfigKey: string, syncs: SyncName[], connectionId?: string) {
  if (!Array.isArray(syncs)) throw new Error('Syncs must be an array of strings. If it is a single sync, please wrap it in an array.');
  return { syncs, provider_config_key: providerConfigKey, connection_id: connectionId };
}
