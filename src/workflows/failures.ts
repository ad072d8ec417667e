import { ActivityFailure, CancelledFailure, ChildWorkflowFailure, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';

/** How an action run ended when no attempt recorded its outcome (`action_runs.error`). */
export interface UnrecordedActionEnd {
  type: string;
  message: string;
}

/**
 * The error an action run ends with when Temporal, not the script, ended it: the attempts of its
 * activity ran out (its worker died, it timed out, it failed before recording an outcome), or its
 * workflow was terminated, cancelled or timed out. `failure` is what the workflow's `await` of the
 * activity threw, or what a client's `result()` of the workflow threw.
 */
export function unrecordedActionEnd(failure: unknown): UnrecordedActionEnd {
  let cause = failure;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure || isWorkflowFailed(cause)) && cause.cause) cause = cause.cause;
  if (cause instanceof TerminatedFailure || cause instanceof CancelledFailure) {
    return { type: 'action_cancelled', message: 'The action was cancelled: its workflow was stopped before the action finished' };
  }
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === TimeoutType.HEARTBEAT) {
      return { type: 'action_failed', message: 'The action was lost: the process running it stopped answering (it died or hung) and no attempts were left' };
    }
    if (cause.timeoutType === TimeoutType.SCHEDULE_TO_START) return { type: 'action_failed', message: 'The action was not started: no worker took it in time' };
    return { type: 'script_timeout', message: 'The action did not finish within its time limit and was stopped' };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { type: 'action_failed', message: `The action failed before recording an outcome and no attempts were left: ${message}` };
}

/** The client's WorkflowFailedError (not importable here: the workflow bundle has no client), by shape. */
function isWorkflowFailed(value: unknown): value is Error & { cause?: unknown } {
  return value instanceof Error && value.name === 'WorkflowFailedError';
}
