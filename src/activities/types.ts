import type { ActionResult, ActionWorkflowArgs, RunSyncInput, RunSyncResult } from '../workflows/types';

/** The activities the workflows call; `createActivities` implements them over the store and runtime. */
export interface SyncActivities {
  /** Runs the deployed sync script once for a connection and records the job. */
  runSync(input: RunSyncInput): Promise<RunSyncResult>;
  /** Ends as ERROR the job of a run whose attempts were exhausted (`runKey` as runSync builds it). */
  abandonSyncRun(runKey: string, error: { type: string; message: string }): Promise<void>;
  /** Runs one attempt of an action call; `last` makes a retryable failure final in `action_runs`. */
  runAction(args: ActionWorkflowArgs, actionId: string, last: boolean): Promise<ActionResult>;
}
