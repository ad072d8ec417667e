import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes, type SignalDefinition } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { throttledWarn } from '../logger';
import { parseRuns, type OnEvent, type SyncDefinition } from '../config/nango-yaml';
import { conflict, invalid, notFound, SynclineError } from '../errors';
import { modelFullName } from '../runtime/host';
import type { RuntimeServices } from '../runtime/types';
import type { SyncStatus } from '../sdk/types';
import { onOutboxWrite, PgCheckpointStore, type Store } from '../store';
import type { ActionRun } from '../store/actions';
import type { LifecycleEvent, SyncRow } from '../store/jobs';
import type { DeployedScript, DeployResult } from '../store/scripts';
import type { Connection, Environment } from '../types';
import { temporalDispatcher, type WebhookDispatcher } from '../webhooks';
import { actionWorkflow, ON_EVENT_TIMEOUT_MS, onEventWorkflow, pauseSignal, resumeSignal, statusQuery, syncWorkflow, triggerSignal, updateFrequencySignal } from '../workflows';
import { ACTION_TIMEOUT_MS } from '../workflows/action';
import { unrecordedActionEnd, type UnrecordedActionEnd } from '../workflows/failures';
import { actionWorkflowId, MAX_KEYWORD_LENGTH, MAX_WORKFLOW_ID_LENGTH, onEventWorkflowId, shorten, syncWorkflowId } from './workflow-ids';
import { SEARCH_ATTRIBUTES, TASK_QUEUE, type ActionWorkflowArgs, type OnEventResult, type SyncKey, type SyncLiveStatus, type TriggerOptions } from '../workflows/types';

/** A sync named by the API: `name`, `name::variant` or `{name, variant}`. */
export type SyncSelector = string | { name: string; variant?: string };

/** One sync of one connection, resolved against the deployed scripts. */
export interface SyncTarget {
  key: SyncKey;
  connection: Connection;
  script: DeployedScript;
  config: SyncDefinition;
  row: SyncRow;
}

/** `GET /sync/status` entry, in Nango's shape (the SDK's type). */
export type { SyncStatus };

export interface OrchestratorOptions {
  store: Store;
  client: Client;
  logger: Logger;
  namespace?: string;
  taskQueue?: string;
  /** Heartbeat timeout of sync runs and action attempts (default 60 s); tests shorten it to see a killed worker's run retried quickly. */
  heartbeatTimeoutMs?: number;
  /** Runs per workflow execution before continue-as-new (tests make it small). */
  runsPerExecution?: number;
  /** How long an action run is RUNNING before its workflow is asked whether it ended (UNFINISHED_ACTION_CHECK_MS; tests make it small). */
  unfinishedActionCheckMs?: number;
}

const searchKeys = SEARCH_ATTRIBUTES.map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD));
const PARALLEL = 16;
/** Variants of one sync per connection, as in Nango. */
export const MAX_VARIANTS = 100;
/** How long an action run is RUNNING before (and between) checks of its workflow: a terminated or timed-out one never records its end. */
const UNFINISHED_ACTION_CHECK_MS = 60_000;
/** How often the lifecycle loop looks for such runs. */
const UNFINISHED_ACTION_CHECK_INTERVAL_MS = 5_000;
/**
 * How often the lifecycle loop looks at its outboxes when nothing tells it to: new rows are announced
 * (LISTEN/NOTIFY) and its own retries wake it when due, so this catches only what no one announced
 * (a lapsed lease, a revived row, an announcement lost with the listening connection).
 */
export const LIFECYCLE_POLL_MS = 2_500;
/** A run younger than this whose workflow is not found may still be starting. */
const UNSTARTED_ACTION_GRACE_MS = 30_000;
/** How long deleting a variant waits for its running script to stop before deleting its records. */
const RUN_STOP_WAIT_MS = 20_000;
/** Longest wait for the pre-connection-deletion scripts before a connection is deleted anyway. */
const PRE_DELETION_WAIT_MS = 60_000;
/** How long a connection waits for its validate-connection scripts: their limit, and an attempt's margin. */
const VALIDATION_WAIT_MS = ON_EVENT_TIMEOUT_MS + 60_000;

/**
 * Why a validate-connection script refused a connection, worded as Nango words it: the `message`
 * (else the `error`) of what it threw, e.g. `throw new nango.ActionError({ message: 'Wrong account' })`;
 * the failure's own message when it threw something else.
 */
export function refusalMessage(error: { type: string; message: string; payload?: unknown }): string {
  const payload = typeof error.payload === 'object' && error.payload !== null ? (error.payload as Record<string, unknown>) : {};
  if (typeof payload.message === 'string') return payload.message;
  if (typeof payload.error === 'string') return payload.error;
  return error.type === 'action_script_runtime_error' ? 'Connection failed validation' : error.message;
}

/**
 * The client side of sync orchestration: starts, signals, queries and stops sync workflows, runs
 * actions, turns deploys and connection lifecycle events into workflow starts and stops, and auth
 * events into `auth` webhooks.
 *
 * @example
 * const orchestrator = new Orchestrator({ store, client, logger });
 * await orchestrator.trigger(await orchestrator.targets(env, 'github', ['issues'], 'user-1'), { reset: true });
 */
export class Orchestrator {
  readonly store: Store;
  readonly client: Client;
  readonly taskQueue: string;
  private readonly logger: Logger;
  private readonly namespace: string;
  private lifecycle: { stop: boolean; done: Promise<void>; wake(): void; wakeAt(at: number): void } | undefined;
  /** Where drained `auth` events go. */
  private readonly webhooks: WebhookDispatcher;

  constructor(private readonly options: OrchestratorOptions) {
    this.store = options.store;
    this.client = options.client;
    this.logger = options.logger;
    this.taskQueue = options.taskQueue ?? TASK_QUEUE;
    this.namespace = options.namespace ?? 'default';
    this.webhooks = temporalDispatcher(this.store, this.client, this.taskQueue);
  }

  /**
   * Registers the search attributes sync workflows carry (already registered ones are fine), then
   * checks the namespace lists them: a cluster refuses workflows using them ("no mapping defined
   * for search attribute") until its namespace cache has them, up to ~10 s later. Throws while they
   * are not listed yet; `startOrchestration` retries.
   */
  async registerSearchAttributes(): Promise<void> {
    const operator = this.client.connection.operatorService;
    const Keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await operator.addSearchAttributes({ namespace: this.namespace, searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((name) => [name, Keyword])) });
    } catch (err) {
      if ((err as { code?: number }).code !== grpcStatus.ALREADY_EXISTS) throw err;
    }
    const listed = await operator.listSearchAttributes({ namespace: this.namespace });
    const missing = SEARCH_ATTRIBUTES.filter((name) => !(name in listed.customAttributes));
    if (missing.length > 0) throw new Error(`namespace "${this.namespace}" does not list search attributes ${missing.join(', ')} yet`);
  }

  // ---- Syncs ----------------------------------------------------------------------------------

  /**
   * The syncs `selectors` name (all of the integration's, with their variants, when empty or `*`)
   * for one connection or all of the integration's connections. Unknown names are a 404, and so is
   * a variant that was not created (`createVariant`) for the connection, or for any connection.
   */
  async targets(env: Environment, integration: string, selectors: SyncSelector[] | '*', connectionId?: string): Promise<SyncTarget[]> {
    await this.store.integrations.get(env.id, integration); // 404 for an unknown integration
    const scripts = (await this.store.scripts.active(env.id, integration)).filter((s) => s.type === 'sync');
    const all = selectors === '*' || selectors.length === 0;
    const wanted = all ? scripts.map((s) => ({ name: s.name, variant: 'base' })) : selectors.map(parseSelector);
    const byName = new Map(scripts.map((s) => [s.name, s]));
    const unknown = wanted.find((w) => !byName.has(w.name));
    if (unknown) throw notFound('unknown_sync', `No sync "${unknown.name}" is deployed for integration "${integration}"`);
    const connections = connectionId ? [await this.store.connections.get(env.id, integration, connectionId)] : await this.connectionsOf(env.id, integration);
    // Variants exist only once created: their rows are read, never made here.
    const variants = new Map<string, SyncRow>();
    if (all || wanted.some((w) => w.variant !== 'base')) {
      for (let i = 0; i < connections.length; i += 1000) {
        const rows = await this.store.jobs.syncsOf(connections.slice(i, i + 1000).map((c) => c.id));
        for (const row of rows) if (row.variant !== 'base' && byName.has(row.name)) variants.set(`${row.connectionPk}/${row.name}/${row.variant}`, row);
      }
    }
    const pairs: Array<{ connection: Connection; name: string; variant: string }> = [];
    for (const connection of connections) {
      for (const w of wanted) {
        if (w.variant === 'base' || variants.has(`${connection.id}/${w.name}/${w.variant}`)) pairs.push({ connection, ...w });
      }
      if (all) for (const row of variants.values()) if (row.connectionPk === connection.id) pairs.push({ connection, name: row.name, variant: row.variant });
    }
    const missing = wanted.find((w) => w.variant !== 'base' && !pairs.some((p) => p.name === w.name && p.variant === w.variant));
    if (missing) {
      throw notFound('unknown_sync_variant', `No variant "${missing.variant}" of sync "${missing.name}"${connectionId ? ` for connection "${connectionId}"` : ''}: create it first (POST /sync/${missing.name}/variant/${missing.variant})`);
    }
    const baseKeys = [...new Map(pairs.filter((p) => p.variant === 'base').map((p) => [`${p.connection.id}/${p.name}`, { connectionPk: p.connection.id, name: p.name, variant: 'base' }])).values()];
    const rows = new Map<string, SyncRow>(variants);
    for (let i = 0; i < baseKeys.length; i += 1000) {
      for (const row of await this.store.jobs.ensureSyncs(baseKeys.slice(i, i + 1000))) rows.set(`${row.connectionPk}/${row.name}/${row.variant}`, row);
    }
    const seen = new Set<string>();
    return pairs.flatMap(({ connection, name, variant }) => {
      const id = `${connection.id}/${name}/${variant}`;
      if (seen.has(id)) return [];
      seen.add(id);
      return [this.target(env, integration, connection, byName.get(name)!, rows.get(id)!, variant)];
    });
  }

  /**
   * Creates a variant of a sync for one connection (`name::variant`, its records stored as
   * `Model::variant`) and starts its workflow, paused when the sync is not `auto_start`.
   *
   * @example
   * const target = await orchestrator.createVariant(env, 'github', 'user-1', 'issues', 'octo-hello');
   * await orchestrator.trigger([target]);
   */
  async createVariant(env: Environment, integration: string, connectionId: string, name: string, variant: string): Promise<SyncTarget> {
    checkVariant(variant);
    await this.store.integrations.get(env.id, integration);
    const connection = await this.store.connections.get(env.id, integration, connectionId);
    const script = await this.store.scripts.find(env.id, integration, 'sync', name);
    if (!script) throw notFound('unknown_sync', `No sync "${name}" is deployed for integration "${integration}"`);
    const existing = (await this.store.jobs.syncsOf([connection.id])).filter((r) => r.name === name && r.variant !== 'base');
    if (existing.some((r) => r.variant === variant)) throw conflict('sync_variant_already_exists', `Sync "${name}" already has a variant "${variant}" for connection "${connectionId}"`);
    if (existing.length >= MAX_VARIANTS) throw invalid('resource_capped', `Sync "${name}" has the maximum of ${MAX_VARIANTS} variants for connection "${connectionId}"`);
    const row = await this.store.jobs.createSync(connection.id, name, variant);
    if (!row) throw conflict('sync_variant_already_exists', `Sync "${name}" already has a variant "${variant}" for connection "${connectionId}"`);
    const target = this.target(env, integration, connection, script, row, variant);
    await this.ensure([target]);
    return target;
  }

  /**
   * Deletes a variant: stops its workflow (a running script is stopped), then deletes its records,
   * its checkpoint and its sync row with its jobs.
   *
   * @example
   * await orchestrator.deleteVariant(env, 'github', 'user-1', 'issues', 'octo-hello');
   */
  async deleteVariant(env: Environment, integration: string, connectionId: string, name: string, variant: string): Promise<void> {
    checkVariant(variant);
    await this.store.integrations.get(env.id, integration);
    const connection = await this.store.connections.get(env.id, integration, connectionId);
    const row = (await this.store.jobs.syncsOf([connection.id])).find((r) => r.name === name && r.variant === variant);
    if (!row) throw notFound('unknown_sync_variant', `No variant "${variant}" of sync "${name}" for connection "${connectionId}"`);
    const key: SyncKey = { environmentId: env.id, environment: env.name, integration, connectionId, sync: name, variant };
    await this.stop([key], 'sync variant deleted');
    // The stopped run ends its job once its worker hears of the stop (next heartbeat): only then is nothing more written.
    const deadline = Date.now() + RUN_STOP_WAIT_MS;
    while ((await this.store.jobs.latestJobs([row.id])).get(row.id)?.latest.status === 'RUNNING' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const script = await this.store.scripts.find(env.id, integration, 'sync', name);
    const models = script ? (script.config as SyncDefinition).output.map((m) => modelFullName(m, variant)) : [];
    await this.store.records.purge(connection.id, models);
    await new PgCheckpointStore(this.store.db, connection.id).clear(PgCheckpointStore.syncKey(env.name, integration, connectionId, name, variant));
    await this.store.jobs.deleteSync(row.id);
  }

  /** Starts the workflows that do not run yet (paused when the sync is not `auto_start` or was paused) and updates the frequency of the others. */
  async ensure(targets: SyncTarget[]): Promise<void> {
    await this.each(targets, (t) => this.signalWithStart(t, updateFrequencySignal, [frequencyOf(t)], { paused: t.row.paused || !t.config.autoStart }));
  }

  /** Runs now (or right after the current run); `reset` clears the checkpoint first, and with `emptyCache` the sync's records too. */
  async trigger(targets: SyncTarget[], options: TriggerOptions = {}): Promise<void> {
    const signal: TriggerOptions = { reset: options.reset === true, ...(options.reset && options.emptyCache ? { emptyCache: true } : {}) };
    await this.each(targets, (t) => this.signalWithStart(t, triggerSignal, [signal], { paused: t.row.paused }));
  }

  async pause(targets: SyncTarget[]): Promise<void> {
    await this.store.jobs.setPaused(targets.map((t) => t.row.id), true);
    await this.each(targets, (t) => this.signalWithStart(t, pauseSignal, [], { paused: true }));
  }

  /** Unpauses and runs now. */
  async resume(targets: SyncTarget[]): Promise<void> {
    await this.store.jobs.setPaused(targets.map((t) => t.row.id), false);
    await this.each(targets, (t) => this.signalWithStart(t, resumeSignal, [], { paused: false }));
  }

  /** Overrides the frequency for one connection (`null` reverts to the script's `runs`); returns the frequency in effect. */
  async updateFrequency(target: SyncTarget, frequency: string | null): Promise<string> {
    const ms = frequency === null ? target.config.intervalMs : parseRuns(frequency);
    if (!ms) throw invalid('invalid_frequency', `"${frequency}" is not a frequency; expected e.g. "every 5 minutes", "every hour", "every 1d"`);
    if (ms < 30_000) throw invalid('invalid_frequency', 'The minimum frequency is every 30 seconds');
    await this.store.jobs.setFrequency(target.row.id, frequency);
    target.row.frequency = frequency;
    await this.signalWithStart(target, updateFrequencySignal, [ms], { paused: target.row.paused || !target.config.autoStart });
    return frequency ?? target.config.runs;
  }

  /** Sends `updateFrequency` with any positive interval, bypassing the 30-second minimum (tests, benchmarks). */
  async setFrequencyMs(target: SyncTarget, ms: number): Promise<void> {
    target.row.frequency = `every ${ms}ms`;
    await this.store.jobs.setFrequency(target.row.id, target.row.frequency);
    await this.signalWithStart(target, updateFrequencySignal, [ms], { paused: target.row.paused, frequencyMs: ms });
  }

  /** The live state of each target's workflow (null when it is not running: the client rejects queries to closed workflows). */
  async live(targets: SyncTarget[]): Promise<Array<SyncLiveStatus | null>> {
    return this.each(targets, (t) =>
      this.client.workflow
        .getHandle(syncWorkflowId(t.key))
        .query(statusQuery)
        .catch(() => null),
    );
  }

  /** Status in Nango's shape: history from the job rows, live state from the workflow query. */
  async status(targets: SyncTarget[]): Promise<SyncStatus[]> {
    const [live, jobs] = await Promise.all([this.live(targets), this.store.jobs.latestJobs(targets.map((t) => t.row.id))]);
    const counts = new Map<number, Record<string, number>>();
    for (const pk of new Set(targets.map((t) => t.connection.id))) counts.set(pk, await this.store.records.countByModel(pk));
    const checkpoints = await this.each(targets, (t) =>
      new PgCheckpointStore(this.store.db, t.connection.id).get(PgCheckpointStore.syncKey(t.key.environment, t.key.integration, t.key.connectionId, t.key.sync, t.key.variant)),
    );
    return targets.map((t, i) => {
      const state = live[i];
      const history = jobs.get(t.row.id);
      const finished = history?.lastFinished ?? null;
      const models = t.config.output.map((m) => (t.key.variant === 'base' ? m : `${m}::${t.key.variant}`));
      const recordCount = Object.fromEntries(models.map((m) => [m, counts.get(t.connection.id)?.[m] ?? 0]));
      let status: SyncStatus['status'];
      if (!state) status = 'STOPPED';
      else if (state.running) status = 'RUNNING';
      else if (state.paused) status = 'PAUSED';
      else if (finished) status = finished.status === 'ERROR' ? 'ERROR' : 'SUCCESS';
      else status = 'RUNNING';
      return {
        id: String(t.row.id),
        connection_id: t.key.connectionId,
        name: t.key.sync,
        variant: t.key.variant,
        status,
        type: t.config.syncType === 'incremental' && finished ? 'INCREMENTAL' : 'INITIAL',
        finishedAt: finished?.finishedAt?.toISOString() ?? null,
        nextScheduledSyncAt: state?.nextRunAt ? new Date(state.nextRunAt).toISOString() : null,
        frequency: t.row.frequency ?? t.config.runs,
        latestResult: finished ? finished.result : null,
        recordCount,
        checkpoint: checkpoints[i] ?? null,
      };
    });
  }

  /** Stops (terminates) sync workflows; a running script is stopped too, once its worker hears of it at its next heartbeat (within seconds). */
  async stop(keys: SyncKey[], reason: string): Promise<void> {
    await this.each(keys, async (key) => {
      try {
        await this.client.workflow.getHandle(syncWorkflowId(key)).terminate(reason);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    });
  }

  /**
   * Moves sync workflows started under an id longer than MAX_WORKFLOW_ID_LENGTH (before long ids
   * were shortened; the embedded engine accepted them) to their shortened id: each is terminated and
   * its sync started again under the new id, from the state the database holds (paused, frequency,
   * checkpoint). Finds them by listing the running sync workflows; returns how many moved.
   */
  async migrateLongWorkflowIds(): Promise<number> {
    const long: Array<{ workflowId: string; attributes: TypedSearchAttributes }> = [];
    for await (const w of this.client.workflow.list({ query: `WorkflowType = 'syncWorkflow' AND ExecutionStatus = 'Running'` })) {
      if (w.workflowId.length > MAX_WORKFLOW_ID_LENGTH) long.push({ workflowId: w.workflowId, attributes: w.typedSearchAttributes });
    }
    for (const { workflowId, attributes } of long) {
      const [environment, integration, connectionId, sync] = searchKeys.map((k) => attributes.get(k) as string | undefined);
      await this.terminateAll([workflowId], 'moved to a shortened workflow id');
      const env = environment === undefined ? undefined : await this.store.environments.byName(environment);
      if (!env || !integration || !connectionId || !sync) continue; // its environment is gone: nothing to restart
      const targets = await this.targets(env, integration, [sync], connectionId).catch((err: unknown) => {
        if (err instanceof SynclineError && err.kind === 'not_found') return []; // its connection or sync is gone
        throw err;
      });
      await this.ensure(targets);
    }
    return long.length;
  }

  /** After a deploy: start (or update) the syncs of every existing connection, stop removed syncs. */
  async onDeploy(env: Environment, result: DeployResult): Promise<void> {
    const removed = result.removed.filter((r) => r.type === 'sync');
    for (const integration of new Set(removed.map((r) => r.integration))) {
      const connections = await this.connectionsOf(env.id, integration);
      const names = removed.filter((r) => r.integration === integration).map((r) => r.name);
      const variants = await this.store.jobs.syncsOf(connections.map((c) => c.id));
      const keys = connections.flatMap((c) =>
        names.flatMap((sync) => {
          const known = variants.filter((v) => v.connectionPk === c.id && v.name === sync).map((v) => v.variant);
          return [...new Set(['base', ...known])].map((variant) => ({ environmentId: env.id, environment: env.name, integration, connectionId: c.connectionId, sync, variant }));
        }),
      );
      await this.stop(keys, 'sync removed from the deployed configuration');
    }
    for (const integration of new Set(result.scripts.filter((s) => s.type === 'sync').map((s) => s.integration))) {
      await this.ensure(await this.targets(env, integration, '*'));
    }
  }

  // ---- Actions --------------------------------------------------------------------------------

  /**
   * Runs an action call as its own workflow. Sync mode waits and returns the finished run; async
   * mode returns at once with the run id.
   */
  async triggerAction(
    env: Environment,
    call: { integration: string; connectionId: string; action: string; input: unknown; maxRetries: number; async: boolean; nested?: boolean },
  ): Promise<{ id: string; run: ActionRun | null }> {
    await this.store.connections.get(env.id, call.integration, call.connectionId);
    if (!(await this.store.scripts.find(env.id, call.integration, 'action', call.action))) {
      throw notFound('unknown_action', `No action "${call.action}" is deployed for integration "${call.integration}"`);
    }
    const id = randomUUID();
    await this.store.actions.create({ id, environmentId: env.id, integration: call.integration, connectionId: call.connectionId, action: call.action, async: call.async });
    const args: ActionWorkflowArgs = {
      environmentId: env.id,
      environment: env.name,
      integration: call.integration,
      connectionId: call.connectionId,
      action: call.action,
      input: call.input,
      maxRetries: call.maxRetries,
      ...(call.async ? { async: true } : {}),
      ...(call.nested ? { nested: true } : {}),
      ...(this.options.heartbeatTimeoutMs ? { heartbeatTimeoutMs: this.options.heartbeatTimeoutMs } : {}),
    };
    const handle = await this.client.workflow
      .start(actionWorkflow, {
        taskQueue: this.taskQueue,
        workflowId: actionWorkflowId(env.name, id),
        args: [args, id],
        workflowExecutionTimeout: (call.maxRetries + 1) * (ACTION_TIMEOUT_MS + 120_000),
        // Run on this process's worker without waiting for a poll when there is one (else a normal start).
        requestEagerStart: true,
      })
      .catch(async (err: unknown) => {
        // Never started: nothing else would end the run (if this fails too, the check of unfinished runs does).
        await this.store.actions.abandon(id, { type: 'action_failed', message: 'The action could not be started' }).catch(() => undefined);
        throw err;
      });
    if (call.async) return { id, run: null };
    try {
      await handle.result();
    } catch (err) {
      // Terminated or timed out: its workflow recorded nothing.
      if (!(err instanceof WorkflowFailedError)) throw err;
    }
    const run = await this.store.actions.get(env.id, id);
    return { id, run: run && (await this.settleActionRun(env.name, run)) };
  }

  /** `nango.triggerAction` inside scripts of `env`: runs the action and returns its output, or throws its error. */
  scriptTrigger(env: Environment): NonNullable<RuntimeServices['triggerAction']> {
    return async (integration, connectionId, action, input) => {
      const { run } = await this.triggerAction(env, { integration, connectionId, action, input, maxRetries: 0, async: false, nested: true });
      if (run?.status === 'SUCCESS') return run.output;
      throw new SynclineError('failed_dependency', run?.error?.type ?? 'action_failed', run?.error?.message ?? 'The action failed');
    };
  }

  /** An action run of `env` as `GET /action/:id` answers it: one still RUNNING whose workflow has ended is ended first. */
  async actionRun(env: Environment, id: string): Promise<ActionRun | null> {
    const run = await this.store.actions.get(env.id, id);
    if (run?.status !== 'RUNNING') return run;
    return this.settleActionRun(env.name, run).catch((err: unknown) => {
      this.logger.warn({ err, actionId: id }, 'actions: asking Temporal how an unfinished run ended failed');
      return run;
    });
  }

  /**
   * A run still RUNNING whose workflow has ended (terminated, timed out, failed without recording an
   * outcome) or never existed is ended with what happened, and an async call gets its `async_action`
   * webhook, once: whoever ends the run sends it. Returns the run as it is now.
   */
  async settleActionRun(environment: string, run: ActionRun): Promise<ActionRun> {
    if (run.status !== 'RUNNING') return run;
    const handle = this.client.workflow.getHandle<typeof actionWorkflow>(actionWorkflowId(environment, run.id));
    let error: UnrecordedActionEnd;
    try {
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') return run;
      const result = await handle.result().catch((err: unknown) => ({ success: false as const, error: unrecordedActionEnd(err) }));
      error = result.success ? { type: 'action_failed', message: 'The action ended without recording its outcome' } : result.error;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Its start may still be on the way (the row is written first), or the run's workflow is past the server's retention.
      if (Date.now() - run.createdAt.getTime() < UNSTARTED_ACTION_GRACE_MS) return run;
      error = { type: 'action_failed', message: 'The action was not started, or its workflow is gone' };
    }
    if ((await this.store.actions.abandon(run.id, error)) && run.async) {
      await this.webhooks.asyncAction(run.environmentId, { id: run.id, integration: run.integration, connectionId: run.connectionId });
    }
    return (await this.store.actions.get(run.environmentId, run.id)) ?? run;
  }

  /** Checks the runs RUNNING for longer than `unfinishedActionCheckMs` (since they started or were last checked) against their workflows; returns how many. */
  async settleUnfinishedActions(): Promise<number> {
    const runs = await this.store.actions.takeUnfinished(this.options.unfinishedActionCheckMs ?? UNFINISHED_ACTION_CHECK_MS, 100);
    await this.each(runs, (run) => this.settleActionRun(run.environment, run));
    return runs.length;
  }

  // ---- On-event scripts -----------------------------------------------------------------------

  /**
   * Runs the on-event scripts of `integration` for `event` on one connection, each as its own
   * workflow, and returns their results once all ended, or after `waitMs` (those still running are
   * then undefined). `cause` names the occasion in their workflow ids, so a repeat of the same
   * occasion (a lifecycle event handled again) starts nothing twice.
   */
  async runOnEvents(env: Environment, integration: string, connectionId: string, event: OnEvent, cause: string, waitMs: number): Promise<Array<OnEventResult | undefined>> {
    const scripts = await this.store.scripts.onEvent(env.id, integration, event);
    const handles = await Promise.all(
      scripts.map(async (script) => {
        const workflowId = onEventWorkflowId(env.name, integration, connectionId, script.name, cause);
        const args = { environmentId: env.id, environment: env.name, integration, connectionId, event, script: script.name, runId: randomUUID() };
        return this.client.workflow.start(onEventWorkflow, { taskQueue: this.taskQueue, workflowId, args: [args], requestEagerStart: true }).catch((err: unknown) => {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return this.client.workflow.getHandle<typeof onEventWorkflow>(workflowId);
          throw err;
        });
      }),
    );
    if (waitMs <= 0) return [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs).unref()));
    try {
      return await Promise.all(handles.map((h) => Promise.race([h.result().catch((err: unknown) => ({ success: false as const, error: unrecordedActionEnd(err) })), deadline])));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the connections of `integration` must pass validate-connection scripts before they count. */
  async validatesConnections(environmentId: number, integration: string): Promise<boolean> {
    return (await this.store.scripts.onEvent(environmentId, integration, 'validate-connection')).length > 0;
  }

  /**
   * Runs the validate-connection scripts of `integration` on one connection and waits for them
   * (at most VALIDATION_WAIT_MS): null when all passed, else why the first to fail refused it.
   */
  async validateConnection(env: Environment, integration: string, connectionId: string): Promise<string | null> {
    const results = await this.runOnEvents(env, integration, connectionId, 'validate-connection', randomUUID(), VALIDATION_WAIT_MS);
    for (const result of results) {
      if (result === undefined) return `The connection's validation did not end within ${VALIDATION_WAIT_MS / 1000} s`;
      if (!result.success) return refusalMessage(result.error);
    }
    return null;
  }

  /**
   * The pre-connection-deletion scripts of a connection about to be deleted: waits for them (at
   * most PRE_DELETION_WAIT_MS), so they still have its credentials; their failures are in their
   * logs and do not stop the deletion, as in Nango.
   */
  async beforeConnectionDeletion(env: Environment, integration: string, connectionId: string): Promise<void> {
    await this.runOnEvents(env, integration, connectionId, 'pre-connection-deletion', randomUUID(), PRE_DELETION_WAIT_MS);
  }

  // ---- Connection lifecycle -------------------------------------------------------------------

  /**
   * Drains the outboxes: the lifecycle one (created connections get their syncs, deleted ones lose
   * them) and the auth one (`auth` webhooks), as soon as rows are added to them, when a retry falls
   * due, and every `pollMs` otherwise.
   */
  startLifecycle(pollMs = LIFECYCLE_POLL_MS): void {
    if (this.lifecycle) return;
    let wake: (() => void) | undefined;
    let written = false;
    let dueAt = Infinity;
    const state = {
      stop: false,
      done: Promise.resolve(),
      wake: () => {
        written = true;
        wake?.();
      },
      wakeAt: (at: number) => void (dueAt = Math.min(dueAt, at)),
    };
    const outboxes: Array<[string, () => Promise<number>]> = [
      ['sync lifecycle', () => this.drainLifecycle()],
      ['auth webhooks', () => this.drainAuthEvents()],
      ['unfinished actions', every(UNFINISHED_ACTION_CHECK_INTERVAL_MS, () => this.settleUnfinishedActions())],
    ];
    // While the database is away every drain fails: one line per outbox every few seconds, not a stack per turn.
    const warn = throttledWarn(this.logger);
    state.done = (async () => {
      const listening = onOutboxWrite(this.store.db, state.wake).catch((err: unknown) => {
        warn(err, 'outboxes: cannot listen for new rows; polling them');
        return async () => undefined;
      });
      while (!state.stop) {
        written = false;
        let handled = 0;
        for (const [name, drain] of outboxes) {
          try {
            handled += await drain();
          } catch (err) {
            warn(err, `${name}: draining the outbox failed; retrying`);
          }
        }
        if (handled > 0 || written || state.stop) continue;
        const until = Math.min(Date.now() + pollMs, dueAt);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (Date.now() >= dueAt) dueAt = Infinity;
      }
      await (await listening)();
    })();
    this.lifecycle = state;
  }

  async stopLifecycle(): Promise<void> {
    if (!this.lifecycle) return;
    this.lifecycle.stop = true;
    this.lifecycle.wake();
    await this.lifecycle.done;
    this.lifecycle = undefined;
  }

  /** Handles the lifecycle events that are due; returns how many. */
  async drainLifecycle(): Promise<number> {
    const events = await this.store.jobs.takeEvents(500);
    // Events of one connection in order; different connections in parallel.
    const byConnection = new Map<string, typeof events>();
    for (const event of events) {
      const id = `${event.environmentId}/${event.integrationKey}/${event.connectionId}`;
      byConnection.set(id, [...(byConnection.get(id) ?? []), event]);
    }
    await this.each([...byConnection.values()], async (group) => {
      for (const event of group) await this.handleLifecycle(event);
    });
    return events.length;
  }

  /**
   * Turns the due `auth` events into webhook deliveries; returns how many were taken. A handled
   * event leaves the outbox; a failed one comes back with back-off. One taken by a drain that died
   * is due again when its lease ends, and enqueueing it again adds nothing (its cause is its id).
   */
  async drainAuthEvents(): Promise<number> {
    const events = await this.store.authEvents.take(100);
    await this.each(events, async (event) => {
      try {
        await this.webhooks.auth(event);
      } catch (err) {
        this.logger.warn({ err, event }, 'auth webhooks: enqueueing failed, retrying later');
        await this.retryLater(event, (delayMs) => this.store.authEvents.retry(event.id, delayMs, errorText(err)));
        return;
      }
      await this.store.authEvents.done(event.id);
    });
    return events.length;
  }

  private async handleLifecycle(event: LifecycleEvent): Promise<void> {
    if (event.environment === null) return this.store.jobs.eventDone(event);
    const env = { id: event.environmentId, name: event.environment };
    try {
      if (event.kind === 'connection_created') {
        const targets = await this.targets(env, event.integrationKey, '*', event.connectionId).catch((err: unknown) => {
          if (err instanceof SynclineError && err.kind === 'not_found') return [];
          throw err;
        });
        await this.ensure(targets);
        await this.runOnEvents(env, event.integrationKey, event.connectionId, 'post-connection-creation', `lifecycle-${event.id}`, 0);
      } else {
        const scripts = (await this.store.scripts.active(env.id, event.integrationKey)).filter((s) => s.type === 'sync');
        const keys = scripts.map((s) => ({ environmentId: env.id, environment: env.name, integration: event.integrationKey, connectionId: event.connectionId, sync: s.name, variant: 'base' }));
        await this.stop(keys, 'connection deleted');
        // Variants (their rows went with the connection): found through the workflows' search attributes.
        await this.terminateAll(await this.runningSyncWorkflows(env.name, event.integrationKey, event.connectionId), 'connection deleted');
      }
    } catch (err) {
      this.logger.warn({ err, event }, 'sync lifecycle: event failed, retrying later');
      await this.retryLater(event, (delayMs) => this.store.jobs.retryEvent(event, delayMs, errorText(err)));
      return;
    }
    await this.store.jobs.eventDone(event);
  }

  // ---- Helpers --------------------------------------------------------------------------------

  /** Puts a failed outbox event back with back-off, the lifecycle loop woken when it is due. */
  private async retryLater(event: { attempts: number }, putBack: (delayMs: number) => Promise<void>): Promise<void> {
    const delayMs = retryDelay(event.attempts);
    await putBack(delayMs);
    this.lifecycle?.wakeAt(Date.now() + delayMs);
  }

  private target(env: Environment, integration: string, connection: Connection, script: DeployedScript, row: SyncRow, variant: string): SyncTarget {
    return {
      key: { environmentId: env.id, environment: env.name, integration, connectionId: connection.connectionId, sync: row.name, variant },
      connection,
      script,
      config: script.config as SyncDefinition,
      row,
    };
  }

  /** Ids of the running sync workflows of a connection, by search attributes; none when the server cannot list them. */
  private async runningSyncWorkflows(environment: string, integration: string, connectionId: string): Promise<string[]> {
    const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const query = `WorkflowType = 'syncWorkflow' AND SynclineEnvironment = ${quote(environment)} AND SynclineIntegration = ${quote(integration)} AND SynclineConnection = ${quote(connectionId)} AND ExecutionStatus = 'Running'`;
    const ids: string[] = [];
    try {
      for await (const w of this.client.workflow.list({ query })) ids.push(w.workflowId);
    } catch (err) {
      this.logger.warn({ err, connectionId }, 'sync lifecycle: listing the workflows of a deleted connection failed; its variants stop at their next run');
    }
    return ids;
  }

  private async terminateAll(workflowIds: string[], reason: string): Promise<void> {
    await this.each(workflowIds, async (id) => {
      try {
        await this.client.workflow.getHandle(id).terminate(reason);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- signals of different arities
  private async signalWithStart<A extends any[]>(
    target: SyncTarget,
    signal: SignalDefinition<A>,
    signalArgs: NoInfer<A>,
    start: { paused: boolean; frequencyMs?: number },
  ): Promise<WorkflowHandle<typeof syncWorkflow>> {
    return this.client.workflow.signalWithStart<typeof syncWorkflow, any[]>(syncWorkflow, {
      taskQueue: this.taskQueue,
      workflowId: syncWorkflowId(target.key),
      args: [{ key: target.key, frequencyMs: start.frequencyMs ?? frequencyOf(target), paused: start.paused, heartbeatTimeoutMs: this.options.heartbeatTimeoutMs, runsPerExecution: this.options.runsPerExecution }],
      signal: signal as SignalDefinition<any[]>,
      signalArgs,
      typedSearchAttributes: searchAttributes(target.key),
    });
  }

  private async connectionsOf(environmentId: number, integration: string): Promise<Connection[]> {
    const all: Connection[] = [];
    for (let page = 0; ; page++) {
      const batch = await this.store.connections.list(environmentId, { integrationKeys: [integration], limit: 1000, page });
      all.push(...batch);
      if (batch.length < 1000) return all;
    }
  }

  /** `fn` over `items`, at most PARALLEL at a time, results in order. */
  private async each<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const lane = async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, lane));
    return results;
  }
}

/** `fn` at most once per `intervalMs` (0 when skipped), for a loop that runs more often. */
function every(intervalMs: number, fn: () => Promise<number>): () => Promise<number> {
  let last = 0;
  return async () => {
    if (Date.now() - last < intervalMs) return 0;
    last = Date.now();
    return fn();
  };
}

/** What an operator reads of why an outbox event failed (kept with it, shown once it is dead). */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Back-off of an outbox event that failed `attempts` times before: 1 s doubling, at most a minute. */
function retryDelay(attempts: number): number {
  return Math.min(60_000, 1000 * 2 ** attempts);
}

function checkVariant(variant: string): void {
  if (variant.toLowerCase() === 'base') throw invalid('invalid_variant', `Variant name "${variant}" is reserved: it names the sync itself`);
}

function parseSelector(selector: SyncSelector): { name: string; variant: string } {
  if (typeof selector !== 'string') return { name: selector.name, variant: selector.variant || 'base' };
  const [name, variant] = selector.split('::');
  return { name: name!, variant: variant || 'base' };
}

function frequencyOf(target: SyncTarget): number {
  return (target.row.frequency ? parseRuns(target.row.frequency) : undefined) ?? target.config.intervalMs;
}

function searchAttributes(key: SyncKey): TypedSearchAttributes {
  const values = [key.environment, key.integration, key.connectionId, key.variant === 'base' ? key.sync : `${key.sync}::${key.variant}`];
  // Each name is at most 255 characters, `sync::variant` up to 512: shortened like a workflow id.
  return new TypedSearchAttributes(searchKeys.map((k, i) => ({ key: k, value: shorten(values[i]!, MAX_KEYWORD_LENGTH) })));
}
