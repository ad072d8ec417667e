import { condition, getExternalWorkflowHandle, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
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
