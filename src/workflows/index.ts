// The worker's workflow bundle entry: every workflow Syncline registers.
export { syncWorkflow, triggerSignal, pauseSignal, resumeSignal, updateFrequencySignal, statusQuery, MAX_RUNS_PER_EXECUTION } from './sync';
export { actionWorkflow, ACTION_TIMEOUT_MS } from './action';
export { webhookDeliveryWorkflow, webhookHandlerWorkflow, WEBHOOK_ATTEMPTS } from './webhooks';
export { onEventWorkflow, ON_EVENT_TIMEOUT_MS } from './on-event';
