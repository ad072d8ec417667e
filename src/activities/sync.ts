import { Context } from '@temporalio/activity';
import { parseRuns, type SyncDefinition } from '../config/nango-yaml';
import { SynclineError } from '../errors';
import { observeScheduleLag } from '../metrics';
import { findProvider } from '../providers';
import { CheckpointRangeRecorder, runScript, stackLines, storeServices, type RuntimeServices } from '../runtime';
import { modelFullName } from '../runtime/host';
import type { RecordSink } from '../runtime/types';
import { PgCheckpointStore, type Store } from '../store';
import type { Environment } from '../types';
import { syncRunKey, type RunSyncInput, type RunSyncResult } from '../workflows/types';
import { runIsOver, RUN_CANCELLED } from './cancel';
import { syncRunNotifies } from '../webhooks/dispatcher';

const DAY_MS = 24 * 60 * 60_000;
/**
 * Attempts of one run that may start and not finish (the process or the worker died under them)
 * before the next is refused: a run that takes the process down each time ends as ERROR instead
 * of crash-looping it until its retries run out.
 */
export const MAX_UNFINISHED_ATTEMPTS = 3;

export interface ActivityDeps {
  store: Store;
  /** `nango.triggerAction` for scripts of an environment. */
  actions?: (environment: Environment) => RuntimeServices['triggerAction'];
}

/**
 * Runs the deployed sync script once: the job row is started (or continued, for a retried attempt of
 * the same run), records are committed batch by batch with their counts, and the job ends SUCCESS
 * (deleting, for `track_deletes`, what the run did not see, in the same transaction) or ERROR.
 * A reset run with `emptyCache` first deletes the sync's records. When the activity is cancelled
 * (its workflow terminated or cancelled) the script is stopped at once and the job ends as ERROR
 * (`run_cancelled`) with nothing more written.
 */
export async function runSync(deps: ActivityDeps, { key, reset, emptyCache, scheduledAt }: RunSyncInput): Promise<RunSyncResult> {
  const { store } = deps;
  const context = Context.current();
  if (scheduledAt !== undefined && context.info.attempt === 1) observeScheduleLag(key, Date.now() - scheduledAt);
  const readAt = Date.now();
  // Independent reads, sent at once.
  const [connection, script] = await Promise.all([
    store.connections.get(key.environmentId, key.integration, key.connectionId).catch(goneIfNotFound),
    store.scripts.find(key.environmentId, key.integration, 'sync', key.sync),
  ]);
  if (!connection) return { outcome: 'gone', reason: `connection ${key.connectionId} no longer exists` };
  if (!script) return { outcome: 'gone', reason: `sync ${key.sync} is no longer deployed` };
  const config = script.config as SyncDefinition;
  const info = context.info;
  const runKey = syncRunKey(info.workflowExecution?.workflowId ?? '', info.workflowExecution?.runId ?? '', info.activityId);
  const syncKey = { connectionPk: connection.id, name: key.sync, variant: key.variant };
  // The base variant's row is created on its first run; a variant exists only while its row does
  // (it is created and deleted through the API).
  const begun =
    (await store.jobs.beginJob(syncKey, runKey, reset, script.deploymentId)) ??
    (key.variant === 'base' ? (await store.jobs.ensureSync(connection.id, key.sync), await store.jobs.beginJob(syncKey, runKey, reset, script.deploymentId)) : null);
  if (!begun) return { outcome: 'gone', reason: `variant ${key.variant} of sync ${key.sync} was deleted` };
  const { sync, job, continued, lastSuccessStart } = begun;
  const frequencyMs = (sync.frequency ? parseRuns(sync.frequency) : undefined) ?? config.intervalMs;
  const crashLoop =
    continued && job.attempts > MAX_UNFINISHED_ATTEMPTS
      ? { success: false as const, error: { type: 'run_crash_loop', message: `The run was started ${job.attempts - 1} times and never finished (the process or its worker died during it): it is not started again. The next scheduled run starts afresh` }, logs: [] as [] }
      : undefined;
  const checkpointKey = PgCheckpointStore.syncKey(key.environment, key.integration, key.connectionId, key.sync, key.variant);
  const stored = new PgCheckpointStore(store.db, connection.id);
  // Models with a trackDeletesStart/End phase open (maybe since an earlier run): their saved ids are kept for its end.
  const phases = new Set(begun.openPhases);
  if (reset && !continued) {
    await stored.clear(checkpointKey);
    await store.jobs.clearDeletesPhases(sync.id);
    phases.clear();
    if (emptyCache) await store.records.purge(connection.id, config.output.map((m) => modelFullName(m, key.variant)));
  }
  // Notes where the run takes its checkpoint from and to, for the `checkpoints` of its sync webhooks.
  const checkpoints = new CheckpointRangeRecorder(stored);
  const lastSyncDate = reset ? null : lastSuccessStart;
  const trackDeletes = config.trackDeletes && config.syncType !== 'incremental';

  // A batch's counts (and, for deletes, the ids it saved) commit in the transaction of its records.
  const records: RecordSink = {
    upsert: (pk, model, batch) => {
      const ids = batch.map((r) => String((r as { id: unknown }).id));
      const seen = trackDeletes || phases.has(model);
      return store.records.upsert(pk, model, batch, {
        countsFor: job.id,
        within: seen
          ? async (tx) => {
              if (trackDeletes) await store.jobs.markSeen(job.id, model, ids, tx);
              if (phases.has(model)) await store.jobs.markPhaseSeen(sync.id, model, ids, tx);
            }
          : undefined,
      });
    },
    update: (pk, model, batch) => store.records.update(pk, model, batch, { countsFor: job.id }),
    delete: (pk, model, batch) => store.records.delete(pk, model, batch, { countsFor: job.id }),
    list: (pk, query) => store.records.list(pk, query),
    trackDeletes: {
      start: async (model) => {
        await store.jobs.startDeletesPhase(sync.id, model, job.id);
        phases.add(model);
      },
      end: async (model) => {
        phases.delete(model);
        return store.jobs.endDeletesPhase(sync.id, model, connection.id, job.id);
      },
    },
  };

  // The connection's row names its integration's provider.
  const provider = findProvider(connection.provider);
  // The environment's validate_sync_records: read only if a record does not match its model.
  const validation = async () => ((await store.environmentSettings.get(key.environmentId)).validateSyncRecords ? 'fail' : 'warn') as 'fail' | 'warn';
  // The first heartbeat goes out after one interval, not at the start: a run shorter than that (most)
  // sends none, one call to the engine less per run. A stop is still heard within about an interval
  // (the SDK throttles heartbeats, so one sent at the start was followed by the next only that late).
  const heartbeat = setInterval(() => context.heartbeat({ jobId: job.id }), heartbeatEvery(info.heartbeatTimeoutMs));
  const signal = context.cancellationSignal;
  let outcome: Awaited<ReturnType<typeof runScript>> | { success: false; error: { type: string; message: string }; logs: [] };
  try {
    outcome = crashLoop ?? (provider
      ? await runScript({
          kind: 'sync',
          code: script.code,
          sourceMap: script.sourceMap ?? undefined,
          scriptName: `${key.integration}/syncs/${key.sync}.ts`,
          providerConfigKey: key.integration,
          connectionId: key.connectionId,
          connectionPk: connection.id,
          environmentName: key.environment,
          provider,
          services: { ...storeServices(store, key.environmentId, { checkpoints, connection: { connection, readAt }, triggerAction: deps.actions?.({ id: key.environmentId, name: key.environment }) }), records },
          sync: {
            name: key.sync,
            models: script.models.filter((m) => config.output.includes(m.name)),
            allModels: new Map(script.models.map((m) => [m.name, m])),
            lastSyncDate,
            variant: key.variant,
            // The environment's validate_sync_records: a record off its model fails the run, or (default) is a warning.
            validation,
          },
          limits: { timeoutMs: DAY_MS },
          signal,
          onLogs: (entries) => store.logs.write({ environmentId: key.environmentId, integration: key.integration, connectionId: key.connectionId, operation: 'sync', script: key.sync, jobId: String(job.id) }, entries),
        })
      : { success: false, error: { type: 'unknown_provider', message: `Provider "${connection.provider}" is not in the catalogue` }, logs: [] });
  } finally {
    clearInterval(heartbeat);
  }
  if (signal.aborted) {
    if (await runIsOver(context)) await store.jobs.cancelJob(job.id, job.attempts, RUN_CANCELLED, outcome.logs);
    throw signal.reason;
  }

  const run = { environmentId: key.environmentId, environment: key.environment, integration: key.integration, connectionId: key.connectionId, script: key.sync };
  const finished = outcome.success
    ? await store.jobs.finishJob(job.id, {
        success: true,
        connectionPk: connection.id,
        deleteUnseen: trackDeletes ? config.output.map((m) => modelFullName(m, key.variant)) : [],
        logs: outcome.logs,
        checkpoints: checkpoints.range(checkpointKey),
        run,
      })
    : await store.jobs.finishJob(job.id, { success: false, error: { type: outcome.error.type, message: outcome.error.message }, logs: [...outcome.logs, ...stackLines(outcome.error)], checkpoints: checkpoints.range(checkpointKey), run });
  const success = finished.status === 'SUCCESS';
  const changed = Object.values(finished.result).some((c) => c.added + c.updated + c.deleted > 0);
  return {
    outcome: success ? 'success' : 'error',
    notify: await syncRunNotifies(store, key.environmentId, connection, { success, changed }, finished.syncWebhookRules),
    jobId: job.id,
    startedAt: finished.startedAt.getTime(),
    finishedAt: (finished.finishedAt ?? new Date()).getTime(),
    error: finished.error ?? undefined,
    frequencyMs,
  };
}

/** Heartbeats carry cancellation back: the worker sends them at most every 5 s (see createSyncWorker). */
export function heartbeatEvery(timeoutMs: number | undefined): number {
  return Math.max(100, Math.min(5_000, Math.floor((timeoutMs ?? 60_000) / 3)));
}

function goneIfNotFound(err: unknown): null {
  if (err instanceof SynclineError && err.kind === 'not_found') return null;
  throw err;
}
