import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities/types';
import type { WebhookActivities } from '../activities/webhooks';
import { SyncState } from './state';
import { whenSlotFree } from './slots';
import { BOOKKEEPING_ACTIVITY, syncRunKey, type SyncLiveStatus, type SyncWorkflowArgs, type TriggerOptions } from './types';

export const triggerSignal = defineSignal<[TriggerOptions?]>('trigger');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const updateFrequencySignal = defineSignal<[number]>('updateFrequency');
export const statusQuery = defineQuery<SyncLiveStatus>('status');

/** Runs per workflow execution before continuing as new, whatever the history size. */
export const MAX_RUNS_PER_EXECUTION = 200;
const DAY_MS = 24 * 60 * 60_000;

/**
 * The entity workflow of one sync of one connection: waits for its next slot or a signal, runs the
 * `runSync` activity, and continues as new when the history grows. Ends when the connection or the
 * deployed sync is gone.
 */
export async function syncWorkflow(args: SyncWorkflowArgs): Promise<string> {
  const state = new SyncState(args, Date.now());
  const { runSync } = proxyActivities<SyncActivities>({
    startToCloseTimeout: args.runTimeoutMs ?? DAY_MS,
    heartbeatTimeout: args.heartbeatTimeoutMs ?? 60_000,
    retry: { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: 60_000, maximumAttempts: args.runAttempts ?? 10 },
  });
  const { abandonSyncRun } = proxyActivities<SyncActivities>(BOOKKEEPING_ACTIVITY);
  const { sendSyncWebhooks, sendAbandonedSyncWebhooks } = proxyActivities<WebhookActivities>(BOOKKEEPING_ACTIVITY);
  // The enqueueing of a run's webhooks retries through a database outage (up to an hour), so the
  // sync goes on meanwhile (pause shows, the next run starts); only continue-as-new waits for it.
  const enqueueing = new Set<Promise<unknown>>();
  const enqueue = async (send: () => Promise<unknown>): Promise<void> => {
    const inBackground = patched('sync-webhooks-in-background');
    const sent = send().catch(() => undefined);
    if (!inBackground) {
      await sent;
      return;
    }
    const tracked = sent.finally(() => enqueueing.delete(tracked));
    enqueueing.add(tracked);
  };

  setHandler(triggerSignal, (options) => state.trigger(options));
  setHandler(pauseSignal, () => state.pause());
  setHandler(resumeSignal, () => state.resume(Date.now()));
  setHandler(updateFrequencySignal, (ms) => state.updateFrequency(ms, Date.now()));
  setHandler(statusQuery, () => state.status());

  const alarm = new Alarm();
  let runsHere = 0;
  for (;;) {
    const wait = state.waitMs(Date.now());
    // Anything but 0 waits (never a loop turn without an await: workflow code runs without a deadline).
    if (wait !== 0) {
      const seen = state.version;
      const woken = () => state.version !== seen || workflowInfo().continueAsNewSuggested;
      // Executions begun before the kept timer (their waits cancelled theirs) replay as they ran.
      if (wait === null) await condition(woken);
      else if (patched('sync-wait-keeps-timer')) await alarm.until(Date.now() + wait, woken);
      else await condition(woken, wait);
    }
    if (state.isDue(Date.now())) {
      const scheduledAt = state.pending ? undefined : (state.nextRunAt ?? undefined);
      const { reset, emptyCache } = state.startRun();
      const startedAt = Date.now();
      try {
        const input = { key: args.key, reset, ...(emptyCache ? { emptyCache } : {}), ...(scheduledAt !== undefined ? { scheduledAt } : {}) };
        const result = await whenSlotFree(() => runSync(input));
        // The app's `sync` webhooks are enqueued (their delivery is a workflow of its own).
        if (result.outcome !== 'gone' && result.notify !== false && patched('sync-webhooks')) await enqueue(() => sendSyncWebhooks(args.key, result.jobId));
        state.finishRun(result, Date.now());
        if (result.outcome === 'gone') return `stopped: ${result.reason}`;
      } catch (err) {
        // Attempts exhausted (repeated crashes or timeouts): record it and keep the schedule.
        const cause = err instanceof ActivityFailure ? err.cause : err;
        const error = { type: 'run_failed', message: cause instanceof Error ? cause.message : String(cause) };
        if (err instanceof ActivityFailure && err.activityId) {
          const info = workflowInfo();
          const runKey = syncRunKey(info.workflowId, info.runId, err.activityId);
          await abandonSyncRun(runKey, error).catch(() => undefined);
          if (patched('sync-webhooks')) await enqueue(() => sendAbandonedSyncWebhooks(args.key, runKey));
        }
        state.finishRun({ outcome: 'failed', startedAt, error }, Date.now());
      }
      runsHere++;
    }
    if (workflowInfo().continueAsNewSuggested || runsHere >= (args.runsPerExecution ?? MAX_RUNS_PER_EXECUTION)) {
      await condition(allHandlersFinished);
      await Promise.all(enqueueing);
      return continueAsNew<typeof syncWorkflow>({ ...args, carried: state.carry() });
    }
  }
}

/**
 * The timer of the next due run, kept across waits: a wait that a signal ends early leaves it
 * running, and the next wait for the same time takes it over. `condition(fn, timeout)` instead builds
 * a cancellation scope, a timer and a race for every wait and cancels the timer when woken: 19 of
 * the 24 promises of a run, and the SDK's promise hook captures a stack trace for each promise.
 */
class Alarm {
  private at: number | undefined;
  private rang = false;

  /** Resolves once `woken()` holds or the clock reaches `at` (a timestamp of the workflow's clock). */
  until(at: number, woken: () => boolean): Promise<void> {
    if (at !== this.at) {
      this.at = at;
      this.rang = false;
      // A timer of an earlier time, ringing later, is ignored (its wait has ended). A cancelled
      // workflow's waits end by `condition`'s rejection.
      void sleep(at - Date.now()).then(
        () => {
          if (this.at === at) this.rang = true;
        },
        () => undefined,
      );
    }
    return condition(() => this.rang || woken());
  }
}
