/**
 * Types shared by the workflows, the activities and the clients that start and signal them.
 * Deterministic code only (the workflow bundle imports this file): no Node APIs, no I/O.
 *
 * Glossary
 * - Sync entity workflow: one long-running workflow per (connection, sync, variant) that waits for
 *   its schedule or a signal, runs the `runSync` activity, and continues-as-new now and then.
 * - Run: one execution of the sync script, recorded as one job row (`sync_jobs`). Retried attempts of
 *   a run (worker crash, heartbeat timeout) continue the same job from the last checkpoint.
 * - Variant: another copy of a sync for one connection (`name::variant`), with its own workflow,
 *   schedule, checkpoint and records (`Model::variant`); created and deleted only through the API.
 *   The sync itself is the variant `base`.
 * - Slot: a scheduled instant, `offset + k * frequency`; the offset is stable per workflow id, so
 *   many connections with the same frequency do not all fire at once.
 */

/** Which sync of which connection. Only ids travel through Temporal. */
export interface SyncKey {
  environmentId: number;
  /** Environment name, used in the workflow id and checkpoint keys. */
  environment: string;
  integration: string;
  connectionId: string;
  sync: string;
  /** `base` when the sync has no variant. */
  variant: string;
}

export interface SyncWorkflowArgs {
  key: SyncKey;
  frequencyMs: number;
  /** Start paused (auto_start: false): no run until `resume` or `trigger`. */
  paused?: boolean;
  /** Heartbeat timeout of runs; short in tests so a killed worker's run is retried quickly. */
  heartbeatTimeoutMs?: number;
  /** Runs per execution before continuing as new (default MAX_RUNS_PER_EXECUTION); small in tests. */
  runsPerExecution?: number;
  /** Time limit of one attempt of a run (default 24 h) and attempts of a run (default 10); small in tests. */
  runTimeoutMs?: number;
  runAttempts?: number;
  /** State handed over by continue-as-new. */
  carried?: CarriedSyncState;
}

export interface CarriedSyncState {
  frequencyMs: number;
  paused: boolean;
  /** Trigger waiting to run, if any. */
  pending: PendingRun | null;
  /** Epoch ms of the next slot, or null when not scheduled. */
  nextRunAt: number | null;
  lastRun: LastRun | null;
  runs: number;
}

export interface LastRun {
  jobId: number | null;
  success: boolean;
  startedAt: number;
  finishedAt: number;
  error?: { type: string; message: string };
}

export interface TriggerOptions {
  /** Ignore and clear the checkpoint (and lastSyncDate): a full resync. */
  reset?: boolean;
  /** With `reset`: delete the sync's records before the run. */
  emptyCache?: boolean;
}

/** A run asked for by a trigger or a resume. */
export interface PendingRun {
  reset: boolean;
  /** Absent in state carried by older executions. */
  emptyCache?: boolean;
}

/** Live state as the `status` query answers it. */
export interface SyncLiveStatus {
  key: SyncKey;
  running: boolean;
  paused: boolean;
  frequencyMs: number;
  /** Epoch ms, or null when paused. */
  nextRunAt: number | null;
  pendingTrigger: boolean;
  lastRun: LastRun | null;
  /** Runs since the workflow started (across continue-as-new). */
  runs: number;
}

export interface RunSyncInput {
  key: SyncKey;
  reset: boolean;
  /** With `reset`: the sync's records are deleted before the run. */
  emptyCache?: boolean;
  /** When a scheduled run was due (epoch ms; absent for triggered runs): the activity measures the schedule lag from it. */
  scheduledAt?: number;
}

export type RunSyncResult =
  | {
      outcome: 'success' | 'error';
      jobId: number;
      startedAt: number;
      finishedAt: number;
      error?: { type: string; message: string };
      /** Frequency of the deployed script (or the connection's override), applied from the next run. */
      frequencyMs: number;
      /** Whether the run has `sync` webhooks to send (absent in runs recorded before this existed: assume so). */
      notify?: boolean;
    }
  /** The connection or the deployed sync no longer exists: the workflow ends. */
  | { outcome: 'gone'; reason: string };

/** A sync run or webhook handler run not started: its environment or connection has as many runs going on this worker as it may (see RunBusy). */
export interface SyncRunBusy {
  outcome: 'busy';
  reason: string;
}

export interface ActionWorkflowArgs {
  environmentId: number;
  environment: string;
  integration: string;
  connectionId: string;
  action: string;
  input: unknown;
  /** Retries after the first attempt when the run fails for infrastructure reasons or a script error (0-5). */
  maxRetries: number;
  /** Called with `X-Async`: the app gets an `async_action` webhook when it ends. */
  async?: boolean;
  /** Called by a running script (`nango.triggerAction`): it runs within its caller's slot, never waits for one of its own. */
  nested?: boolean;
  /** Heartbeat timeout of its attempts (default 60 s); short in tests so a killed worker's attempt ends quickly. */
  heartbeatTimeoutMs?: number;
}

/** How an action call ended; its output or error payload stays in Postgres (`action_runs`), only this crosses Temporal. */
export type ActionResult = { success: true } | { success: false; error: { type: string; message: string } };

/** An attempt not started because its environment or connection is at its cap of concurrent runs: the workflow waits to be woken (or a durable timer) and asks again. */
export interface RunBusy {
  busy: string;
}

/** The signal a worker sends a workflow it refused as busy when it keeps a slot for its next attempt. */
export const SLOT_FREE_SIGNAL = 'slotFree';

/**
 * How long a run refused as busy waits for its wake-up (SLOT_FREE_SIGNAL) before it asks again
 * anyway, after `waits` earlier refusals: from 30 s doubling to 5 min, with jitter. Asking again
 * without a wake-up is for a worker that restarted (its line of waiting runs is in memory); a run
 * still in line keeps its place. Only workflow timers wait: no worker slot is held meanwhile.
 */
export function busyWaitMs(waits: number, random: number): number {
  return Math.round(Math.min(300_000, 30_000 * 2 ** waits) * (0.75 + random / 2));
}

/** Action failures that retrying cannot fix: the caller's input, the script's deliberate ActionError, a missing action. */
export const FINAL_ACTION_ERRORS: readonly string[] = ['action_script_runtime_error', 'invalid_action_input', 'unknown_action', 'unknown_connection'];

/** Task queue of Syncline's workflows and activities. */
export const TASK_QUEUE = 'syncline';

/** Search attributes every sync workflow carries (Keyword), so the Web UI can list a connection's workflows. */
export const SEARCH_ATTRIBUTES = ['SynclineEnvironment', 'SynclineIntegration', 'SynclineConnection', 'SynclineSync'] as const;

/**
 * `sync:<environment>:<integration>:<connection>:<sync>[::variant]`, parts URI-encoded so a colon in
 * an id stays unambiguous. The workflow id when short enough (`syncWorkflowId` in `src/worker`
 * shortens long ones); always the seed of the sync's schedule offset, so shortening moves no schedule.
 */
export function fullSyncWorkflowId(key: Pick<SyncKey, 'environment' | 'integration' | 'connectionId' | 'sync' | 'variant'>): string {
  const sync = key.variant && key.variant !== 'base' ? `${key.sync}::${key.variant}` : key.sync;
  return ['sync', key.environment, key.integration, key.connectionId, sync].map(encodeURIComponent).join(':');
}

/** The job key of one run: retried attempts of the activity share it, so they continue one job. */
export function syncRunKey(workflowId: string, runId: string, activityId: string): string {
  return `${workflowId}/${runId}/${activityId}`;
}

/** A stable offset in [0, frequencyMs) from the workflow id (FNV-1a). */
export function scheduleOffset(id: string, frequencyMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return frequencyMs > 0 ? hash % frequencyMs : 0;
}

/** The first slot `offset + k * frequency` strictly after `after`. */
export function nextSlot(after: number, frequencyMs: number, offset: number): number {
  const k = Math.floor((after - offset) / frequencyMs) + 1;
  return offset + k * frequencyMs;
}

/** What an on-event workflow runs: script `script` of `integration` for `event`, on one connection. */
export interface OnEventWorkflowArgs {
  environmentId: number;
  environment: string;
  integration: string;
  connectionId: string;
  event: 'post-connection-creation' | 'pre-connection-deletion' | 'validate-connection';
  script: string;
  /** Names the run in its workflow id and its logs (their job id). */
  runId: string;
}

/** How an on-event script run ended (an ActionError's `payload` with it); its logs are in Postgres. */
export type OnEventResult = { success: true } | { success: false; error: { type: string; message: string; payload?: unknown } };

/** The activity of on-event workflows. */
export interface OnEventActivities {
  /** Runs the on-event script once and logs its run (operation `on-event`). */
  runOnEventScript(args: OnEventWorkflowArgs): Promise<OnEventResult>;
}

/**
 * Options of the activities that record an outcome or hand webhooks to the outbox. They must not be
 * lost to a database outage, so they retry for up to an hour rather than giving up after a few
 * attempts; at most 10 s apart, so they catch up within seconds of the database's return.
 */
export const BOOKKEEPING_ACTIVITY = { startToCloseTimeout: 60_000, scheduleToCloseTimeout: 60 * 60_000, retry: { maximumInterval: 10_000 } } as const;
