import { randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db';
import { isUniqueViolation } from '../store/sql-errors';
import type { Engine } from './engine';
import { alreadyStarted, invalidArgument, isWorkflowClosed, namespaceNotFound, workflowClosed, workflowNotFound } from './errors';
import { decodeEvent, eventAttributes, newEvent } from './history';
import { nextCronTime } from './cron';
import { decideRetry, fillRetryPolicy, RetryState } from './retry';
import { Status, type RunState } from './interfaces';
import { durationMs, encode, enumValue, msDuration, pack, T, timestamp, unpack, type Obj } from './proto';
import * as sql from './store';
import type { Transition } from './transition';
import { keywordsOf } from './visibility-keys';

export const DEFAULT_WFT_TIMEOUT_MS = 10_000;
const MAX_WFT_TIMEOUT_MS = 120_000;

const knownNamespaces = new WeakMap<Engine, Set<string>>();

/** Throws NamespaceNotFound unless the namespace exists. */
export async function ensureNamespace(engine: Engine, namespace: string): Promise<void> {
  let known = knownNamespaces.get(engine);
  if (!known) knownNamespaces.set(engine, (known = new Set()));
  if (known.has(namespace)) return;
  if (!(await sql.namespaceRow(engine.db, namespace))) throw namespaceNotFound(namespace);
  known.add(namespace);
}

export interface NewRun {
  namespace: string;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: Obj;
  header?: Obj;
  memo?: Obj;
  searchAttributes?: Obj;
  wftTimeoutMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  /** Absolute expiry carried over from earlier runs of the chain; computed when absent. */
  executionExpiry?: number;
  identity?: string;
  requestId?: string;
  firstRunId?: string;
  attempt?: number;
  cronSchedule?: string;
  retryPolicy?: Obj;
  parent?: RunState['parent'];
  continuedExecutionRunId?: string;
  initiator?: string;
  continuedFailure?: Obj;
  lastCompletionResult?: Obj;
  backoffMs?: number;
  signal?: { signalName: string; input?: Obj; identity?: string; header?: Obj; externalWorkflowExecution?: Obj };
  rootExecution?: RunState['root'];
  /** The previous run's reset points (continue-as-new, retry, cron). */
  resetPoints?: RunState['resetPoints'];
}

function normaliseTimeouts(req: Obj): { wftTimeoutMs: number; runTimeoutMs: number; executionTimeoutMs: number } {
  const executionTimeoutMs = durationMs(req.workflowExecutionTimeout);
  let runTimeoutMs = durationMs(req.workflowRunTimeout);
  if (!runTimeoutMs || (executionTimeoutMs && runTimeoutMs > executionTimeoutMs)) runTimeoutMs = executionTimeoutMs;
  let wftTimeoutMs = durationMs(req.workflowTaskTimeout) || DEFAULT_WFT_TIMEOUT_MS;
  wftTimeoutMs = Math.min(wftTimeoutMs, MAX_WFT_TIMEOUT_MS);
  if (runTimeoutMs) wftTimeoutMs = Math.min(wftTimeoutMs, runTimeoutMs);
  return { wftTimeoutMs, runTimeoutMs, executionTimeoutMs };
}

/** Builds the first events and state of a new run; the returned transition inserts it on commit. */
export function createRun(engine: Engine, tx: Queryable, now: number, p: NewRun): Transition {
  const runId = randomUUID();
  const executionExpiry = p.executionExpiry ?? (p.executionTimeoutMs ? now + p.executionTimeoutMs : 0);
  const s: RunState = {
    namespace: p.namespace,
    workflowId: p.workflowId,
    runId,
    firstRunId: p.firstRunId ?? runId,
    workflowType: p.workflowType,
    taskQueue: p.taskQueue,
    status: Status.Running,
    nextEventId: 1,
    historyBytes: 0,
    startTime: now,
    lastCompletedStartedId: 0,
    wftTimeoutMs: p.wftTimeoutMs,
    runTimeoutMs: p.runTimeoutMs,
    executionTimeoutMs: p.executionTimeoutMs,
    executionExpiry,
    buffered: [],
    activities: {},
    timers: {},
    children: {},
    externals: {},
    cancelRequested: false,
    parent: p.parent,
    root: p.rootExecution,
    resetPoints: p.resetPoints,
    cronSchedule: p.cronSchedule || undefined,
    retryPolicy: pack(T.RetryPolicy, p.retryPolicy),
    attempt: p.attempt ?? 1,
    lastCompletionResult: pack(T.Payloads, p.lastCompletionResult),
    startRequestId: p.requestId,
    searchAttributes: pack(T.SearchAttributes, p.searchAttributes),
    memo: pack(T.Memo, p.memo),
  };
  const t = engine.newTransition(s, now, tx);
  t.created = true;
  const backoffMs = p.backoffMs ?? 0;
  t.runWrite = {
    executionTime: now + backoffMs,
    keywords: keywordsOf(p.searchAttributes),
    searchAttributes: p.searchAttributes ? encode(T.SearchAttributes, p.searchAttributes) : null,
    memo: p.memo ? encode(T.Memo, p.memo) : null,
  };
  t.append('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', {
    workflowType: { name: p.workflowType },
    parentWorkflowNamespace: p.parent?.namespace,
    parentWorkflowNamespaceId: p.parent?.namespaceId,
    parentWorkflowExecution: p.parent ? { workflowId: p.parent.workflowId, runId: p.parent.runId } : undefined,
    parentInitiatedEventId: p.parent?.initiatedId,
    taskQueue: { name: p.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    input: p.input,
    workflowExecutionTimeout: msDuration(p.executionTimeoutMs),
    workflowRunTimeout: msDuration(p.runTimeoutMs),
    workflowTaskTimeout: msDuration(p.wftTimeoutMs),
    continuedExecutionRunId: p.continuedExecutionRunId,
    initiator: p.initiator,
    prevAutoResetPoints: autoResetPoints(p.resetPoints),
    continuedFailure: p.continuedFailure,
    lastCompletionResult: p.lastCompletionResult,
    originalExecutionRunId: runId,
    identity: p.identity,
    firstExecutionRunId: s.firstRunId,
    retryPolicy: p.retryPolicy,
    attempt: s.attempt,
    workflowExecutionExpirationTime: executionExpiry ? timestamp(executionExpiry) : undefined,
    cronSchedule: p.cronSchedule,
    firstWorkflowTaskBackoff: msDuration(backoffMs),
    memo: p.memo,
    searchAttributes: p.searchAttributes,
    header: p.header,
    workflowId: p.workflowId,
    // As Temporal: only a child (or a child's next run) names its root; a top-level run leaves it unset.
    rootWorkflowExecution: p.rootExecution,
  });
  if (p.signal) t.record('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', p.signal);
  if (p.runTimeoutMs) t.timer('workflow_timeout', now + backoffMs + p.runTimeoutMs);
  if (executionExpiry && (!p.runTimeoutMs || executionExpiry < now + backoffMs + p.runTimeoutMs)) t.timer('workflow_timeout', executionExpiry);
  if (backoffMs > 0) {
    s.wftDelayedUntil = now + backoffMs;
    t.timer('wft_backoff', now + backoffMs);
  } else {
    t.scheduleWft();
  }
  return t;
}

function validateStart(req: Obj): void {
  if (!req.workflowId) throw invalidArgument('WorkflowId is not set on request.');
  if (!req.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
  if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
}

const REUSE = 'temporal.api.enums.v1.WorkflowIdReusePolicy';
const CONFLICT = 'temporal.api.enums.v1.WorkflowIdConflictPolicy';

/**
 * StartWorkflowExecution and SignalWithStartWorkflowExecution: dedupes by request id, applies the id
 * reuse and conflict policies, and creates the run. With `signal`, an open run is signalled instead.
 * A start with `requestEagerExecution` (the worker is in the caller's process) starts the run's first
 * workflow task for it at once: `eager` is the run as that task started, for the response.
 */
export async function startWorkflow(
  engine: Engine,
  req: Obj,
  signal?: NewRun['signal'],
  extra: Partial<NewRun> = {},
): Promise<{ runId: string; started: boolean; eager?: RunState }> {
  validateStart(req);
  await ensureNamespace(engine, req.namespace);
  const namespace: string = req.namespace;
  const workflowId: string = req.workflowId;
  // A signal meets the current run; if that run closed meanwhile (it continued as new as the signal
  // came), the start is tried again, and meets the run that is current now (or starts one).
  for (let tries = 1; ; tries++) {
    const started = await startOrSignal(engine, req, namespace, workflowId, signal, extra, tries < CLOSED_RUN_TRIES);
    if (started) return started;
  }
}

/** Tries of a signal (with start, or to the current run) that met a run closing as it was applied. */
export const CLOSED_RUN_TRIES = 5;

/** One try of `startWorkflow`; undefined when the run to signal had closed and `retry` allows another. */
async function startOrSignal(
  engine: Engine,
  req: Obj,
  namespace: string,
  workflowId: string,
  signal: NewRun['signal'] | undefined,
  extra: Partial<NewRun>,
  retry: boolean,
): Promise<{ runId: string; started: boolean; eager?: RunState } | undefined> {
  return engine.withLock(`wf:${namespace}:${workflowId}`, async () => {
    const open = engine.known(namespace, workflowId);
    const current = open
      ? { run_id: open.runId, status: open.status as number, start_request_id: open.startRequestId ?? null }
      : await sql.currentRun(engine.db, namespace, workflowId);
    const reuse = enumValue(REUSE, req.workflowIdReusePolicy);
    let conflict = enumValue(CONFLICT, req.workflowIdConflictPolicy);
    if (reuse === 4) conflict = 3; // TERMINATE_IF_RUNNING
    if (current && req.requestId && current.start_request_id === req.requestId && !signal) {
      return { runId: current.run_id, started: current.status === Status.Running };
    }
    if (current?.status === Status.Running) {
      if (signal) {
        try {
          await signalRun(engine, current.run_id, signal);
        } catch (err) {
          if (retry && isWorkflowClosed(err)) return undefined;
          throw err;
        }
        return { runId: current.run_id, started: false };
      }
      if (conflict === 2) return { runId: current.run_id, started: false }; // USE_EXISTING
      if (conflict === 3) {
        await terminateRun(engine, current.run_id, 'terminated by a new start with WorkflowIdConflictPolicy TERMINATE_EXISTING', undefined, req.identity);
      } else {
        throw alreadyStarted(current.start_request_id ?? '', current.run_id);
      }
    } else if (current) {
      if (reuse === 3) throw alreadyStarted(current.start_request_id ?? '', current.run_id); // REJECT_DUPLICATE
      if (reuse === 2 && current.status === Status.Completed) throw alreadyStarted(current.start_request_id ?? '', current.run_id);
    }
    const timeouts = normaliseTimeouts(req);
    const cronBackoffMs = req.cronSchedule ? nextCronTime(req.cronSchedule, Date.now()) - Date.now() : 0;
    try {
      const t = createRun(engine, engine.db, Date.now(), {
          namespace,
          workflowId,
          workflowType: req.workflowType.name,
          taskQueue: req.taskQueue.name,
          input: req.input ?? undefined,
          header: req.header ?? undefined,
          memo: req.memo ?? undefined,
          searchAttributes: req.searchAttributes ?? undefined,
          ...timeouts,
          identity: req.identity,
          requestId: req.requestId,
          cronSchedule: req.cronSchedule,
          retryPolicy: req.retryPolicy ?? undefined,
          backoffMs: durationMs(req.workflowStartDelay) || cronBackoffMs,
          signal,
          ...extra,
        });
      // As Temporal: not for a delayed first task (start delay, cron), which no worker can take yet.
      const eager = req.requestEagerExecution && !signal && t.s.wft;
      if (eager) t.startWft(t.s.taskQueue, req.identity);
      await engine.commitNew(t);
      return { runId: t.s.runId, started: true, eager: eager ? t.s : undefined };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const now = await sql.currentRun(engine.db, namespace, workflowId);
      throw alreadyStarted(now?.start_request_id ?? '', now?.run_id ?? '');
    }
  });
}

/** The run a request addresses: its run id, else the newest run of the workflow id. */
export async function resolveRun(engine: Engine, namespace: string, execution: Obj | null | undefined): Promise<sql.RunRow> {
  const workflowId = execution?.workflowId;
  const runId = execution?.runId;
  if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
  const row = runId ? await sql.getRun(engine.db, runId) : await sql.currentRun(engine.db, namespace, workflowId);
  if (!row || row.workflow_id !== workflowId || row.namespace !== namespace) throw workflowNotFound();
  return row;
}

/** How many recent signal request ids a run remembers, so a retried SignalWorkflowExecution is applied once. */
const SIGNAL_REQUEST_IDS = 100;

export async function signalRun(engine: Engine, runId: string, signal: NonNullable<NewRun['signal']>, requestId?: string): Promise<void> {
  await engine.mutate(runId, (t) => {
    if (!t.open) throw workflowClosed();
    if (requestId) {
      const seen = (t.s.signalRequestIds ??= []);
      if (seen.includes(requestId)) return;
      seen.push(requestId);
      if (seen.length > SIGNAL_REQUEST_IDS) seen.shift();
    }
    t.record('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', signal);
    t.scheduleWft();
  });
}

export async function terminateRun(engine: Engine, runId: string, reason: string | undefined, details: Obj | undefined, identity: string | undefined): Promise<void> {
  await engine.mutate(runId, (t) => {
    if (!t.open) throw workflowClosed();
    closeRun(t, Status.Terminated, 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED', { reason, details, identity });
  });
}

export async function requestCancelRun(engine: Engine, runId: string, attrs: Obj): Promise<void> {
  await engine.mutate(runId, (t) => {
    if (!t.open) throw workflowClosed();
    if (t.s.cancelRequested) return;
    t.s.cancelRequested = true;
    t.record('EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED', attrs);
    t.scheduleWft();
  });
}

/** Child event types in the parent for each way a child closes. */
const CHILD_CLOSE: Record<number, { type: string; copy: string[] }> = {
  [Status.Completed]: { type: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED', copy: ['result'] },
  [Status.Failed]: { type: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED', copy: ['failure', 'retryState'] },
  [Status.Canceled]: { type: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED', copy: ['details'] },
  [Status.TimedOut]: { type: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT', copy: ['retryState'] },
  [Status.Terminated]: { type: 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED', copy: [] },
};

/**
 * Closes the run with `eventType`: buffered events go first, pending work is dropped, the parent
 * is told, and children are handled per their parent close policy.
 */
export function closeRun(t: Transition, status: number, eventType: string, attrs: Obj): number {
  const s = t.s;
  s.wft = undefined;
  t.flushBuffered();
  const id = t.append(eventType, attrs);
  s.status = status;
  s.activities = {};
  s.timers = {};
  s.wftDelayedUntil = undefined;
  t.closed = true;
  t.runWrite.closeTime = t.now;
  if (s.parent && status !== Status.ContinuedAsNew && !attrs.newExecutionRunId) {
    const close = CHILD_CLOSE[status];
    const childAttrs: Obj = {
      namespace: s.namespace,
      workflowExecution: { workflowId: s.workflowId, runId: s.runId },
      workflowType: { name: s.workflowType },
      initiatedEventId: s.parent.initiatedId,
      startedEventId: -1,
    };
    for (const k of close.copy) childAttrs[k] = attrs[k];
    t.transfer('notify_parent', {
      parentRunId: s.parent.runId,
      initiatedId: s.parent.initiatedId,
      event: newEvent(0, t.now, close.type, childAttrs).toString('base64'),
    });
  }
  for (const child of Object.values(s.children)) {
    if (!child.runId) continue;
    if (child.parentClosePolicy === 2) continue; // ABANDON
    t.transfer(child.parentClosePolicy === 3 ? 'cancel_run' : 'terminate_run', {
      namespace: child.namespace,
      workflowId: child.workflowId,
      reason: 'by parent close policy',
    });
  }
  s.children = {};
  s.externals = {};
  return id;
}

const MAX_RESET_POINTS = 20;

/** Adds a reset point for the build id of a completed workflow task, if it has none yet (as Temporal). */
export function addResetPoint(s: RunState, buildId: string | undefined, completedId: number, now: number): void {
  if (!buildId || s.resetPoints?.some((p) => p.buildId === buildId)) return;
  s.resetPoints = [...(s.resetPoints ?? []), { buildId, runId: s.runId, completedId, createTime: now }].slice(-MAX_RESET_POINTS);
}

/** Reset points as the API shows them. */
export function autoResetPoints(points: RunState['resetPoints']): Obj | undefined {
  if (!points?.length) return undefined;
  return { points: points.map((p) => ({ buildId: p.buildId, runId: p.runId, firstWorkflowTaskCompletedId: p.completedId, createTime: timestamp(p.createTime), resettable: true })) };
}

/** Creates the next run of the chain (continue-as-new, retry, cron) to be committed with `t`. */
function spawnNext(engine: Engine, t: Transition, p: Partial<NewRun>): Transition {
  const s = t.s;
  const next = createRun(engine, t.tx, t.now, {
    namespace: s.namespace,
    workflowId: s.workflowId,
    workflowType: s.workflowType,
    taskQueue: s.taskQueue,
    wftTimeoutMs: s.wftTimeoutMs,
    runTimeoutMs: s.runTimeoutMs,
    executionTimeoutMs: s.executionTimeoutMs,
    executionExpiry: s.executionExpiry,
    firstRunId: s.firstRunId,
    parent: s.parent,
    rootExecution: s.root,
    resetPoints: s.resetPoints,
    continuedExecutionRunId: s.runId,
    cronSchedule: s.cronSchedule,
    retryPolicy: unpack(T.RetryPolicy, s.retryPolicy),
    searchAttributes: unpack(T.SearchAttributes, s.searchAttributes),
    memo: unpack(T.Memo, s.memo),
    ...p,
  });
  t.spawned.push(next);
  return next;
}

/** Closes the run with ContinuedAsNew and creates the next run of the chain. */
export function continueAsNew(engine: Engine, t: Transition, attrs: Obj, completedId: number): void {
  const s = t.s;
  const next = spawnNext(engine, t, {
    workflowType: attrs.workflowType?.name || s.workflowType,
    taskQueue: attrs.taskQueue?.name || s.taskQueue,
    input: attrs.input ?? undefined,
    header: attrs.header ?? undefined,
    memo: attrs.memo ?? unpack(T.Memo, s.memo),
    searchAttributes: attrs.searchAttributes ?? unpack(T.SearchAttributes, s.searchAttributes),
    wftTimeoutMs: Math.min(durationMs(attrs.workflowTaskTimeout) || s.wftTimeoutMs, MAX_WFT_TIMEOUT_MS),
    runTimeoutMs: durationMs(attrs.workflowRunTimeout) || s.runTimeoutMs,
    initiator: 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW',
    continuedFailure: attrs.failure ?? undefined,
    lastCompletionResult: attrs.lastCompletionResult ?? undefined,
    backoffMs: durationMs(attrs.backoffStartInterval),
    cronSchedule: attrs.cronSchedule || s.cronSchedule,
    retryPolicy: attrs.retryPolicy ?? unpack(T.RetryPolicy, s.retryPolicy),
  });
  closeRun(t, Status.ContinuedAsNew, 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW', {
    newExecutionRunId: next.s.runId,
    workflowType: { name: next.s.workflowType },
    taskQueue: { name: next.s.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    input: attrs.input,
    workflowRunTimeout: msDuration(next.s.runTimeoutMs),
    workflowTaskTimeout: msDuration(next.s.wftTimeoutMs),
    workflowTaskCompletedEventId: completedId,
    backoffStartInterval: attrs.backoffStartInterval,
    // As Temporal: the initiator is left unset when the workflow itself continues as new.
    failure: attrs.failure,
    lastCompletionResult: attrs.lastCompletionResult,
    header: attrs.header,
    memo: attrs.memo,
    searchAttributes: attrs.searchAttributes,
    inheritBuildId: attrs.inheritBuildId,
  });
}

/** The first event's attributes of a run (input and header for a retry). */
async function startedAttributes(engine: Engine, t: Transition): Promise<Obj | undefined> {
  const bytes = await engine.readEvent(t.s.runId, 1);
  return bytes ? eventAttributes(decodeEvent(bytes)) : undefined;
}

/** The next run of a cron workflow, if it has a schedule. */
async function nextCronRun(engine: Engine, t: Transition, p: Partial<NewRun>): Promise<Transition | undefined> {
  const s = t.s;
  if (!s.cronSchedule) return undefined;
  const first = await startedAttributes(engine, t);
  return spawnNext(engine, t, {
    input: first?.input ?? undefined,
    header: first?.header ?? undefined,
    initiator: 'CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE',
    backoffMs: nextCronTime(s.cronSchedule, t.now) - t.now,
    lastCompletionResult: unpack(T.Payloads, s.lastCompletionResult),
    attempt: 1,
    ...p,
  });
}

/** The CompleteWorkflowExecution command; a cron workflow schedules its next run. */
export async function completeWorkflow(engine: Engine, t: Transition, result: Obj | undefined, completedId: number): Promise<void> {
  const next = await nextCronRun(engine, t, { lastCompletionResult: result });
  closeRun(t, Status.Completed, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED', { result, workflowTaskCompletedEventId: completedId, newExecutionRunId: next?.s.runId });
}

/** The FailWorkflowExecution command: retried per the workflow's retry policy, else the run fails. */
export async function failWorkflow(engine: Engine, t: Transition, failure: Obj, completedId: number): Promise<void> {
  const s = t.s;
  let retryState: string = RetryState.NotSet;
  if (s.retryPolicy) {
    const decision = decideRetry(fillRetryPolicy(unpack(T.RetryPolicy, s.retryPolicy)), s.attempt, failure, t.now, s.executionExpiry);
    if (decision.retry) {
      const first = await startedAttributes(engine, t);
      const next = spawnNext(engine, t, {
        input: first?.input ?? undefined,
        header: first?.header ?? undefined,
        initiator: 'CONTINUE_AS_NEW_INITIATOR_RETRY',
        continuedFailure: failure,
        backoffMs: decision.backoffMs,
        attempt: s.attempt + 1,
      });
      closeRun(t, Status.Failed, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED', {
        failure,
        retryState: RetryState.InProgress,
        workflowTaskCompletedEventId: completedId,
        newExecutionRunId: next.s.runId,
      });
      return;
    }
    retryState = decision.state;
  }
  const next = await nextCronRun(engine, t, { continuedFailure: failure });
  closeRun(t, Status.Failed, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED', { failure, retryState, workflowTaskCompletedEventId: completedId, newExecutionRunId: next?.s.runId });
}

/** Registers the timer and transfer handlers of this module. */
export function registerWorkflowHandlers(engine: Engine): void {
  engine.onTimer('workflow_timeout', async (t) => {
    const expired = t.s.executionExpiry > 0 && t.now + 5 >= t.s.executionExpiry;
    const next = expired ? undefined : await nextCronRun(engine, t, {});
    closeRun(t, Status.TimedOut, 'EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT', { retryState: RetryState.Timeout, newExecutionRunId: next?.s.runId });
  });
  engine.onTimer('wft_backoff', (t) => {
    const attempt = t.s.wftRetryAttempt;
    t.s.wftDelayedUntil = undefined;
    t.s.wftRetryAttempt = undefined;
    t.scheduleWft(attempt ? { attempt, noSticky: true } : {});
  });
  engine.onTransfer('terminate_run', async (e, tr) => {
    const row = await sql.currentRun(e.db, tr.data.namespace, tr.data.workflowId);
    if (row?.status !== Status.Running) return;
    await terminateRun(e, row.run_id, tr.data.reason, undefined, 'syncline-engine').catch(ignoreClosed);
  });
  engine.onTransfer('cancel_run', async (e, tr) => {
    const row = await sql.currentRun(e.db, tr.data.namespace, tr.data.workflowId);
    if (row?.status !== Status.Running) return;
    await requestCancelRun(e, row.run_id, { cause: tr.data.reason, identity: 'syncline-engine' }).catch(ignoreClosed);
  });
}

export function ignoreClosed(err: unknown): void {
  if ((err as { code?: number }).code !== 5) throw err;
}
