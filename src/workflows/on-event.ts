import { proxyActivities } from '@temporalio/workflow';
import type { OnEventActivities, OnEventResult, OnEventWorkflowArgs } from './types';

/** Wall-clock limit of one on-event script run. */
export const ON_EVENT_TIMEOUT_MS = 5 * 60_000;

/**
 * One run of an on-event script for one connection (after its creation, before its deletion). A
 * script's own failure is its result, not retried (it may have acted on the provider already); an
 * attempt lost with its worker is retried.
 */
export async function onEventWorkflow(args: OnEventWorkflowArgs): Promise<OnEventResult> {
  const { runOnEventScript } = proxyActivities<OnEventActivities>({
    startToCloseTimeout: ON_EVENT_TIMEOUT_MS + 60_000,
    heartbeatTimeout: 60_000,
    retry: { initialInterval: 1000, maximumInterval: 30_000, maximumAttempts: 3 },
  });
  return runOnEventScript(args);
}
