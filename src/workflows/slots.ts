import { condition, setHandler, defineSignal } from '@temporalio/workflow';
import { busyWaitMs, SLOT_FREE_SIGNAL, type RunBusy, type SyncRunBusy } from './types';

const slotFreeSignal = defineSignal(SLOT_FREE_SIGNAL);

/**
 * `attempt()` until it is not refused as busy (its environment or connection has as many runs
 * going as it may). After a refusal the workflow waits, holding no worker slot, until the worker
 * wakes it with a place kept for it (a slot, or a place in its queue), or for busyWaitMs in case no wake-up comes.
 */
export async function whenSlotFree<T>(attempt: () => Promise<T | SyncRunBusy | RunBusy>): Promise<T> {
  let woken = false;
  setHandler(slotFreeSignal, () => void (woken = true));
  for (let waits = 0; ; waits++) {
    // Cleared before the attempt: the wake-up can arrive before the refusal's result does.
    woken = false;
    const result = await attempt();
    if (!isBusy(result)) return result;
    await condition(() => woken, busyWaitMs(waits, Math.random()));
  }
}

function isBusy(result: unknown): result is SyncRunBusy | RunBusy {
  if (typeof result !== 'object' || result === null) return false;
  return (result as { outcome?: unknown }).outcome === 'busy' || typeof (result as { busy?: unknown }).busy === 'string';
}
