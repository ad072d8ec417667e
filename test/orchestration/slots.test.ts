import { ActivityFailure, ApplicationFailure, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { queuedRuns, RunSlots, SLOT_OFFER_MS } from '../../src/activities/slots';
import { unrecordedActionEnd } from '../../src/workflows/failures';
import { busyWaitMs } from '../../src/workflows/types';

const owner = (environmentId: number, connectionId: string) => ({ environmentId, integration: 'fake', connectionId });
const busy = (reason: string) => ({ busy: reason });
const tick = () => new Promise((r) => setImmediate(r));

/** Runs that hold their slot until released, in the order they started. */
function holding(slots: RunSlots) {
  const releases: Array<() => void> = [];
  const hold = (o: ReturnType<typeof owner>, w?: ReturnType<typeof waiter>) => slots.run(o, () => new Promise<string>((resolve) => releases.push(() => resolve('done'))), busy, w);
  return { hold, release: async (i = 0) => { releases.splice(i, 1)[0]!(); await tick(); }, held: () => releases.length };
}

/** A waiter whose wake-ups are recorded; `fails` makes its wake-up reject (its workflow ended). */
function waiter(id: string, woken: string[], fails = false, patienceMs?: number) {
  return { id, patienceMs, wake: async () => {
    if (fails) throw new Error('workflow ended');
    woken.push(id);
  } };
}

describe('RunSlots', () => {
  test('past a cap a run waits in the worker while the queue has room, else is refused at once; other environments go on; a slot frees when its run ends, thrown or not', async () => {
    const slots = new RunSlots({ perEnvironment: 3, perConnection: 2, queued: 1 });
    const { hold, release } = holding(slots);
    const running = [hold(owner(1, 'a')), hold(owner(1, 'a'))];
    // Its connection at its cap: refused, not queued (the queue's place would wait on one connection).
    expect(await slots.run(owner(1, 'a'), async () => 'ran', busy)).toEqual({ busy: 'its connection has 2 runs going (at most 2 at once)' });
    running.push(hold(owner(1, 'b')));
    const queued = slots.run(owner(1, 'c'), async () => 'queued ran', busy);
    expect(await slots.run(owner(1, 'd'), async () => 'ran', busy)).toEqual({ busy: 'its environment has 3 runs going (at most 3 at once)' });
    expect(await slots.run(owner(2, 'a'), async () => 'ran', busy)).toBe('ran');

    await release();
    expect(await running[0]).toBe('done');
    expect(await queued).toBe('queued ran');
    await expect(slots.run(owner(1, 'a'), async () => Promise.reject(new Error('boom')), busy)).rejects.toThrow('boom');
    expect(await slots.run(owner(1, 'a'), async () => 'ran', busy)).toBe('ran');
    await release();
    await release();
    await Promise.all(running);
  });
});

test('the worker sizes the queue from its slots: half of what the environment leaves to others, at most its cap, at least one', () => {
  expect(queuedRuns(200, 50)).toBe(50);
  expect(queuedRuns(100, 50)).toBe(25);
  expect(queuedRuns(6, 4)).toBe(1);
  expect(queuedRuns(50, 50)).toBe(1);
});

test('waits for a wake-up go from about 30 s to 5 min at most, with jitter', () => {
  expect(busyWaitMs(0, 0.5)).toBe(30_000);
  expect(busyWaitMs(0, 0)).toBe(22_500);
  expect(busyWaitMs(2, 0.5)).toBe(120_000);
  expect(busyWaitMs(50, 0.5)).toBe(300_000);
  expect(busyWaitMs(50, 1)).toBe(375_000);
});

describe('RunSlots line of refused workflows', () => {
  test('a freed slot goes at once to the queued run; the freed place is kept for the first refused workflow, woken once; a newcomer cannot take a kept place, but a slot left free meanwhile does not stay idle', async () => {
    const slots = new RunSlots({ perEnvironment: 2, perConnection: 2, queued: 1 });
    const woken: string[] = [];
    const { hold, release, held } = holding(slots);
    void hold(owner(1, 'a'));
    void hold(owner(1, 'b'));
    void hold(owner(1, 'q'), waiter('q', woken));
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('w1', woken))).toEqual({ busy: expect.stringContaining('environment') });
    expect(await slots.run(owner(1, 'd'), async () => 'ran', busy, waiter('w2', woken))).toEqual({ busy: expect.stringContaining('environment') });
    // Asking again while in line keeps the place.
    expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('w1', woken))).toEqual({ busy: expect.any(String) });
    expect(slots.waiting(1)).toBe(2);

    await release();
    expect(held()).toBe(2); // the queued run took the slot at once
    expect(woken).toEqual(['w1']);
    expect(await slots.run(owner(1, 'e'), async () => 'ran', busy, waiter('w3', woken))).toEqual({ busy: expect.stringContaining('environment') });
    // w1 comes back: no slot is free, it waits in its kept place and runs in the next slot.
    const w1 = slots.run(owner(1, 'c'), async () => 'w1 ran', busy, waiter('w1', woken));
    await release();
    expect(await w1).toBe('w1 ran');
    await tick();
    expect(woken).toEqual(['w1', 'w2', 'w3']); // the queue's place w1 left, then the slot it ran in
    expect(slots.waiting(1)).toBe(0);
    expect(await slots.run(owner(1, 'f'), async () => 'ran', busy)).toBe('ran');
    expect(await slots.run(owner(1, 'd'), async () => 'w2 ran', busy, waiter('w2', woken))).toBe('w2 ran');
    await release();
  });

  test('a woken workflow that a newcomer got ahead of, with the queue full, keeps the head of the line', async () => {
    const slots = new RunSlots({ perEnvironment: 1, perConnection: 1, queued: 1 });
    const woken: string[] = [];
    const { hold, release } = holding(slots);
    void hold(owner(1, 'a'));
    void hold(owner(1, 'q'));
    for (const id of ['w1', 'w2']) expect(await slots.run(owner(1, id), async () => 'ran', busy, waiter(id, woken))).toEqual({ busy: expect.any(String) });
    await release();
    await release();
    expect(woken).toEqual(['w1', 'w2']); // the slot and the queue's place
    void hold(owner(1, 'n')); // a newcomer takes the free slot before they come
    const w1 = hold(owner(1, 'w1'), waiter('w1', woken)); // queued in its kept place
    expect(await slots.run(owner(1, 'x'), async () => 'ran', busy, waiter('x', woken))).toEqual({ busy: expect.any(String) });
    expect(await slots.run(owner(1, 'w2'), async () => 'ran', busy, waiter('w2', woken))).toEqual({ busy: expect.any(String) });
    expect(slots.waiting(1)).toBe(2);
    await release(); // n ends: w1 runs, the queue's place goes to w2, not x
    expect(woken).toEqual(['w1', 'w2', 'w2']);
    await release();
    expect(await w1).toBe('done');
  });

  test('a waiter over its connection cap lets the next one go first; an unreachable waiter or an offer not taken passes the place on; a queued run out of patience waits in its workflow', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      const slots = new RunSlots({ perEnvironment: 2, perConnection: 1, queued: 1 });
      const woken: string[] = [];
      const { hold, release } = holding(slots);
      void hold(owner(1, 'a'));
      void hold(owner(1, 'b'));
      const patient = slots.run(owner(1, 'p'), async () => 'ran', busy, waiter('patient', woken, false, 5_000));
      expect(await slots.run(owner(1, 'a'), async () => 'ran', busy, waiter('on-a', woken))).toEqual({ busy: expect.any(String) });
      expect(await slots.run(owner(1, 'c'), async () => 'ran', busy, waiter('gone', woken, true))).toEqual({ busy: expect.any(String) });
      expect(await slots.run(owner(1, 'd'), async () => 'ran', busy, waiter('on-d', woken))).toEqual({ busy: expect.any(String) });

      // No slot frees for its patience: the queued run is refused and joins the line; nobody is woken for its place.
      jest.advanceTimersByTime(5_000);
      expect(await patient).toEqual({ busy: expect.stringContaining('environment') });
      expect(woken).toEqual([]);
      expect(slots.waiting(1)).toBe(4);

      // b's slot and the queue's place: 'on-a' still has a run of its connection going; 'gone' cannot be woken; 'on-d' and 'patient' get them.
      await release(1);
      await tick();
      expect(woken).toEqual(['on-d', 'patient']);
      expect(await slots.run(owner(1, 'p'), async () => 'patient ran', busy, waiter('patient', woken))).toBe('patient ran');
      // 'on-d' never comes: its place lapses; 'on-a' fits only once a's run ends.
      jest.advanceTimersByTime(SLOT_OFFER_MS);
      expect(woken).toEqual(['on-d', 'patient']);
      await release(0);
      expect(woken).toEqual(['on-d', 'patient', 'on-a']);
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
