import type { UnrecordedActionEnd } from '../workflows/failures';
import type { ActionResult, ActionWorkflowArgs, RunBusy, RunSyncInput, RunSyncResult, SyncRunBusy } from '../workflows/types';

/** The activities the workflows call; `createActivities` implements them over the store and runtime. */
export interface SyncActivities {
  /** Runs the deployed sync script once for a connection and records the job; busy: not started (its environment or connection is at its cap). */
  runSync(input: RunSyncInput): Promise<RunSyncResult | SyncRunBusy>;
  /** Ends as ERROR the job of a run whose attempts were exhausted (`runKey` as runSync builds it). */
  abandonSyncRun(runKey: string, error: { type: string; message: string }): Promise<void>;
  /** Runs one attempt of an action call; `last` makes a retryable failure final in `action_runs`. Busy: not started (its environment or connection is at its cap). */
  runAction(args: ActionWorkflowArgs, actionId: string, last: boolean): Promise<ActionResult | RunBusy>;
  /** Ends as failed an action run no attempt recorded an outcome for (the activity's attempts ran out). */
  abandonActionRun(actionId: string, error: UnrecordedActionEnd): Promise<void>;
}
