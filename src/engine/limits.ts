import { invalidArgument } from './errors';
import { encode, T, type Obj } from './proto';

/**
 * Temporal's default limits (dynamic config `limit.*`), so that a workflow that would be refused by a
 * real cluster is refused here too, and no run grows without bound in Postgres.
 */
/** One payload set (an input, a result, a failure) over this is refused: `limit.blobSize.error`. */
export const BLOB_SIZE_LIMIT = 2 * 1024 * 1024;
/** Past these a run is terminated: `limit.historyCount.error`, `limit.historySize.error`. */
export const HISTORY_COUNT_LIMIT = 51_200;
export const HISTORY_SIZE_LIMIT = 50 * 1024 * 1024;
/** Longest id (workflow id, request id, ...) the frontend takes: `limit.maxIDLength`. */
export const MAX_ID_LENGTH = 1000;
/** Activities a run may have pending at once: `limit.numPendingActivities.error`. */
export const PENDING_ACTIVITIES_LIMIT = 2000;
/** From these on, workflow tasks carry `suggestContinueAsNew`: `limit.historyCount/historySize.suggestContinueAsNew`. */
/** Most history bytes in one page of a poll response or GetWorkflowExecutionHistory answer. */
export const HISTORY_PAGE_BYTES = 2 * 1024 * 1024;
export const SUGGEST_CONTINUE_AS_NEW_EVENTS = 4 * 1024;
export const SUGGEST_CONTINUE_AS_NEW_BYTES = 4 * 1024 * 1024;

/** Encoded size of a Payloads message (0 when absent). */
export function payloadsSize(payloads: Obj | null | undefined): number {
  return payloads ? encode(T.Payloads, payloads).length : 0;
}

/** Refuses a client request (start, signal) whose payloads exceed the blob limit, as the frontend does. */
export function checkRequestPayloads(...payloads: (Obj | null | undefined)[]): void {
  if (payloads.some((p) => payloadsSize(p) > BLOB_SIZE_LIMIT)) throw invalidArgument('Blob data size exceeds limit.');
}

/** The payloads a command carries, by command type, and how Temporal names them in its error. */
const COMMAND_PAYLOADS: Record<string, { field: string; label: string; failure?: boolean }> = {
  COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: { field: 'input', label: 'ScheduleActivityTaskCommandAttributes.Input' },
  COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: { field: 'result', label: 'CompleteWorkflowExecutionCommandAttributes.Result' },
  COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: { field: 'failure', label: 'FailWorkflowExecutionCommandAttributes.Failure', failure: true },
  COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: { field: 'input', label: 'ContinueAsNewWorkflowExecutionCommandAttributes.Input' },
  COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: { field: 'input', label: 'StartChildWorkflowExecutionCommandAttributes.Input' },
  COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: { field: 'input', label: 'SignalExternalWorkflowExecutionCommandAttributes.Input' },
};

/** Why a command's payload is refused ("... exceeds size limit."), or undefined when it fits. */
export function oversizedCommand(name: string, attrs: Obj): string | undefined {
  const spec = COMMAND_PAYLOADS[name];
  const value = spec && attrs[spec.field];
  if (!value) return undefined;
  const size = spec.failure ? encode(T.Failure, value).length : payloadsSize(value);
  return size > BLOB_SIZE_LIMIT ? `${spec.label} exceeds size limit.` : undefined;
}

/** Why a run's history is over the limit (Temporal's termination reason), or undefined. */
export function historyOverLimit(events: number, bytes: number): string | undefined {
  if (events > HISTORY_COUNT_LIMIT) return 'Workflow history count exceeds limit.';
  if (bytes > HISTORY_SIZE_LIMIT) return 'Workflow history size exceeds limit.';
  return undefined;
}
