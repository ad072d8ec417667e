/**
 * The embedded Temporal-compatible engine: public types and the run state kept in Postgres.
 *
 * Glossary
 * - run: one execution of a workflow (workflow id + run id). A workflow id has at most one open run.
 * - history: the run's events, ids contiguous from 1, stored encoded (`engine_events`).
 * - run state: what the engine needs to drive a run (pending workflow task, activities, timers,
 *   children, buffered events), one JSON document per run (`engine_runs.state`). Every transition
 *   loads it, appends events, and writes it back in one transaction.
 * - workflow task (WFT): "run the workflow code on the new events". At most one per run is
 *   outstanding: scheduled (waiting in a task queue) or started (handed to a worker).
 * - buffered events: events arriving while a WFT is started; appended once that WFT completes.
 * - task queue: where workers poll. In memory only: rebuilt from the run states at start-up.
 * - sticky queue: a worker's own queue; tasks there carry only the events it has not seen.
 * - timer: a durable wake-up (`engine_timers`): user timers, task timeouts, retry backoffs.
 * - transfer: work on another run decided by a transition (`engine_transfers`), carried out after
 *   the transition commits (start a child, notify a parent, signal or cancel another run).
 */

export interface EngineOptions {
  /** Migrated database (src/store/db.ts). */
  db: import('../store/db').Db;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind, default 127.0.0.1. */
  host?: string;
  logger?: import('pino').Logger;
}

export interface RunningEngine {
  /** host:port, for `Connection.connect({ address })` and `NativeConnection.connect({ address })`. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** The detail of UNAVAILABLE while the engine has lost its lease and waits for the database (the API answers database_unavailable). */
export const ENGINE_WAITING = 'the engine is waiting for its database';

/** temporal.api.enums.v1.WorkflowExecutionStatus */
export const Status = {
  Running: 1,
  Completed: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  ContinuedAsNew: 6,
  TimedOut: 7,
} as const;

export interface WorkflowTaskState {
  scheduledId: number;
  /** 0 while scheduled. */
  startedId: number;
  attempt: number;
  /** The queue it was dispatched to (the sticky queue or the normal one). */
  queue: string;
  sticky: boolean;
  scheduledTime: number;
  startedTime?: number;
  requestId?: string;
  /**
   * A retry (attempt 2 on) after a failure with nothing new in history since: as in Temporal, its
   * scheduled and started events are sent to the worker but written only when it completes, so a
   * task failing again and again does not grow the history. Holds what its started event says.
   */
  transient?: { identity?: string; historySizeBytes?: number; suggestContinueAsNew?: boolean; workerVersion?: { buildId: string } };
}

export interface ActivityState {
  scheduledId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  attempt: number;
  /** scheduled: waiting in the queue; started: a worker runs it; backoff: waiting to retry. */
  phase: 'scheduled' | 'started' | 'backoff';
  scheduledTime: number;
  attemptScheduledTime: number;
  startedTime?: number;
  startedIdentity?: string;
  requestId?: string;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  /** Packed temporal.api.common.v1.RetryPolicy with defaults filled in. */
  retryPolicy: string;
  /** Packed Payloads of the last heartbeat. */
  heartbeatDetails?: string;
  lastHeartbeatTime?: number;
  /** Packed Failure of the last failed attempt. */
  lastFailure?: string;
  lastWorkerIdentity?: string;
  cancelRequestedId?: number;
}

export interface ChildState {
  initiatedId: number;
  namespace: string;
  workflowId: string;
  workflowType: string;
  runId?: string;
  /** Id of ChildWorkflowExecutionStarted once written. */
  startedId?: number;
  parentClosePolicy: number;
  cancelRequested?: boolean;
}

export interface ExternalRequest {
  initiatedId: number;
  kind: 'signal' | 'cancel';
}

/** A workflow update (src/engine/updates.ts): its request until accepted, then its events' ids. */
export interface UpdateState {
  /** admitted: waits for the workflow to see it; accepted: the workflow runs it; completed. */
  phase: 'admitted' | 'accepted' | 'completed';
  /** Packed temporal.api.update.v1.Request while admitted. */
  request?: string;
  admittedTime: number;
  acceptedId?: number;
  completedId?: number;
}

/** One event waiting for the started workflow task to finish (packed HistoryEvent without id). */
export interface BufferedEvent {
  e: string;
}

export interface RunState {
  namespace: string;
  workflowId: string;
  runId: string;
  firstRunId: string;
  workflowType: string;
  taskQueue: string;
  status: number;
  nextEventId: number;
  historyBytes: number;
  startTime: number;
  /** Started event id of the last completed workflow task (`previousStartedEventId`). */
  lastCompletedStartedId: number;
  wft?: WorkflowTaskState;
  /** Workflow task wanted but held back (first-task backoff of a cron or retried run, task retry backoff). */
  wftDelayedUntil?: number;
  /** Attempt number of the workflow task held back by a retry backoff. */
  wftRetryAttempt?: number;
  /** `nextEventId` once the last failed workflow task was recorded: its retry is transient while nothing was written since. */
  wftRetryFrom?: number;
  wftTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  /** Epoch ms when the whole chain of runs times out, 0 for none. */
  executionExpiry: number;
  sticky?: { queue: string; scheduleToStartMs: number };
  buffered: BufferedEvent[];
  activities: Record<string, ActivityState>;
  /** timer id -> TimerStarted event id */
  timers: Record<string, number>;
  children: Record<string, ChildState>;
  externals: Record<string, ExternalRequest>;
  cancelRequested: boolean;
  /**
   * Temporal's auto-reset points: the first workflow task each build id completed, in this run or the
   * runs it continues (carried to the next run as `prevAutoResetPoints`); at most 20, the newest kept.
   */
  resetPoints?: { buildId: string; runId: string; completedId: number; createTime: number }[];
  /** The parent's run; `namespaceId` is absent on runs started before it was kept. */
  parent?: { namespace: string; namespaceId?: string; workflowId: string; runId: string; initiatedId: number };
  /** The run at the top of its parent chain (RootWorkflowId, RootRunId); absent when that is this run. */
  root?: { workflowId: string; runId: string };
  cronSchedule?: string;
  /** Packed RetryPolicy of the workflow itself, if any. */
  retryPolicy?: string;
  attempt: number;
  /** Packed Payloads of the last completion result (cron). */
  lastCompletionResult?: string;
  startRequestId?: string;
  /** Packed SearchAttributes and Memo as they are now (upserts merged). */
  searchAttributes?: string;
  memo?: string;
  /** Request ids of the latest signals (dedupe of retried SignalWorkflowExecution calls). */
  signalRequestIds?: string[];
  /** Updates by update id (completed ones kept to answer a repeated update id). */
  updates?: Record<string, UpdateState>;
}
