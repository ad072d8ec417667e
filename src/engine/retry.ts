import { durationMs, msDuration, num, type Obj } from './proto';

/** A retry policy in milliseconds; maximumAttempts 0 means unlimited. */
export interface Retry {
  initialMs: number;
  coefficient: number;
  maximumMs: number;
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/** Temporal's defaults for what the caller left out (activities always get a policy). */
export function fillRetryPolicy(p: Obj | null | undefined): Retry {
  const initialMs = durationMs(p?.initialInterval) || 1000;
  return {
    initialMs,
    coefficient: p?.backoffCoefficient && p.backoffCoefficient >= 1 ? p.backoffCoefficient : 2,
    maximumMs: durationMs(p?.maximumInterval) || initialMs * 100,
    maximumAttempts: num(p?.maximumAttempts),
    nonRetryableErrorTypes: [...(p?.nonRetryableErrorTypes ?? [])],
  };
}

export function retryPolicyObject(r: Retry): Obj {
  return {
    initialInterval: msDuration(r.initialMs),
    backoffCoefficient: r.coefficient,
    maximumInterval: msDuration(r.maximumMs),
    maximumAttempts: r.maximumAttempts,
    nonRetryableErrorTypes: r.nonRetryableErrorTypes,
  };
}

/** temporal.api.enums.v1.RetryState */
export const RetryState = {
  InProgress: 'RETRY_STATE_IN_PROGRESS',
  NonRetryable: 'RETRY_STATE_NON_RETRYABLE_FAILURE',
  Timeout: 'RETRY_STATE_TIMEOUT',
  MaximumAttempts: 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED',
  NotSet: 'RETRY_STATE_RETRY_POLICY_NOT_SET',
  CancelRequested: 'RETRY_STATE_CANCEL_REQUESTED',
} as const;

export type RetryDecision = { retry: true; backoffMs: number } | { retry: false; state: string };

/**
 * Whether attempt `attempt` that failed with `failure` is retried, and after how long.
 * `deadline` is the absolute time after which no attempt may start (0: none).
 */
export function decideRetry(policy: Retry, attempt: number, failure: Obj | undefined, now: number, deadline: number): RetryDecision {
  const app = failure?.applicationFailureInfo;
  if (app?.nonRetryable) return { retry: false, state: RetryState.NonRetryable };
  if (app?.type && policy.nonRetryableErrorTypes.includes(app.type)) return { retry: false, state: RetryState.NonRetryable };
  if (failure?.terminatedFailureInfo || failure?.canceledFailureInfo) return { retry: false, state: RetryState.NonRetryable };
  const timeoutType = failure?.timeoutFailureInfo?.timeoutType;
  if (timeoutType !== undefined && timeoutType !== 'TIMEOUT_TYPE_START_TO_CLOSE' && timeoutType !== 1 && timeoutType !== 'TIMEOUT_TYPE_HEARTBEAT' && timeoutType !== 4) {
    return { retry: false, state: RetryState.Timeout };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return { retry: false, state: RetryState.MaximumAttempts };
  const explicit = durationMs(app?.nextRetryDelay);
  const backoffMs = explicit || Math.min(policy.initialMs * Math.pow(policy.coefficient, attempt - 1), policy.maximumMs);
  if (deadline > 0 && now + backoffMs >= deadline) return { retry: false, state: RetryState.Timeout };
  return { retry: true, backoffMs };
}
