import { CancellationScope, condition, getExternalWorkflowHandle, isCancellation, proxyLocalActivities, setHandler, sleep, startChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities';
import { accumulator, addSignal } from '../workflows';
import { goSignal } from '../workflows/updates';

// The differential test runs the engine tests' workflows, plus the ones below.
export * from '../workflows';

/**
 * A parent whose every step waits for the test, so that each server writes the same events in the
 * same order: starts `accumulator` as its child, waits for `go`, signals the child as an external
 * workflow, and returns the child's result (the test signals the child's `finish`).
 */
export async function drivenParent(n: number): Promise<number> {
  const child = await startChild(accumulator, { workflowId: `${workflowInfo().workflowId}-child` });
  let go = false;
  setHandler(goSignal, () => {
    go = true;
  });
  await condition(() => go);
  await getExternalWorkflowHandle(child.workflowId).signal(addSignal, n);
  return child.result();
}

/**
 * A timer that falls due while the workflow task that cancels it runs: after `go`, a local activity
 * of `workMs` holds that task open past the timer's `timerMs`, then the workflow cancels the timer and
 * returns how it ended. The cancel wins: the server drops the TimerFired the workflow never saw.
 */
export async function cancelDueTimer(timerMs: number, workMs: number): Promise<string> {
  let go = false;
  setHandler(goSignal, () => {
    go = true;
  });
  const scope = new CancellationScope();
  const timer = scope.run(() => sleep(timerMs)).then(
    () => 'fired',
    (err: unknown) => (isCancellation(err) ? 'cancelled' : String(err)),
  );
  await condition(() => go);
  await proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10s' }).sleepy('due-timer', 'plain', workMs);
  scope.cancel();
  return timer;
}
