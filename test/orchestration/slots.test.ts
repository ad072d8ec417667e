import { ActivityFailure, ApplicationFailure, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { RunSlots } from '../../src/activities/slots';
import { unrecordedActionEnd } from '../../src/workflows/failures';
import { busyWaitMs } from '../../src/workflows/types';

const owner = (environmentId: number, connectionId: string) => ({ environmentId, integration: 'fake', connectionId });
const busy = (reason: string) => ({ busy: reason });

describe('RunSlots', () => {
  test('refuses at once past a cap, never waits; other environments and connections go on; a slot frees when its run ends, thrown or not', async () => {
    const slots = new RunSlots({ perEnvironment: 3, perConnection: 2 });
    const releases: Array<() => void> = [];
    const hold = (o: ReturnType<typeof owner>) => slots.run(o, () => new Promise<string>((resolve) => releases.push(() => resolve('done'))), busy);
    const running = [hold(owner(1, 'a')), hold(owner(1, 'a'))];
    expect(await slots.run(owner(1, 'a'), async () => 'ran', busy)).toEqual({ busy: 'its connection has 2 runs going (at most 2 at once)' });
    running.push(hold(owner(1, 'b')));
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy)).toEqual({ busy: 'its environment has 3 runs going (at most 3 at once)' });
    expect(await slots.run(owner(2, 'a'), async () => 'ran', busy)).toBe('ran');

    releases.shift()!();
    expect(await running[0]).toBe('done');
    await expect(slots.run(owner(1, 'a'), async () => Promise.reject(new Error('boom')), busy)).rejects.toThrow('boom');
    expect(await slots.run(owner(1, 'a'), async () => 'ran', busy)).toBe('ran');
    for (const release of releases) release();
    await Promise.all(running);
  });
});

test('busy waits grow from about 0.5 s to 5 s at most, with jitter', () => {
  expect(busyWaitMs(0, 0.5)).toBe(500);
  expect(busyWaitMs(0, 0)).toBe(375);
  expect(busyWaitMs(2, 0.5)).toBe(1125);
  expect(busyWaitMs(50, 0.5)).toBe(5000);
  expect(busyWaitMs(50, 1)).toBe(6250);
});

test('how a run no attempt recorded ends, by what Temporal says', () => {
  const activity = (cause: Error) => new ActivityFailure('activity failed', 'runAction', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);
  expect(unrecordedActionEnd(activity(new TimeoutFailure(undefined, undefined, TimeoutType.HEARTBEAT)))).toEqual({
    type: 'action_failed',
    message: 'The action was lost: the process running it stopped answering (it died or hung) and no attempts were left',
  });
  expect(unrecordedActionEnd(activity(new TimeoutFailure(undefined, undefined, TimeoutType.START_TO_CLOSE))).type).toBe('script_timeout');
  expect(unrecordedActionEnd(activity(new TimeoutFailure(undefined, undefined, TimeoutType.SCHEDULE_TO_START)))).toEqual({ type: 'action_failed', message: 'The action was not started: no worker took it in time' });
  expect(unrecordedActionEnd(activity(ApplicationFailure.create({ message: 'connect ECONNREFUSED 127.0.0.1:5432' })))).toEqual({
    type: 'action_failed',
    message: 'The action failed before recording an outcome and no attempts were left: connect ECONNREFUSED 127.0.0.1:5432',
  });
  expect(unrecordedActionEnd(new TerminatedFailure('by an operator')).type).toBe('action_cancelled');
  // A client's WorkflowFailedError of a workflow that timed out.
  const timedOut = Object.assign(new Error('Workflow execution timed out'), { name: 'WorkflowFailedError', cause: new TimeoutFailure(undefined, undefined, TimeoutType.START_TO_CLOSE) });
  expect(unrecordedActionEnd(timedOut).type).toBe('script_timeout');
});
