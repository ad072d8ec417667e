import { randomUUID } from 'node:crypto';
import type { Engine } from './engine';
import { invalidArgument, taskNotFound } from './errors';
import { decodeEvent, eventAttributes } from './history';
import type { ActivityState } from './interfaces';
import { durationMs, msDuration, pack, T, timestamp, unpack, type Obj } from './proto';
import { decideRetry, fillRetryPolicy, retryPolicyObject, RetryState } from './retry';
import { decodeToken, encodeToken } from './tokens';
import type { TimerWrite, Transition } from './transition';
import { ensureNamespace } from './workflows';

/** Stand-in for "no limit" in activity tasks: the SDK needs a schedule-to-close timeout. */
const NO_LIMIT_MS = 10 * 365 * 24 * 3600 * 1000;

/** Activities one workflow task completion may start eagerly, as Temporal's default. */
export const MAX_EAGER_ACTIVITIES = 10;

/**
 * The ScheduleActivityTask command: fills timeouts and retry policy as Temporal does. With
 * `eager` (the worker asked for eager execution on the workflow's own queue and has room) the first
 * attempt starts at once and its task is returned, to go back in the workflow task's response.
 */
export function scheduleActivity(t: Transition, attrs: Obj, completedId: number, eager?: { identity: string }): Obj | undefined {
  const s = t.s;
  const runTimeoutMs = s.runTimeoutMs;
  let s2c = durationMs(attrs.scheduleToCloseTimeout);
  let s2s = durationMs(attrs.scheduleToStartTimeout);
  let stc = durationMs(attrs.startToCloseTimeout);
  let hb = durationMs(attrs.heartbeatTimeout);
  if (s2c > 0) {
    if (runTimeoutMs > 0) s2c = Math.min(s2c, runTimeoutMs);
    s2s = s2s > 0 ? Math.min(s2s, s2c) : s2c;
    stc = stc > 0 ? Math.min(stc, s2c) : s2c;
  } else if (stc > 0) {
    s2c = runTimeoutMs;
    if (s2s <= 0) s2s = s2c;
  } else {
    throw invalidArgument('A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.');
  }
  if (hb > stc) hb = stc;
  const retry = fillRetryPolicy(attrs.retryPolicy);
  const taskQueue = attrs.taskQueue?.name || s.taskQueue;
  const scheduledId = t.append('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', {
    activityId: attrs.activityId,
    activityType: attrs.activityType,
    taskQueue: { name: taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    header: attrs.header,
    input: attrs.input,
    scheduleToCloseTimeout: msDuration(s2c),
    scheduleToStartTimeout: msDuration(s2s),
    startToCloseTimeout: msDuration(stc),
    heartbeatTimeout: msDuration(hb),
    workflowTaskCompletedEventId: completedId,
    retryPolicy: retryPolicyObject(retry),
    useWorkflowBuildId: attrs.useWorkflowBuildId,
    priority: attrs.priority,
  });
  const a = pendingActivity(t, scheduledId, { activityId: attrs.activityId, activityType: attrs.activityType?.name, taskQueue, s2c, s2s, stc, hb, retryPolicy: retryPolicyObject(retry) });
  if (eager && taskQueue === s.taskQueue) return startAttempt(t, a, eager.identity, attrs);
  dispatchAttempt(t, a);
  return undefined;
}

/** The state of an activity whose ActivityTaskScheduled event is `scheduledId`, before its first attempt, with its schedule-to-close timer. */
function pendingActivity(
  t: Transition,
  scheduledId: number,
  p: { activityId?: string; activityType?: string; taskQueue: string; s2c: number; s2s: number; stc: number; hb: number; retryPolicy: Obj },
): ActivityState {
  const a: ActivityState = {
    scheduledId,
    activityId: p.activityId || String(scheduledId),
    activityType: p.activityType ?? '',
    taskQueue: p.taskQueue,
    attempt: 1,
    phase: 'scheduled',
    scheduledTime: t.now,
    attemptScheduledTime: t.now,
    scheduleToCloseMs: p.s2c,
    scheduleToStartMs: p.s2s,
    startToCloseMs: p.stc,
    heartbeatMs: p.hb,
    retryPolicy: pack(T.RetryPolicy, p.retryPolicy)!,
  };
  t.s.activities[scheduledId] = a;
  if (p.s2c > 0) t.timer('act_s2c', t.now + p.s2c, { scheduledId });
  return a;
}

/**
 * An activity of copied history (a reset run) whose ActivityTaskScheduled event has no outcome yet:
 * scheduled again from now, as Temporal's workflow resetter does.
 */
export function rescheduleActivity(t: Transition, scheduledId: number, attrs: Obj): void {
  const a = pendingActivity(t, scheduledId, {
    activityId: attrs.activityId,
    activityType: attrs.activityType?.name,
    taskQueue: attrs.taskQueue?.name || t.s.taskQueue,
    s2c: durationMs(attrs.scheduleToCloseTimeout),
    s2s: durationMs(attrs.scheduleToStartTimeout),
    stc: durationMs(attrs.startToCloseTimeout),
    hb: durationMs(attrs.heartbeatTimeout),
    retryPolicy: retryPolicyObject(fillRetryPolicy(attrs.retryPolicy)),
  });
  dispatchAttempt(t, a);
}

function dispatchAttempt(t: Transition, a: ActivityState): void {
  t.dispatch.push({ queueKind: 'activity', queue: a.taskQueue, task: { kind: 'activity', runId: t.s.runId, scheduledId: a.scheduledId, attempt: a.attempt } });
  if (a.scheduleToStartMs > 0) {
    t.timer('act_s2s', t.now + a.scheduleToStartMs, { scheduledId: a.scheduledId, attempt: a.attempt });
  }
}

/** The RequestCancelActivityTask command. */
export function requestCancelActivity(t: Transition, attrs: Obj, completedId: number): void {
  const scheduledId = Number(attrs.scheduledEventId);
  const a = t.s.activities[scheduledId];
  if (!a) return;
  const requestedId = t.append('EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED', { scheduledEventId: scheduledId, workflowTaskCompletedEventId: completedId });
  if (a.phase === 'started') {
    a.cancelRequestedId = requestedId;
    return;
  }
  finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_CANCELED', { latestCancelRequestedEventId: requestedId, identity: a.lastWorkerIdentity });
}

/** Writes the final outcome: ActivityTaskStarted (if it ran) then the result event. */
function finish(t: Transition, a: ActivityState, eventType: string, attrs: Obj): void {
  let startedId = 0;
  if (a.phase === 'started') {
    startedId = t.record('EVENT_TYPE_ACTIVITY_TASK_STARTED', {
      scheduledEventId: a.scheduledId,
      identity: a.startedIdentity,
      requestId: a.requestId,
      attempt: a.attempt,
      lastFailure: unpack(T.Failure, a.lastFailure),
    });
  }
  t.record(eventType, { ...attrs, scheduledEventId: a.scheduledId, startedEventId: startedId });
  delete t.s.activities[a.scheduledId];
  t.scheduleWft();
}

function deadline(a: ActivityState): number {
  return a.scheduleToCloseMs > 0 ? a.scheduledTime + a.scheduleToCloseMs : 0;
}

/** A failed attempt: retried after a backoff, or the activity fails for good. */
function attemptFailed(t: Transition, a: ActivityState, failure: Obj, identity: string | undefined, timedOut: boolean): void {
  const decision = decideRetry(fillRetryPolicy(unpack(T.RetryPolicy, a.retryPolicy)), a.attempt, failure, t.now, deadline(a));
  if (decision.retry) {
    a.phase = 'backoff';
    a.attempt += 1;
    a.lastFailure = pack(T.Failure, failure);
    a.lastWorkerIdentity = identity ?? a.startedIdentity;
    a.startedTime = undefined;
    t.timer('act_retry', t.now + decision.backoffMs, { scheduledId: a.scheduledId, attempt: a.attempt });
    t.dirty = true;
    return;
  }
  // As Temporal: a final attempt's timeout has the previous attempt's failure as its cause.
  if (timedOut) finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', { failure: { ...failure, cause: failure.cause ?? unpack(T.Failure, a.lastFailure) }, retryState: decision.state });
  else finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_FAILED', { failure, retryState: decision.state, identity });
}

const TIMEOUT_NAMES: Record<string, string> = {
  TIMEOUT_TYPE_START_TO_CLOSE: 'StartToClose',
  TIMEOUT_TYPE_SCHEDULE_TO_START: 'ScheduleToStart',
  TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: 'ScheduleToClose',
  TIMEOUT_TYPE_HEARTBEAT: 'Heartbeat',
};

function timeoutFailure(a: ActivityState, timeoutType: string, withCause: boolean): Obj {
  return {
    message: `activity ${TIMEOUT_NAMES[timeoutType]} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: unpack(T.Payloads, a.heartbeatDetails) },
    cause: withCause ? unpack(T.Failure, a.lastFailure) : undefined,
  };
}

function activityFor(t: Transition, scheduledId: number, attempt: number): ActivityState {
  const a = t.open ? t.s.activities[scheduledId] : undefined;
  if (!a || a.attempt !== attempt || a.phase !== 'started') throw taskNotFound('Activity task');
  return a;
}

export async function pollActivityTask(engine: Engine, req: Obj, signal: AbortSignal, waitMs: number): Promise<Obj> {
  await ensureNamespace(engine, req.namespace);
  return engine.poll(req.namespace, 'activity', req.taskQueue?.name, { identity: req.identity ?? '' }, signal, waitMs, (ref) => {
    if (ref.kind !== 'activity') return Promise.resolve(undefined);
    return engine.mutate(ref.runId, async (t) => {
      const a = t.open ? t.s.activities[ref.scheduledId] : undefined;
      if (!a || a.phase !== 'scheduled' || a.attempt !== ref.attempt) return undefined;
      t.relaxed = true;
      const bytes = await engine.readEvent(t.s.runId, a.scheduledId);
      return startAttempt(t, a, req.identity, bytes ? eventAttributes(decodeEvent(bytes)) : undefined);
    });
  });
}

/** The start-to-close and heartbeat timeouts of a started attempt, from its state (at start, and at start-up). */
export function attemptTimeouts(a: ActivityState): TimerWrite[] {
  if (a.phase !== 'started') return [];
  const ref = { scheduledId: a.scheduledId, attempt: a.attempt };
  const out: TimerWrite[] = [];
  if (a.startToCloseMs > 0) out.push({ kind: 'act_stc', fireAt: a.startedTime! + a.startToCloseMs, ref });
  if (a.heartbeatMs > 0) out.push({ kind: 'act_hb', fireAt: Math.max(a.lastHeartbeatTime ?? 0, a.startedTime!) + a.heartbeatMs, ref });
  return out;
}

/** Hands an attempt to a worker: marks it started, arms its timeouts, and builds the activity task. */
function startAttempt(t: Transition, a: ActivityState, identity: string, scheduled: Obj | undefined): Obj {
  a.phase = 'started';
  a.startedTime = t.now;
  a.startedIdentity = identity;
  a.requestId = randomUUID();
  t.dirty = true;
  for (const timer of attemptTimeouts(a)) t.attemptTimer(timer);
  return {
    taskToken: encodeToken({ k: 'a', r: t.s.runId, s: a.scheduledId, a: a.attempt }),
    workflowNamespace: t.s.namespace,
    workflowType: { name: t.s.workflowType },
    workflowExecution: { workflowId: t.s.workflowId, runId: t.s.runId },
    activityType: { name: a.activityType },
    activityId: a.activityId,
    header: scheduled?.header,
    input: scheduled?.input,
    heartbeatDetails: unpack(T.Payloads, a.heartbeatDetails),
    scheduledTime: timestamp(a.scheduledTime),
    scheduleToCloseTimeout: msDuration(a.scheduleToCloseMs || NO_LIMIT_MS),
    startedTime: timestamp(a.startedTime),
    attempt: a.attempt,
    currentAttemptScheduledTime: timestamp(a.attemptScheduledTime),
    startToCloseTimeout: msDuration(a.startToCloseMs || NO_LIMIT_MS),
    heartbeatTimeout: msDuration(a.heartbeatMs),
    retryPolicy: unpack(T.RetryPolicy, a.retryPolicy),
    priority: scheduled?.priority,
  };
}

export async function heartbeat(engine: Engine, token: Uint8Array, details: Obj | undefined): Promise<Obj> {
  const tk = decodeToken(token, 'a');
  return engine.mutate(tk.r, (t) => {
    const a = activityFor(t, tk.s, tk.a);
    if (details) a.heartbeatDetails = pack(T.Payloads, details);
    a.lastHeartbeatTime = t.now;
    t.dirty = true;
    return { cancelRequested: !!a.cancelRequestedId };
  });
}

export async function completeActivity(engine: Engine, token: Uint8Array, result: Obj | undefined, identity: string): Promise<void> {
  const tk = decodeToken(token, 'a');
  await engine.mutate(tk.r, (t) => {
    const a = activityFor(t, tk.s, tk.a);
    finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED', { result, identity });
  });
}

export async function failActivity(engine: Engine, token: Uint8Array, failure: Obj, identity: string, lastHeartbeatDetails: Obj | undefined): Promise<void> {
  const tk = decodeToken(token, 'a');
  await engine.mutate(tk.r, (t) => {
    const a = activityFor(t, tk.s, tk.a);
    if (lastHeartbeatDetails) a.heartbeatDetails = pack(T.Payloads, lastHeartbeatDetails);
    attemptFailed(t, a, failure, identity, false);
  });
}

export async function cancelActivity(engine: Engine, token: Uint8Array, details: Obj | undefined, identity: string): Promise<void> {
  const tk = decodeToken(token, 'a');
  await engine.mutate(tk.r, (t) => {
    const a = activityFor(t, tk.s, tk.a);
    finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_CANCELED', { details, latestCancelRequestedEventId: a.cancelRequestedId, identity });
  });
}

/** Finds the token of a started activity by workflow and activity id (the *ById RPCs). */
export async function tokenById(engine: Engine, runId: string, activityId: string): Promise<Buffer> {
  const s = await engine.peek(runId);
  const a = s && Object.values(s.activities).find((x) => x.activityId === activityId);
  if (!a) throw taskNotFound('Activity task');
  return encodeToken({ k: 'a', r: runId, s: a.scheduledId, a: a.attempt });
}

export function registerActivityHandlers(engine: Engine): void {
  const current = (t: Transition, ref: Record<string, any>, phase: ActivityState['phase']): ActivityState | undefined => {
    const a = t.s.activities[ref.scheduledId];
    if (!a || a.phase !== phase || (ref.attempt !== undefined && a.attempt !== ref.attempt)) return undefined;
    return a;
  };
  engine.onTimer('act_retry', (t, timer) => {
    const a = current(t, timer.ref, 'backoff');
    if (!a) return;
    a.phase = 'scheduled';
    a.attemptScheduledTime = t.now;
    dispatchAttempt(t, a);
  });
  engine.onTimer('act_s2s', (t, timer) => {
    const a = current(t, timer.ref, 'scheduled');
    if (a) finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', { failure: timeoutFailure(a, 'TIMEOUT_TYPE_SCHEDULE_TO_START', false), retryState: RetryState.Timeout });
  });
  // An attempt's timeout due together with the schedule-to-close one (which caps it) reports the
  // latter, whichever timer fires first (attempt timers live in memory, schedule-to-close in the database).
  const attemptTimedOut = (t: Transition, a: ActivityState, type: string) => {
    if (a.scheduleToCloseMs > 0 && a.scheduledTime + a.scheduleToCloseMs <= t.now + 5) {
      finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', { failure: timeoutFailure(a, 'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE', true), retryState: RetryState.Timeout });
    } else {
      attemptFailed(t, a, timeoutFailure(a, type, false), undefined, true);
    }
  };
  engine.onTimer('act_stc', (t, timer) => {
    const a = current(t, timer.ref, 'started');
    if (a) attemptTimedOut(t, a, 'TIMEOUT_TYPE_START_TO_CLOSE');
  });
  engine.onTimer('act_hb', (t, timer) => {
    const a = current(t, timer.ref, 'started');
    if (!a) return;
    const due = Math.max(a.lastHeartbeatTime ?? 0, a.startedTime ?? 0) + a.heartbeatMs;
    if (due > t.now + 5) t.attemptTimer({ kind: 'act_hb', fireAt: due, ref: timer.ref });
    else attemptTimedOut(t, a, 'TIMEOUT_TYPE_HEARTBEAT');
  });
  engine.onTimer('act_s2c', (t, timer) => {
    const a = t.s.activities[timer.ref.scheduledId];
    if (!a) return;
    // Both due at once (schedule-to-start defaults to schedule-to-close): never started wins, as in Temporal.
    const neverStarted = a.phase === 'scheduled' && a.scheduleToStartMs > 0 && a.attemptScheduledTime + a.scheduleToStartMs <= t.now + 5;
    const type = neverStarted ? 'TIMEOUT_TYPE_SCHEDULE_TO_START' : 'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE';
    finish(t, a, 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT', { failure: timeoutFailure(a, type, !neverStarted), retryState: RetryState.Timeout });
  });
}
