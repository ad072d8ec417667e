import type { Context } from '@temporalio/activity';

/**
 * After an activity was cancelled: whether its run is over for good, because its workflow asked
 * to cancel it or is gone (terminated: connection deleted, sync removed, variant deleted). A
 * cancellation for any other reason (the attempt timed out, the worker is shutting down, the
 * activity was paused) leaves the run to a later attempt, which continues it.
 */
export async function runIsOver(context: Context): Promise<boolean> {
  const details = context.cancellationDetails;
  if (details?.cancelRequested) return true;
  if (!details?.notFound) return false;
  // Not found: the workflow is gone, or only this attempt is (it timed out and a retry follows).
  const execution = context.info.workflowExecution;
  if (!execution) return true;
  try {
    const description = await context.client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    return description.status.name !== 'RUNNING';
  } catch {
    return true;
  }
}

/** The job error of a run stopped by its workflow's end. */
export const RUN_CANCELLED = {
  type: 'run_cancelled',
  message: 'The run was cancelled: its workflow was stopped (connection deleted, sync removed or variant deleted, or terminated) and the script was stopped',
};
