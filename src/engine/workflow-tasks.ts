import { attemptTimeouts, MAX_EAGER_ACTIVITIES, requestCancelActivity, scheduleActivity } from './activities';
import { HISTORY_PAGE_BYTES, historyOverLimit, oversizedCommand, PENDING_ACTIVITIES_LIMIT } from './limits';
import { cancelExternal, signalExternal, startChild } from './children';
import type { Engine } from './engine';
import { invalidArgument, taskNotFound } from './errors';
import { rawHistory } from './history';
import { Status, type RunState } from './interfaces';
import type { TaskRef } from './matching';
import { durationMs, encode, enumName, T, timestamp, unpack, type Obj } from './proto';
import type { Queries } from './queries';
import { decodeToken, encodeToken } from './tokens';
import { transientWftEvents, wftTimeout, type TimerWrite, type Transition } from './transition';
import { CompletionMessages, hasAdmittedUpdates, updateRequestMessages } from './updates';
import { keywordsOf, mergePayloadMap } from './visibility-keys';
import { addResetPoint, closeRun, completeWorkflow, continueAsNew, ensureNamespace, failWorkflow } from './workflows';


const CLOSE_COMMANDS = new Set([
  'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION',
]);

/** A task's history is sent in pages of about this size; the worker fetches the rest by token. */

/** Events fromId..toId, cut at HISTORY_PAGE_BYTES with a token for GetWorkflowExecutionHistory. */
async function readHistory(engine: Engine, runId: string, fromId: number, toId: number, transient: { data: Uint8Array }[] = []): Promise<{ history: Obj; nextPageToken?: Buffer }> {
  const rows = await engine.readEvents(runId, fromId, Math.max(0, toId - fromId + 1));
  let bytes = 0;
  let n = 0;
  while (n < rows.length && (n === 0 || bytes + rows[n].data.length <= HISTORY_PAGE_BYTES)) bytes += rows[n++].data.length;
  // A transient workflow task's events are not stored: they end the page (its history is one page).
  if (n === rows.length) return { history: rawHistory([...rows, ...transient]) };
  const history = rawHistory(rows.slice(0, n));
  return { history, nextPageToken: Buffer.from(JSON.stringify({ next: rows[n].event_id, to: toId })) };
}

/** PollWorkflowTaskQueue: long-polls the queue and starts the first valid task in it. */
export async function pollWorkflowTask(engine: Engine, queries: Queries, req: Obj, signal: AbortSignal, waitMs: number): Promise<Obj> {
  await ensureNamespace(engine, req.namespace);
  const queue: string = req.taskQueue?.name;
  // As Temporal, the worker's build id (its binary checksum from the SDKs that send no other) is written on the tasks it starts.
  const worker = { identity: req.identity ?? '', buildId: req.workerVersionCapabilities?.buildId || req.deploymentOptions?.buildId || req.binaryChecksum || undefined };
  return engine.poll(req.namespace, 'workflow', queue, worker, signal, waitMs, async (ref) => {
    if (ref.kind === 'query') return startQueryTask(engine, queries, ref);
    if (ref.kind === 'workflow') return startWorkflowTask(engine, queries, ref, queue, worker);
    return undefined;
  });
}

async function startWorkflowTask(engine: Engine, queries: Queries, ref: Extract<TaskRef, { kind: 'workflow' }>, queue: string, worker: { identity: string; buildId?: string }): Promise<Obj | undefined> {
  if (ref.started) {
    // Started for a waiting worker when it was scheduled (possibly for another one that went away).
    const s = await engine.peek(ref.runId);
    const w = s?.wft;
    return s?.status === Status.Running && w?.scheduledId === ref.scheduledId && w.startedId ? workflowTaskResponse(engine, queries, s) : undefined;
  }
  const s = await engine.mutate(ref.runId, (t) => {
    const w = t.s.wft;
    if (!t.open || !w || w.scheduledId !== ref.scheduledId || w.startedId) return undefined;
    t.relaxed = true;
    t.startWft(queue, worker.identity, worker.buildId);
    return t.s;
  });
  return s && workflowTaskResponse(engine, queries, s);
}

/** The PollWorkflowTaskQueue response for a run's started workflow task (`s` as the task started). */
export async function workflowTaskResponse(engine: Engine, queries: Queries, s: RunState): Promise<Obj> {
  const w = s.wft!;
  const fromId = w.sticky ? s.lastCompletedStartedId + 1 : 1;
  const page = await readHistory(engine, s.runId, fromId, w.startedId, transientWftEvents(s));
  return {
    taskToken: encodeToken({ k: 'w', r: s.runId, s: w.scheduledId, st: w.startedId, a: w.attempt }),
    workflowExecution: { workflowId: s.workflowId, runId: s.runId },
    workflowType: { name: s.workflowType },
    previousStartedEventId: s.lastCompletedStartedId,
    startedEventId: w.startedId,
    attempt: w.attempt,
    backlogCountHint: engine.matching.backlog(s.namespace, 'workflow', w.queue),
    ...page,
    workflowExecutionTaskQueue: { name: s.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    scheduledTime: timestamp(w.scheduledTime),
    startedTime: timestamp(w.startedTime!),
    queries: queries.attach(s.runId, w.scheduledId),
    messages: updateRequestMessages(s, w.startedId),
  };
}

async function startQueryTask(engine: Engine, queries: Queries, ref: Extract<TaskRef, { kind: 'query' }>): Promise<Obj | undefined> {
  const q = queries.forTask(ref.queryId);
  if (!q) return undefined;
  const s = await engine.peek(q.runId);
  if (!s) return undefined;
  const page = await readHistory(engine, s.runId, 1, s.nextEventId - 1);
  return {
    taskToken: encodeToken({ k: 'q', r: s.runId, q: ref.queryId }),
    workflowExecution: { workflowId: s.workflowId, runId: s.runId },
    workflowType: { name: s.workflowType },
    previousStartedEventId: s.lastCompletedStartedId,
    startedEventId: s.lastCompletedStartedId,
    attempt: 1,
    ...page,
    query: q.query,
    workflowExecutionTaskQueue: { name: s.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
  };
}

function commandName(c: Obj): string {
  return typeof c.commandType === 'string' ? c.commandType : enumName('temporal.api.enums.v1.CommandType', c.commandType);
}

function commandAttributes(c: Obj, name: string): Obj {
  const camel = name
    .replace(/^COMMAND_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
  return c[`${camel}CommandAttributes`] ?? {};
}

function currentWft(t: Transition, token: { s: number; st: number }) {
  const w = t.s.wft;
  if (!t.open || !w || w.scheduledId !== token.s || w.startedId !== token.st) throw taskNotFound('Workflow task');
  return w;
}

/** RespondWorkflowTaskCompleted: records the task, applies its commands, flushes buffered events. */
export async function completeWorkflowTask(engine: Engine, queries: Queries, req: Obj): Promise<Obj> {
  const token = decodeToken(req.taskToken, 'w');
  const activityTasks: Obj[] = [];
  /** Why the task was failed instead of completed: as Temporal, the worker is told (InvalidArgument), so it drops the run from its cache and replays it with what the failure let in. */
  let failedBecause: string | undefined;
  await engine.mutate(token.r, async (t) => {
    failedBecause = undefined;
    const s = t.s;
    const w = currentWft(t, token);
    const commands: Obj[] = req.commands ?? [];
    const names = commands.map(commandName);
    t.afterCommit.push(() => queries.answerAttached(req.queryResults));
    // A transient task that completes is written as any other: scheduled, started, then what follows.
    if (w.transient) t.writeTransientWft();
    s.wft = undefined;
    // As Temporal: a timer this task cancels that fell due while it ran is cancelled, not fired; its
    // TimerFired, which the workflow never saw, is dropped (a worker that sent the cancel finds the
    // TimerCanceled it expects in history, where a TimerFired failed its next task as nondeterministic).
    const cancelledTimers = new Set(commands.flatMap((c, i) => (names[i] === 'COMMAND_TYPE_CANCEL_TIMER' ? [String(commandAttributes(c, names[i]!).timerId)] : [])));
    if (t.bufferedBut(cancelledTimers) && names.some((n) => CLOSE_COMMANDS.has(n))) {
      // The workflow closed without seeing what arrived meanwhile: let it run again.
      t.append('EVENT_TYPE_WORKFLOW_TASK_FAILED', {
        scheduledEventId: w.scheduledId,
        startedEventId: w.startedId,
        cause: 'WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND',
        identity: req.identity,
      });
      s.sticky = undefined;
      t.flushBuffered();
      t.scheduleWft();
      failedBecause = 'UnhandledCommand: new events arrived while the workflow task that closes the workflow ran';
      return;
    }
    const refused = refusal(s, commands, names);
    if (refused) {
      // As Temporal: the task's commands are dropped; a payload over the limit also fails the run
      // (running the code again would only produce it again), too many activities retry the task.
      const failedId = t.append('EVENT_TYPE_WORKFLOW_TASK_FAILED', {
        scheduledEventId: w.scheduledId,
        startedEventId: w.startedId,
        cause: refused.cause,
        failure: { message: refused.message, source: 'Server', serverFailureInfo: { nonRetryable: refused.failsRun } },
        identity: req.identity,
      });
      s.sticky = undefined;
      failedBecause = refused.message;
      if (refused.failsRun) {
        closeRun(t, Status.Failed, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED', {
          failure: { message: refused.message, source: 'Server', serverFailureInfo: { nonRetryable: true } },
          retryState: 'RETRY_STATE_NON_RETRYABLE_FAILURE',
          workflowTaskCompletedEventId: failedId,
        });
      } else {
        retryWft(t, w.attempt + 1);
      }
      return;
    }
    const completedId = t.append('EVENT_TYPE_WORKFLOW_TASK_COMPLETED', {
      scheduledEventId: w.scheduledId,
      startedEventId: w.startedId,
      identity: req.identity,
      // As Temporal: the worker's binary checksum is written as its build id.
      workerVersion: req.workerVersionStamp ?? (req.binaryChecksum ? { buildId: req.binaryChecksum } : undefined),
      sdkMetadata: req.sdkMetadata,
      meteringMetadata: req.meteringMetadata,
      deployment: req.deployment,
      versioningBehavior: req.versioningBehavior,
    });
    s.lastCompletedStartedId = w.startedId;
    addResetPoint(s, req.workerVersionStamp?.buildId || req.binaryChecksum, completedId, t.now);
    const stickyQueue = req.stickyAttributes?.workerTaskQueue?.name;
    s.sticky = stickyQueue ? { queue: stickyQueue, scheduleToStartMs: durationMs(req.stickyAttributes.scheduleToStartTimeout) || 10_000 } : undefined;
    const messages = new CompletionMessages(engine, req.messages);
    for (let i = 0; i < commands.length && !t.closed; i++) {
      const attrs = commandAttributes(commands[i], names[i]);
      if (names[i] === 'COMMAND_TYPE_PROTOCOL_MESSAGE') {
        messages.apply(t, attrs.messageId);
      } else if (names[i] === 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK') {
        const eager = attrs.requestEagerExecution && activityTasks.length < MAX_EAGER_ACTIVITIES ? { identity: req.identity } : undefined;
        const task = scheduleActivity(t, attrs, completedId, eager);
        if (task) activityTasks.push(task);
      } else {
        await applyCommand(engine, t, names[i], attrs, completedId, req.identity);
      }
    }
    messages.applyRest(t);
    const overLimit = t.closed ? undefined : historyOverLimit(s.nextEventId - 1, s.historyBytes);
    if (overLimit) closeRun(t, Status.Terminated, 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED', { reason: overLimit, identity: 'history-service' });
    if (t.closed) {
      activityTasks.length = 0; // eager tasks of a run closed by this same task are moot
      return;
    }
    const hadBuffered = s.buffered.length > 0;
    t.flushBuffered();
    if (hadBuffered || t.needsWft || req.forceCreateNewWorkflowTask || hasAdmittedUpdates(s)) t.scheduleWft();
  });
  if (failedBecause !== undefined) throw invalidArgument(failedBecause);
  return { activityTasks };
}

/** Why a completion's commands cannot be applied at all (Temporal's limits), or undefined. */
function refusal(s: RunState, commands: Obj[], names: string[]): { cause: string; message: string; failsRun: boolean } | undefined {
  for (let i = 0; i < commands.length; i++) {
    const message = oversizedCommand(names[i], commandAttributes(commands[i], names[i]));
    if (message) return { cause: 'WORKFLOW_TASK_FAILED_CAUSE_PAYLOADS_TOO_LARGE', message, failsRun: true };
  }
  const pending = Object.keys(s.activities).length + names.filter((n) => n === 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK').length;
  if (pending > PENDING_ACTIVITIES_LIMIT) {
    return { cause: 'WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED', message: `PendingActivitiesLimitExceeded: the number of pending activities, ${pending}, exceeds the per-workflow limit of ${PENDING_ACTIVITIES_LIMIT}`, failsRun: false };
  }
  return undefined;
}

async function applyCommand(engine: Engine, t: Transition, name: string, attrs: Obj, completedId: number, identity: string): Promise<void> {
  const s = t.s;
  switch (name) {
    case 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK':
      scheduleActivity(t, attrs, completedId);
      return;
    case 'COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK':
      return requestCancelActivity(t, attrs, completedId);
    case 'COMMAND_TYPE_START_TIMER': {
      const startedId = t.append('EVENT_TYPE_TIMER_STARTED', {
        timerId: attrs.timerId,
        startToFireTimeout: attrs.startToFireTimeout,
        workflowTaskCompletedEventId: completedId,
      });
      s.timers[attrs.timerId] = startedId;
      t.timer('user', t.now + durationMs(attrs.startToFireTimeout), { timerId: attrs.timerId, startedId });
      return;
    }
    case 'COMMAND_TYPE_CANCEL_TIMER': {
      const startedId = s.timers[attrs.timerId] ?? t.takeBufferedTimerFired(String(attrs.timerId));
      if (startedId === undefined) return;
      delete s.timers[attrs.timerId];
      t.append('EVENT_TYPE_TIMER_CANCELED', { timerId: attrs.timerId, startedEventId: startedId, workflowTaskCompletedEventId: completedId, identity });
      return;
    }
    case 'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION':
      return completeWorkflow(engine, t, attrs.result ?? undefined, completedId);
    case 'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION':
      return failWorkflow(engine, t, attrs.failure, completedId);
    case 'COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION':
      closeRun(t, Status.Canceled, 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED', { details: attrs.details, workflowTaskCompletedEventId: completedId });
      return;
    case 'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION':
      continueAsNew(engine, t, attrs, completedId);
      return;
    case 'COMMAND_TYPE_RECORD_MARKER':
      t.append('EVENT_TYPE_MARKER_RECORDED', {
        markerName: attrs.markerName,
        details: attrs.details,
        workflowTaskCompletedEventId: completedId,
        header: attrs.header,
        failure: attrs.failure,
      });
      return;
    case 'COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
      t.append('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', { workflowTaskCompletedEventId: completedId, searchAttributes: attrs.searchAttributes });
      const merged = mergePayloadMap('indexedFields', unpack(T.SearchAttributes, s.searchAttributes), attrs.searchAttributes);
      t.runWrite.searchAttributes = encode(T.SearchAttributes, merged);
      s.searchAttributes = t.runWrite.searchAttributes.toString('base64');
      t.runWrite.keywords = keywordsOf(merged);
      return;
    }
    case 'COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES': {
      t.append('EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED', { workflowTaskCompletedEventId: completedId, upsertedMemo: attrs.upsertedMemo });
      t.runWrite.memo = encode(T.Memo, mergePayloadMap('fields', unpack(T.Memo, s.memo), attrs.upsertedMemo));
      s.memo = t.runWrite.memo.toString('base64');
      return;
    }
    case 'COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION':
      return startChild(t, attrs, completedId);
    case 'COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION':
      return signalExternal(t, attrs, completedId);
    case 'COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION':
      return cancelExternal(t, attrs, completedId);
    default:
      engine.log.warn({ command: name }, 'engine ignores unsupported workflow command');
  }
}

/** RespondWorkflowTaskFailed: records the failure and retries the task on the normal queue. */
export async function failWorkflowTask(engine: Engine, req: Obj): Promise<void> {
  const token = decodeToken(req.taskToken, 'w');
  await engine.mutate(token.r, (t) => {
    const w = currentWft(t, token);
    // As Temporal: a transient task's failure is not written (nor were its scheduled and started events).
    if (!w.transient) {
      t.append('EVENT_TYPE_WORKFLOW_TASK_FAILED', {
        scheduledEventId: w.scheduledId,
        startedEventId: w.startedId,
        cause: req.cause,
        failure: req.failure,
        identity: req.identity,
        binaryChecksum: req.binaryChecksum,
      });
    }
    retryWft(t, w.attempt + 1);
  });
}

/**
 * The SDK reports a failing workflow task only on its first attempt and lets later ones time out.
 * The retry is transient (not written unless it completes) while nothing new reaches history; from
 * the third attempt on, retries back off (5 s doubling up to 10 min).
 */
function retryWft(t: Transition, attempt: number): void {
  const s = t.s;
  s.wft = undefined;
  s.sticky = undefined;
  t.flushBuffered();
  s.wftRetryFrom = s.nextEventId;
  if (attempt >= 3) {
    s.wftRetryAttempt = attempt;
    s.wftDelayedUntil = t.now + Math.min(5000 * 2 ** (attempt - 3), 600_000);
    t.timer('wft_backoff', s.wftDelayedUntil);
    return;
  }
  t.scheduleWft({ attempt, noSticky: true });
}

/** Moves a workflow task waiting on a sticky queue to the run's normal queue. */
function unstick(t: Transition, scheduledId: number): void {
  const s = t.s;
  const w = s.wft;
  if (!w || w.scheduledId !== scheduledId || w.startedId || !w.sticky) return;
  w.queue = s.taskQueue;
  w.sticky = false;
  s.sticky = undefined;
  t.dirty = true;
  t.dispatch.push({ queueKind: 'workflow', queue: s.taskQueue, task: { kind: 'workflow', runId: s.runId, scheduledId } });
}

/** ShutdownWorker: the worker's sticky queue is gone; its waiting tasks move to normal queues. */
export async function shutdownWorker(engine: Engine, namespace: string, stickyQueue: string | undefined): Promise<void> {
  if (!stickyQueue) return;
  for (const ref of engine.matching.drainSticky(namespace, stickyQueue)) {
    if (ref.kind !== 'workflow') continue;
    await engine.mutate(ref.runId, (t) => unstick(t, ref.scheduledId)).catch(() => undefined);
  }
}

/** Tasks to dispatch for a run found open at start-up (sticky queues are gone by then). */
export function tasksOfOpenRun(s: RunState): { queueKind: 'workflow' | 'activity'; queue: string; task: TaskRef }[] {
  const out: { queueKind: 'workflow' | 'activity'; queue: string; task: TaskRef }[] = [];
  if (s.wft && !s.wft.startedId) out.push({ queueKind: 'workflow', queue: s.taskQueue, task: { kind: 'workflow', runId: s.runId, scheduledId: s.wft.scheduledId } });
  for (const a of Object.values(s.activities)) {
    if (a.phase === 'scheduled') out.push({ queueKind: 'activity', queue: a.taskQueue, task: { kind: 'activity', runId: s.runId, scheduledId: a.scheduledId, attempt: a.attempt } });
  }
  return out;
}

/** The attempt timeouts to re-arm for a run found open at start-up (sticky queues are gone: none for them). */
export function timeoutsOfOpenRun(s: RunState): TimerWrite[] {
  const wft = wftTimeout(s);
  return [...(wft ? [wft] : []), ...Object.values(s.activities).flatMap(attemptTimeouts)];
}

export function registerWorkflowTaskHandlers(engine: Engine): void {
  engine.onTimer('wft_timeout', (t, timer) => {
    const w = t.s.wft;
    if (!w || w.scheduledId !== timer.ref.scheduledId || w.startedId !== timer.ref.startedId) return;
    if (!w.transient) t.append('EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT', { scheduledEventId: w.scheduledId, startedEventId: w.startedId, timeoutType: 'TIMEOUT_TYPE_START_TO_CLOSE' });
    retryWft(t, w.attempt + 1);
  });
  engine.onTimer('wft_sticky', (t, timer) => unstick(t, timer.ref.scheduledId));
  engine.onTimer('user', (t, timer) => {
    const { timerId, startedId } = timer.ref;
    if (t.s.timers[timerId] !== startedId) return;
    delete t.s.timers[timerId];
    t.record('EVENT_TYPE_TIMER_FIRED', { timerId, startedEventId: startedId });
    t.scheduleWft();
  });
}
