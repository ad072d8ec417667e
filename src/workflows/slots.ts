import { sleep } from '@temporalio/workflow';
import { busyWaitMs, type SyncRunBusy } from './types';

/**
 * `attempt()` until it is not refused as busy (its environment or connection has as many runs
 * going as it may): between refusals the workflow waits on a timer, holding no worker slot.
 */
export async function whenSlotFree<T>(attempt: () => Promise<T | SyncRunBusy>): Promise<T> {
  for (let waits = 0; ; waits++) {
    const result = await attempt();
    if (!isBusy(result)) return result;
    await sleep(busyWaitMs(waits, Math.random()));
  }
}

function isBusy(result: unknown): result is SyncRunBusy {
  return typeof result === 'object' && result !== null && (result as { outcome?: unknown }).outcome === 'busy';
}
