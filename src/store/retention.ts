import type { Store } from './index';

/**
 * Deletes what is kept only for a while: execution logs, finished webhook deliveries and received
 * provider payloads older than `retentionDays` (SYNCLINE_LOG_RETENTION_DAYS). Runs a second after
 * start-up, then every `everyMs` (hourly); failures go to `onError` and are retried at the next tick.
 * Returns the function that stops it.
 */
export function startRetention(store: Store, retentionDays: number, onError: (err: unknown) => void, everyMs = 60 * 60_000): () => void {
  const run = () => void Promise.all([store.logs.prune(retentionDays), store.webhooks.prune(retentionDays)]).catch(onError);
  const first = setTimeout(run, 1000);
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
