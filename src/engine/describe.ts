import type { Engine } from './engine';
import { Status } from './interfaces';
import { decode, msDuration, T, timestamp, unpack, type Obj } from './proto';
import type { RunRow } from './store';
import { autoResetPoints } from './workflows';

/** temporal.api.workflow.v1.WorkflowExecutionInfo of a run row (describe and list). */
export function executionInfo(row: RunRow): Obj {
  const s = row.state;
  return {
    execution: { workflowId: row.workflow_id, runId: row.run_id },
    type: { name: row.workflow_type },
    startTime: timestamp(row.start_time),
    closeTime: row.close_time ? timestamp(row.close_time) : undefined,
    status: row.status,
    historyLength: row.history_length,
    parentExecution: row.parent_workflow_id ? { workflowId: row.parent_workflow_id, runId: row.parent_run_id } : undefined,
    parentNamespaceId: s.parent?.namespace,
    executionTime: timestamp(row.execution_time),
    memo: row.memo ? decode(T.Memo, row.memo) : undefined,
    searchAttributes: row.search_attributes ? decode(T.SearchAttributes, row.search_attributes) : undefined,
    taskQueue: row.task_queue,
    historySizeBytes: s.historyBytes,
    firstRunId: row.first_run_id,
    rootExecution: s.root ?? { workflowId: row.workflow_id, runId: row.run_id },
    stateTransitionCount: row.history_length,
  };
}

/** DescribeWorkflowExecution. */
export async function describeRun(engine: Engine, row: RunRow): Promise<Obj> {
  const s = row.status === Status.Running ? ((await engine.peek(row.run_id)) ?? row.state) : row.state;
  const pendingActivities = Object.values(s.activities).map((a) => {
    const policy = unpack(T.RetryPolicy, a.retryPolicy);
    return {
      activityId: a.activityId,
      activityType: { name: a.activityType },
      state: a.cancelRequestedId ? 'PENDING_ACTIVITY_STATE_CANCEL_REQUESTED' : a.phase === 'started' ? 'PENDING_ACTIVITY_STATE_STARTED' : 'PENDING_ACTIVITY_STATE_SCHEDULED',
      heartbeatDetails: unpack(T.Payloads, a.heartbeatDetails),
      lastHeartbeatTime: a.lastHeartbeatTime ? timestamp(a.lastHeartbeatTime) : undefined,
      lastStartedTime: a.startedTime ? timestamp(a.startedTime) : undefined,
      attempt: a.attempt,
      maximumAttempts: policy?.maximumAttempts ?? 0,
      scheduledTime: timestamp(a.attemptScheduledTime),
      expirationTime: a.scheduleToCloseMs ? timestamp(a.scheduledTime + a.scheduleToCloseMs) : undefined,
      lastFailure: unpack(T.Failure, a.lastFailure),
      lastWorkerIdentity: a.startedIdentity ?? a.lastWorkerIdentity,
    };
  });
  const pendingChildren = Object.values(s.children).map((c) => ({
    workflowId: c.workflowId,
    runId: c.runId,
    workflowTypeName: c.workflowType,
    initiatedId: c.initiatedId,
    parentClosePolicy: c.parentClosePolicy,
  }));
  return {
    executionConfig: {
      taskQueue: { name: row.task_queue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      workflowExecutionTimeout: msDuration(s.executionTimeoutMs),
      workflowRunTimeout: msDuration(s.runTimeoutMs),
      defaultWorkflowTaskTimeout: msDuration(s.wftTimeoutMs),
    },
    workflowExecutionInfo: { ...executionInfo(row), historyLength: s.nextEventId - 1, status: s.status, autoResetPoints: autoResetPoints(s.resetPoints) },
    pendingActivities,
    pendingChildren,
    pendingWorkflowTask: s.wft
      ? {
          state: s.wft.startedId ? 'PENDING_WORKFLOW_TASK_STATE_STARTED' : 'PENDING_WORKFLOW_TASK_STATE_SCHEDULED',
          scheduledTime: timestamp(s.wft.scheduledTime),
          originalScheduledTime: timestamp(s.wft.scheduledTime),
          startedTime: s.wft.startedTime ? timestamp(s.wft.startedTime) : undefined,
          attempt: s.wft.attempt,
        }
      : undefined,
  };
}
