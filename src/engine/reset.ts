import { randomUUID } from 'node:crypto';
import { rescheduleActivity } from './activities';
import type { Engine } from './engine';
import { invalidArgument } from './errors';
import { decodeEvent, eventAttributes, eventTypeName } from './history';
import { Status, type RunState } from './interfaces';
import { MAX_ID_LENGTH } from './limits';
import { durationMs, encode, enumValue, num, pack, T, type Obj } from './proto';
import * as sql from './store';
import type { Transition } from './transition';
import { keywordsOf, mergePayloadMap } from './visibility-keys';
import { closeRun, ensureNamespace, resolveRun } from './workflows';

/**
 * ResetWorkflowExecution, as Temporal's workflow resetter does it (service/history/ndc/workflow_resetter.go):
 * a new run of the workflow id whose history is the base run's up to the workflow task that
 * finished at `workflowTaskFinishEventId`, that task failed with cause RESET_WORKFLOW (the SDK then
 * replays the copied events and runs the workflow code on from there), the signals received after
 * that point applied again, and the current run terminated if it is still running.
 */

/** Identities Temporal's history service writes reset events with (common/consts). */
const IDENTITY_HISTORY_SERVICE = 'history-service';
const IDENTITY_RESETTER = 'history-resetter';

const REAPPLY_NONE = 2; // ResetReapplyType
const EXCLUDE_SIGNAL = 1; // ResetReapplyExcludeType

/** What the copied events leave pending, as the run state needs it. */
interface Rebuilt {
  /** The workflow task scheduled (and maybe started) at the reset point. */
  wft?: { scheduledId: number; startedId: number; attempt: number };
  lastCompletedStartedId: number;
  activities: Map<number, Obj>;
  timers: Map<string, { startedId: number; fireAt: number }>;
  pendingChildren: number;
  pendingExternals: number;
  cancelRequested: boolean;
  searchAttributes?: Obj;
  memo?: Obj;
  started: Obj;
  historyBytes: number;
}

const ACTIVITY_CLOSED = new Set(['EVENT_TYPE_ACTIVITY_TASK_COMPLETED', 'EVENT_TYPE_ACTIVITY_TASK_FAILED', 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', 'EVENT_TYPE_ACTIVITY_TASK_CANCELED']);
const CHILD_CLOSED = new Set([
  'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT',
  'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED',
]);
const EXTERNAL_CLOSED = new Set([
  'EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED',
  'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED',
  'EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED',
  'EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED',
]);

/** Walks the copied events and keeps what is still pending after the last of them. */
function rebuild(events: { data: Uint8Array }[]): Rebuilt {
  const r: Rebuilt = { lastCompletedStartedId: 0, activities: new Map(), timers: new Map(), pendingChildren: 0, pendingExternals: 0, cancelRequested: false, started: {}, historyBytes: 0 };
  for (const row of events) {
    r.historyBytes += row.data.length;
    const ev = decodeEvent(row.data);
    const type = eventTypeName(ev);
    const a = eventAttributes(ev);
    const id = num(ev.eventId);
    switch (type) {
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED':
        r.started = a;
        r.searchAttributes = a.searchAttributes ?? undefined;
        r.memo = a.memo ?? undefined;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED':
        r.wft = { scheduledId: id, startedId: 0, attempt: num(a.attempt) || 1 };
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_STARTED':
        if (r.wft) r.wft.startedId = id;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED':
        r.lastCompletedStartedId = num(a.startedEventId);
        r.wft = undefined;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_FAILED':
      case 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT':
        r.wft = undefined;
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED':
        r.activities.set(id, a);
        break;
      case 'EVENT_TYPE_TIMER_STARTED':
        r.timers.set(a.timerId, { startedId: id, fireAt: num(ev.eventTime?.seconds) * 1000 + Math.floor(num(ev.eventTime?.nanos) / 1e6) + durationMs(a.startToFireTimeout) });
        break;
      case 'EVENT_TYPE_TIMER_FIRED':
      case 'EVENT_TYPE_TIMER_CANCELED':
        r.timers.delete(a.timerId);
        break;
      case 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        r.pendingChildren++;
        break;
      case 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
      case 'EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
        r.pendingExternals++;
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED':
        r.cancelRequested = true;
        break;
      case 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES':
        r.searchAttributes = mergePayloadMap('indexedFields', r.searchAttributes, a.searchAttributes);
        break;
      case 'EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED':
        r.memo = mergePayloadMap('fields', r.memo, a.upsertedMemo);
        break;
      default:
        if (ACTIVITY_CLOSED.has(type)) r.activities.delete(num(a.scheduledEventId));
        else if (CHILD_CLOSED.has(type)) r.pendingChildren--;
        else if (EXTERNAL_CLOSED.has(type)) r.pendingExternals--;
    }
  }
  return r;
}

/** The signals of the base run after the reset point, to be received again by the new run. */
function signalsAfter(events: { data: Uint8Array }[]): Obj[] {
  const out: Obj[] = [];
  for (const row of events) {
    const ev = decodeEvent(row.data);
    if (eventTypeName(ev) !== 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED') continue;
    const a = eventAttributes(ev);
    out.push({ signalName: a.signalName, input: a.input ?? undefined, identity: a.identity, header: a.header ?? undefined });
  }
  return out;
}

/** The new run: the copied events, the reset workflow task failed, and its state rebuilt from them. */
function resetRun(engine: Engine, base: RunState, copied: { event_id: number; data: Uint8Array }[], r: Rebuilt, reason: string, now: number): Transition {
  const runId = randomUUID();
  const s: RunState = {
    namespace: base.namespace,
    workflowId: base.workflowId,
    runId,
    firstRunId: base.firstRunId,
    workflowType: base.workflowType,
    taskQueue: base.taskQueue,
    status: Status.Running,
    nextEventId: copied.length + 1,
    historyBytes: r.historyBytes,
    startTime: now,
    lastCompletedStartedId: r.lastCompletedStartedId,
    wftTimeoutMs: base.wftTimeoutMs,
    runTimeoutMs: base.runTimeoutMs,
    executionTimeoutMs: base.executionTimeoutMs,
    executionExpiry: base.executionExpiry,
    buffered: [],
    activities: {},
    timers: {},
    children: {},
    externals: {},
    cancelRequested: r.cancelRequested,
    parent: base.parent,
    root: base.root,
    cronSchedule: base.cronSchedule,
    retryPolicy: base.retryPolicy,
    attempt: base.attempt,
    lastCompletionResult: base.lastCompletionResult,
    searchAttributes: pack(T.SearchAttributes, r.searchAttributes),
    memo: pack(T.Memo, r.memo),
  };
  const t = engine.newTransition(s, now);
  t.created = true;
  t.dirty = true;
  for (const row of copied) t.events.push({ id: row.event_id, data: Buffer.from(row.data) });
  t.runWrite = {
    executionTime: now,
    keywords: keywordsOf(r.searchAttributes),
    searchAttributes: r.searchAttributes ? encode(T.SearchAttributes, r.searchAttributes) : null,
    memo: r.memo ? encode(T.Memo, r.memo) : null,
  };
  const wft = r.wft!;
  const startedId = wft.startedId || t.append('EVENT_TYPE_WORKFLOW_TASK_STARTED', { scheduledEventId: wft.scheduledId, identity: IDENTITY_HISTORY_SERVICE, requestId: randomUUID() });
  t.append('EVENT_TYPE_WORKFLOW_TASK_FAILED', {
    scheduledEventId: wft.scheduledId,
    startedEventId: startedId,
    cause: 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW',
    failure: { message: reason, source: '', resetWorkflowFailureInfo: {} },
    identity: IDENTITY_HISTORY_SERVICE,
    baseRunId: base.runId,
    newRunId: runId,
    forkEventVersion: 0,
  });
  for (const [scheduledId, attrs] of r.activities) rescheduleActivity(t, scheduledId, attrs);
  for (const [timerId, timer] of r.timers) {
    s.timers[timerId] = timer.startedId;
    t.timer('user', Math.max(now, timer.fireAt), { timerId, startedId: timer.startedId });
  }
  if (s.runTimeoutMs) t.timer('workflow_timeout', now + s.runTimeoutMs);
  if (s.executionExpiry && (!s.runTimeoutMs || s.executionExpiry < now + s.runTimeoutMs)) t.timer('workflow_timeout', s.executionExpiry);
  return t;
}

export async function resetWorkflow(engine: Engine, req: Obj): Promise<{ runId: string }> {
  await ensureNamespace(engine, req.namespace);
  // Temporal checks the request id first (it makes a retried reset return the run its first attempt made).
  const requestId: string = req.requestId ?? '';
  if (!requestId) throw invalidArgument('RequestId is not set on request.');
  if (requestId.length > MAX_ID_LENGTH) throw invalidArgument('RequestId length exceeds limit.');
  const namespace: string = req.namespace;
  const baseRow = await resolveRun(engine, namespace, req.workflowExecution);
  const workflowId = baseRow.workflow_id;
  return engine.withLock(`wf:${namespace}:${workflowId}`, async () => {
    // A retried request (same request id) gets the run its first attempt made.
    const current = await sql.currentRun(engine.db, namespace, workflowId);
    if (current?.start_request_id === requestId) return { runId: current.run_id };
    const base = (await engine.peek(baseRow.run_id)) ?? baseRow.state;
    const finishId = num(req.workflowTaskFinishEventId);
    if (finishId <= 1 || finishId >= base.nextEventId) throw invalidArgument('Workflow task finish ID must be > 1 && <= workflow last event ID.');
    const history = await sql.readEvents(engine.db, base.runId, 1, base.nextEventId);
    const copied = history.filter((e) => e.event_id < finishId);
    const r = rebuild(copied);
    if (!r.wft) throw invalidArgument(`Can only reset workflow to event ID in range [WorkflowTaskScheduled +1, WorkflowTaskStarted + 1]: ${finishId}`);
    if (r.pendingChildren > 0) throw invalidArgument('WorkflowResetter encountered pending child workflows.');
    if (r.pendingExternals > 0) throw invalidArgument('The embedded engine cannot reset to a point where a signal or cancel request to another workflow is pending.');
    const reason: string = req.reason || '';
    const now = Date.now();
    const next = resetRun(engine, base, copied, r, reason, now);
    next.s.startRequestId = requestId;
    const reapply = enumValue('temporal.api.enums.v1.ResetReapplyType', req.resetReapplyType) !== REAPPLY_NONE;
    const excluded = (req.resetReapplyExcludeTypes ?? []).some((x: unknown) => enumValue('temporal.api.enums.v1.ResetReapplyExcludeType', x) === EXCLUDE_SIGNAL);
    if (reapply && !excluded) for (const signal of signalsAfter(history.filter((e) => e.event_id >= finishId))) next.record('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', signal);
    next.scheduleWft();
    if (current?.status === Status.Running) {
      await engine.mutate(current.run_id, (t) => {
        if (t.open) closeRun(t, Status.Terminated, 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED', { reason, identity: IDENTITY_RESETTER });
        // Closed meanwhile: nothing to terminate, but the new run is written with this transition all the same.
        else t.dirty = true;
        t.spawned.push(next);
      });
    } else {
      await engine.commitNew(next);
    }
    return { runId: next.s.runId };
  });
}
