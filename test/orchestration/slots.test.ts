import { ActivityFailure, ApplicationFailure, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { RunSlots, SLOT_OFFER_MS } from '../../src/activities/slots';
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

test('waits for a wake-up go from about 30 s to 5 min at most, with jitter', () => {
  expect(busyWaitMs(0, 0.5)).toBe(30_000);
  expect(busyWaitMs(0, 0)).toBe(22_500);
  expect(busyWaitMs(2, 0.5)).toBe(120_000);
  expect(busyWaitMs(50, 0.5)).toBe(300_000);
  expect(busyWaitMs(50, 1)).toBe(375_000);
});

describe('RunSlots line of refused workflows', () => {
  /** A waiter whose wake-ups are recorded; `fails` makes its wake-up reject (its workflow ended). */
  const waiter = (id: string, woken: string[], fails = false) => ({ id, wake: async () => {
    if (fails) throw new Error('workflow ended');
    woken.push(id);
  } });
  const holding = (slots: RunSlots) => {
    const releases: Array<() => void> = [];
    const hold = (o: ReturnType<typeof owner>, w?: ReturnType<typeof waiter>) => slots.run(o, () => new Promise<string>((resolve) => releases.push(() => resolve('done'))), busy, w);
    return { hold, release: async (i = 0) => { releases.splice(i, 1)[0]!(); await new Promise((r) => setImmediate(r)); } };
  };

  test('a freed slot is kept for the first refused workflow, woken once; a newcomer cannot take it; the woken one runs in it', async () => {
    const slots = new RunSlots({ perEnvironment: 2, perConnection: 2 });
    const woken: string[] = [];
    const { hold, release } = holding(slots);
    void hold(owner(1, 'a'));
    void hold(owner(1, 'b'));
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('w1', woken))).toEqual({ busy: expect.stringContaining('environment') });
    expect(await slots.run(owner(1, 'd'), async () => 'ran', busy, waiter('w2', woken))).toEqual({ busy: expect.stringContaining('environment') });
    // Asking again while in line keeps the place.
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('w1', woken))).toEqual({ busy: expect.any(String) });
    expect(slots.waiting(1)).toBe(2);

    await release();
    expect(woken).toEqual(['w1']);
    expect(await slots.run(owner(1, 'e'), async () => 'ran', busy, waiter('w3', woken))).toEqual({ busy: expect.stringContaining('environment') });
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('w1', woken))).toBe('ran');
    // w1's run ended: its slot goes to w2, then w3 when the other run ends.
    await new Promise((r) => setImmediate(r));
    expect(woken).toEqual(['w1', 'w2']);
    await release();
    expect(woken).toEqual(['w1', 'w2', 'w3']);
    expect(slots.waiting(1)).toBe(0);
  });

  test('a waiter over its connection cap lets the next one fitting the freed slot go first; an unreachable waiter or an offer not taken passes the slot on', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const slots = new RunSlots({ perEnvironment: 2, perConnection: 1 });
      const woken: string[] = [];
      const { hold, release } = holding(slots);
      void hold(owner(1, 'a'));
      void hold(owner(1, 'b'));
      expect(await slots.run(owner(1, 'a'), async () => 'ran', busy, waiter('on-a', woken))).toEqual({ busy: expect.any(String) });
      expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('gone', woken, true))).toEqual({ busy: expect.any(String) });
      expect(await slots.run(owner(1, 'd'), async () => 'ran', busy, waiter('on-d', woken))).toEqual({ busy: expect.any(String) });

      // b's slot: 'on-a' still has a run of its connection going; 'gone' cannot be woken; 'on-d' gets it.
      await release(1);
      await new Promise((r) => setImmediate(r));
      expect(woken).toEqual(['on-d']);
      // 'on-d' never comes for it: once the offer lapses, a's slot freeing gives 'on-a' its turn.
      jest.advanceTimersByTime(SLOT_OFFER_MS);
      expect(slots.waiting(1)).toBe(1);
      await release(0);
      expect(woken).toEqual(['on-d', 'on-a']);
      expect(await slots.run(owner(1, 'a'), async () => 'ran', busy, waiter('on-a', woken))).toBe('ran');
    } finally {
      jest.useRealTimers();
    }
  });
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
