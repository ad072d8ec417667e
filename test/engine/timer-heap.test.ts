import { TimerHeap } from '../../src/engine/timer-heap';
import type { TimerRow } from '../../src/engine/store';

const row = (id: number, fireAt: number): TimerRow => ({ id, run_id: `r${id}`, fire_at: fireAt, kind: 'user', ref: {} });

test('timers come out by due time, whatever order they went in (ties included)', () => {
  const heap = new TimerHeap();
  // A fixed pseudo-random sequence with many equal due times.
  let seed = 7;
  const rows = Array.from({ length: 2000 }, (_, i) => row(i, (seed = (seed * 48271) % 2147483647) % 500));
  for (const r of rows) heap.push(r);
  expect(heap.size).toBe(2000);
  const out: number[] = [];
  // Pushing while popping, as the engine does when a firing adds timers.
  for (let i = 0; heap.size; i++) {
    out.push(heap.pop()!.fire_at);
    if (i === 100) heap.push(row(5000, out.at(-1)!));
  }
  expect(out).toHaveLength(2001);
  expect(out).toEqual([...out].sort((a, b) => a - b));
  expect(heap.pop()).toBeUndefined();
});

test('peek shows the earliest without taking it; clear empties the heap', () => {
  const heap = new TimerHeap();
  heap.push(row(1, 30));
  heap.push(row(2, 10));
  heap.push(row(3, 20));
  expect(heap.peek()).toMatchObject({ id: 2 });
  expect(heap.size).toBe(3);
  heap.clear();
  expect(heap.peek()).toBeUndefined();
});
