import type { Engine } from './engine';
import { decodeEvent, eventAttributes, eventTypeName } from './history';
import { durationMs, enumValue, msDuration, type Obj } from './proto';
import * as sql from './store';
import type { RunState } from './interfaces';
import type { Transition } from './transition';
import { DEFAULT_WFT_TIMEOUT_MS, requestCancelRun, resolveRun, signalRun, startWorkflow } from './workflows';

/** ParentClosePolicy and WorkflowIdReusePolicy values a child gets when its command leaves them unset. */
const PARENT_CLOSE_TERMINATE = 1;
const REUSE_ALLOW_DUPLICATE = 1;

/** The StartChildWorkflowExecution command; the child is started by the `start_child` transfer. */
export function startChild(t: Transition, attrs: Obj, completedId: number): void {
  const s = t.s;
  const namespace = attrs.namespace || s.namespace;
  const initiatedId = t.append('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED', {
    namespace,
    workflowId: attrs.workflowId,
    workflowType: attrs.workflowType,
    taskQueue: attrs.taskQueue?.name ? attrs.taskQueue : { name: s.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    input: attrs.input,
    workflowExecutionTimeout: attrs.workflowExecutionTimeout,
    workflowRunTimeout: attrs.workflowRunTimeout,
    // As Temporal, the event shows the defaults the child gets for what the command left unset.
    workflowTaskTimeout: durationMs(attrs.workflowTaskTimeout) > 0 ? attrs.workflowTaskTimeout : msDuration(DEFAULT_WFT_TIMEOUT_MS),
    parentClosePolicy: enumValue('temporal.api.enums.v1.ParentClosePolicy', attrs.parentClosePolicy) || PARENT_CLOSE_TERMINATE,
    control: attrs.control,
    workflowTaskCompletedEventId: completedId,
    workflowIdReusePolicy: enumValue('temporal.api.enums.v1.WorkflowIdReusePolicy', attrs.workflowIdReusePolicy) || REUSE_ALLOW_DUPLICATE,
    retryPolicy: attrs.retryPolicy,
    cronSchedule: attrs.cronSchedule,
    header: attrs.header,
    memo: attrs.memo,
    searchAttributes: attrs.searchAttributes,
    priority: attrs.priority,
    inheritBuildId: attrs.inheritBuildId,
  });
  s.children[initiatedId] = {
    initiatedId,
    namespace,
    workflowId: attrs.workflowId,
    workflowType: attrs.workflowType?.name ?? '',
    parentClosePolicy: enumValue('temporal.api.enums.v1.ParentClosePolicy', attrs.parentClosePolicy) || PARENT_CLOSE_TERMINATE,
  };
  t.transfer('start_child', { runId: s.runId, initiatedId });
}

export function signalExternal(t: Transition, attrs: Obj, completedId: number): void {
  const id = t.append('EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED', {
    namespace: attrs.namespace || t.s.namespace,
    workflowExecution: attrs.execution,
    signalName: attrs.signalName,
    input: attrs.input,
    control: attrs.control,
    childWorkflowOnly: attrs.childWorkflowOnly,
    header: attrs.header,
    workflowTaskCompletedEventId: completedId,
  });
  t.s.externals[id] = { initiatedId: id, kind: 'signal' };
  t.transfer('signal_external', { runId: t.s.runId, initiatedId: id });
}

export function cancelExternal(t: Transition, attrs: Obj, completedId: number): void {
  const id = t.append('EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED', {
    namespace: attrs.namespace || t.s.namespace,
    workflowExecution: attrs.execution ?? { workflowId: attrs.workflowId, runId: attrs.runId },
    control: attrs.control,
    childWorkflowOnly: attrs.childWorkflowOnly,
    reason: attrs.reason,
    workflowTaskCompletedEventId: completedId,
  });
  t.s.externals[id] = { initiatedId: id, kind: 'cancel' };
  t.transfer('cancel_external', { runId: t.s.runId, initiatedId: id });
}

async function initiated(engine: Engine, runId: string, eventId: number): Promise<Obj | undefined> {
  const bytes = await engine.readEvent(runId, eventId);
  return bytes ? eventAttributes(decodeEvent(bytes)) : undefined;
}

const ignoreGone = (err: unknown) => {
  if ((err as { code?: number }).code !== 5) throw err;
};

function recordChildStarted(t: Transition, initiatedId: number, runId: string, header?: Obj): void {
  const child = t.s.children[initiatedId];
  child.runId = runId;
  const id = t.record('EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED', {
    namespace: child.namespace,
    initiatedEventId: initiatedId,
    workflowExecution: { workflowId: child.workflowId, runId },
    workflowType: { name: child.workflowType },
    header,
  });
  if (id > 0) child.startedId = id;
  t.scheduleWft();
}

export function registerChildHandlers(engine: Engine): void {
  engine.onTransfer('start_child', async (e, tr) => {
    const { runId, initiatedId } = tr.data;
    const parent = await e.peek(runId);
    const child = parent?.children[initiatedId];
    if (!parent || parent.status !== 1 || !child || child.runId) return;
    const attrs = await initiated(e, runId, initiatedId);
    if (!attrs) return;
    let started: string | undefined;
    try {
      const res = await startWorkflow(
        e,
        { ...attrs, namespace: child.namespace, requestId: `${runId}:${initiatedId}`, identity: 'parent' },
        undefined,
        { parent: { namespace: parent.namespace, namespaceId: (await sql.namespaceRow(e.db, parent.namespace))?.id, workflowId: parent.workflowId, runId, initiatedId }, rootExecution: parent.root ?? { workflowId: parent.workflowId, runId } },
      );
      started = res.runId;
    } catch (err) {
      if ((err as { code?: number }).code !== 6) throw err;
    }
    await e
      .mutate(runId, (t) => {
        const c = t.s.children[initiatedId];
        if (!t.open || !c || c.runId) return;
        if (started) return recordChildStarted(t, initiatedId, started, attrs.header);
        delete t.s.children[initiatedId];
        t.record('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED', {
          namespace: c.namespace,
          workflowId: c.workflowId,
          workflowType: { name: c.workflowType },
          cause: 'START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS',
          control: attrs.control,
          initiatedEventId: initiatedId,
          workflowTaskCompletedEventId: attrs.workflowTaskCompletedEventId,
        });
        t.scheduleWft();
      })
      .catch(ignoreGone);
  });

  engine.onTransfer('notify_parent', async (e, tr) => {
    const { parentRunId, initiatedId } = tr.data;
    const ev = decodeEvent(Buffer.from(tr.data.event, 'base64'));
    const attrs = eventAttributes(ev);
    await e
      .mutate(parentRunId, (t) => {
        const child = t.s.children[initiatedId];
        if (!t.open || !child) return;
        if (!child.runId) recordChildStarted(t, initiatedId, attrs.workflowExecution.runId);
        attrs.startedEventId = child.startedId ?? -1;
        delete t.s.children[initiatedId];
        t.record(eventTypeName(ev), attrs);
        t.scheduleWft();
      })
      .catch(ignoreGone);
  });

  engine.onTransfer('signal_external', (e, tr) =>
    externalRequest(e, tr.data.runId, tr.data.initiatedId, {
      act: async (attrs, targetRunId, source) => {
        const target = await sql.getRun(e.db, targetRunId);
        if (attrs.childWorkflowOnly && target?.parent_run_id !== source.runId) throw Object.assign(new Error('not a child'), { code: 5 });
        await signalRun(e, targetRunId, {
          signalName: attrs.signalName,
          input: attrs.input,
          identity: source.workflowId,
          header: attrs.header,
          externalWorkflowExecution: { workflowId: source.workflowId, runId: source.runId },
        });
      },
      done: (attrs, initiatedId) => ['EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED', { namespace: attrs.namespace, workflowExecution: attrs.workflowExecution, initiatedEventId: initiatedId, control: attrs.control }],
      failed: (attrs, initiatedId) => [
        'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED',
        {
          namespace: attrs.namespace,
          workflowExecution: attrs.workflowExecution,
          initiatedEventId: initiatedId,
          control: attrs.control,
          cause: 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          workflowTaskCompletedEventId: attrs.workflowTaskCompletedEventId,
        },
      ],
    }),
  );

  engine.onTransfer('cancel_external', (e, tr) =>
    externalRequest(e, tr.data.runId, tr.data.initiatedId, {
      act: (attrs, targetRunId, source) =>
        requestCancelRun(e, targetRunId, {
          cause: attrs.reason,
          identity: source.workflowId,
          externalInitiatedEventId: tr.data.initiatedId,
          externalWorkflowExecution: { workflowId: source.workflowId, runId: source.runId },
        }),
      done: (attrs, initiatedId) => ['EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED', { initiatedEventId: initiatedId, namespace: attrs.namespace, workflowExecution: attrs.workflowExecution }],
      failed: (attrs, initiatedId) => [
        'EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED',
        {
          cause: 'CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          workflowTaskCompletedEventId: attrs.workflowTaskCompletedEventId,
          namespace: attrs.namespace,
          workflowExecution: attrs.workflowExecution,
          initiatedEventId: initiatedId,
          control: attrs.control,
        },
      ],
    }),
  );
}

type Outcome = [eventType: string, attrs: Obj];

/**
 * A signal or cancel request from one run to another: carried out, then recorded in the
 * requesting run as done, or failed when the target does not exist (or is closed).
 */
async function externalRequest(
  e: Engine,
  runId: string,
  initiatedId: number,
  how: {
    act(attrs: Obj, targetRunId: string, source: RunState): Promise<void>;
    done(attrs: Obj, initiatedId: number): Outcome;
    failed(attrs: Obj, initiatedId: number): Outcome;
  },
): Promise<void> {
  const source = await e.peek(runId);
  if (!source?.externals[initiatedId]) return;
  const attrs = await initiated(e, runId, initiatedId);
  if (!attrs) return;
  let ok = true;
  try {
    const target = await resolveRun(e, attrs.namespace, attrs.workflowExecution);
    await how.act(attrs, target.run_id, source);
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err;
    ok = false;
  }
  await e
    .mutate(runId, (t) => {
      if (!t.open || !t.s.externals[initiatedId]) return;
      delete t.s.externals[initiatedId];
      t.record(...(ok ? how.done(attrs, initiatedId) : how.failed(attrs, initiatedId)));
      t.scheduleWft();
    })
    .catch(ignoreGone);
}
