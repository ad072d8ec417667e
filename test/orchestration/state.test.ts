import { SyncState } from '../../src/workflows/state';
import { nextSlot, scheduleOffset, type SyncWorkflowArgs } from '../../src/workflows/types';

// The scheduling rules of the sync workflow, on its plain state class (no server).
const key = { environmentId: 1, environment: 'dev', integration: 'github', connectionId: 'u:1', sync: 'issues', variant: 'base' };
const args = (extra: Partial<SyncWorkflowArgs> = {}): SyncWorkflowArgs => ({ key, frequencyMs: 60_000, ...extra });
const ok = (jobId: number, frequencyMs = 60_000) => ({ outcome: 'success' as const, jobId, startedAt: 0, finishedAt: 0, frequencyMs });
const T0 = 1_700_000_000_000;

test('schedule offsets are stable and within the frequency', () => {
  const offsets = Array.from({ length: 1000 }, (_, i) => scheduleOffset(`sync:dev:github:c${i}:issues`, 60_000));
  expect(scheduleOffset('sync:dev:github:c1:issues', 60_000)).toBe(offsets[1]);
  expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...offsets)).toBeLessThan(60_000);
  // Spread: no ten-second bucket holds more than a third of the connections.
  const buckets = new Array(6).fill(0);
  for (const o of offsets) buckets[Math.floor(o / 10_000)]++;
  expect(Math.max(...buckets)).toBeLessThan(333);
  expect(nextSlot(T0, 60_000, 5_000) % 60_000).toBe(5_000);
  expect(nextSlot(T0, 60_000, 5_000)).toBeGreaterThan(T0);
});

test('a new sync runs at once, then at its next slot', () => {
  const s = new SyncState(args(), T0);
  expect(s.isDue(T0)).toBe(true);
  s.startRun();
  s.finishRun(ok(1), T0 + 1000);
  const next = s.nextRunAt!;
  expect(next).toBeGreaterThan(T0 + 1000);
  expect(next - (T0 + 1000)).toBeLessThanOrEqual(60_000);
  expect(s.isDue(next - 1)).toBe(false);
  expect(s.isDue(next)).toBe(true);
  expect(s.waitMs(next - 10)).toBe(10);
});

test('created paused: no run until resumed or triggered', () => {
  const s = new SyncState(args({ paused: true }), T0);
  expect(s.waitMs(T0)).toBeNull();
  expect(s.isDue(T0 + 10 * 60_000)).toBe(false);
  s.resume(T0 + 5);
  expect(s.isDue(T0 + 5)).toBe(true);
});

test('triggers during a run queue one more run; reset is kept if any asked for it', () => {
  const s = new SyncState(args(), T0);
  s.startRun();
  s.trigger();
  s.trigger({ reset: true });
  s.trigger();
  s.finishRun(ok(1), T0 + 100);
  expect(s.isDue(T0 + 100)).toBe(true);
  expect(s.startRun()).toEqual({ reset: true, emptyCache: false });
  s.finishRun(ok(2), T0 + 200);
  expect(s.isDue(T0 + 200)).toBe(false);
});

test('emptyCache is kept only with reset, and survives later plain triggers', () => {
  const s = new SyncState(args(), T0);
  s.startRun();
  s.trigger({ emptyCache: true });
  s.finishRun(ok(1), T0 + 100);
  expect(s.startRun()).toEqual({ reset: false, emptyCache: false });
  s.trigger({ reset: true, emptyCache: true });
  s.trigger({ reset: false });
  s.finishRun(ok(2), T0 + 200);
  expect(s.startRun()).toEqual({ reset: true, emptyCache: true });
  s.finishRun(ok(3), T0 + 300);
  s.trigger({ reset: true, emptyCache: true });
  const carried = new SyncState(args({ carried: s.carry() }), T0 + 400);
  expect(carried.startRun()).toEqual({ reset: true, emptyCache: true });
});

test('pause stops future runs and drops a queued trigger; the running one finishes; resume runs now', () => {
  const s = new SyncState(args(), T0);
  s.startRun();
  s.trigger();
  s.pause();
  expect(s.status()).toMatchObject({ running: true, paused: true, pendingTrigger: false });
  s.finishRun(ok(1), T0 + 100);
  expect(s.nextRunAt).toBeNull();
  expect(s.isDue(T0 + 3_600_000)).toBe(false);
  s.resume(T0 + 200);
  expect(s.isDue(T0 + 200)).toBe(true);
  expect(s.nextRunAt).not.toBeNull();
});

test('a new frequency applies from now without delaying a due run; the run result brings the deployed one', () => {
  const s = new SyncState(args({ frequencyMs: 3_600_000 }), T0);
  s.startRun();
  s.finishRun(ok(1, 3_600_000), T0);
  s.updateFrequency(1000, T0 + 10);
  expect(s.nextRunAt! - (T0 + 10)).toBeLessThanOrEqual(1000);
  s.startRun();
  s.finishRun(ok(2, 30_000), T0 + 2000);
  expect(s.frequencyMs).toBe(30_000);
});

test('a frequency sent during a run wins over the one that run read when it started', () => {
  const s = new SyncState(args({ frequencyMs: 3_600_000 }), T0);
  s.startRun();
  s.updateFrequency(300_000, T0 + 10);
  s.finishRun(ok(1, 3_600_000), T0 + 20);
  expect(s.frequencyMs).toBe(300_000);
  expect(s.nextRunAt! - (T0 + 20)).toBeLessThanOrEqual(300_000);
  // The next run's result applies again (a deploy changed `runs`).
  s.startRun();
  s.finishRun(ok(2, 600_000), T0 + 400_000);
  expect(s.frequencyMs).toBe(600_000);
});

test('continue-as-new carries everything, including a queued trigger and a pause', () => {
  const s = new SyncState(args(), T0);
  s.startRun();
  s.finishRun(ok(7), T0 + 50);
  s.trigger({ reset: true });
  const carried = new SyncState(args({ carried: s.carry() }), T0 + 60);
  expect(carried.startRun()).toEqual({ reset: true, emptyCache: false });
  expect(carried.status()).toMatchObject({ runs: 1, lastRun: { jobId: 7, success: true } });
  s.pause();
  const paused = new SyncState(args({ carried: s.carry() }), T0 + 70);
  expect(paused.isDue(T0 + 10_000_000)).toBe(false);
  expect(paused.paused).toBe(true);
});

test('a frequency that is not a positive finite number schedules nothing: the workflow waits for a trigger, it never spins', () => {
  for (const frequencyMs of [0, -1, NaN, Infinity]) {
    const s = new SyncState(args({ frequencyMs }), T0);
    expect(s.isDue(T0)).toBe(true);
    s.startRun();
    s.finishRun(ok(1, frequencyMs), T0 + 1000);
    expect(s.nextRunAt).toBeNull();
    expect(s.waitMs(T0 + 1000)).toBeNull();
    s.trigger();
    expect(s.waitMs(T0 + 2000)).toBe(0);
    expect(s.isDue(T0 + 2000)).toBe(true);
  }
  // A running sync sent such a frequency keeps its schedule.
  const s = new SyncState(args(), T0);
  s.startRun();
  s.finishRun(ok(1), T0 + 1000);
  const next = s.nextRunAt;
  for (const ms of [0, NaN, Infinity]) s.updateFrequency(ms, T0 + 2000);
  expect(s.nextRunAt).toBe(next);
  expect(s.frequencyMs).toBe(60_000);
});
