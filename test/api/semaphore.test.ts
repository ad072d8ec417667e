import { Semaphore } from '../../src/api/semaphore';

/** A promise with its resolve, to hold a task open until the test lets it finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('at most `permits` tasks run at once; the others start in arrival order as permits free up', async () => {
  const semaphore = new Semaphore(2);
  const gates = Array.from({ length: 5 }, gate);
  const started: number[] = [];
  const done = gates.map((g, i) =>
    semaphore.run(async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([0, 1]);
  gates[1]!.open();
  await done[1];
  await new Promise((r) => setImmediate(r));
  expect(started).toEqual([0, 1, 2]);
  gates.forEach((g) => g.open());
  expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
  expect(started).toEqual([0, 1, 2, 3, 4]);
});

test('a task that throws releases its permit and the error reaches its caller', async () => {
  const semaphore = new Semaphore(1);
  await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  await expect(semaphore.run(async () => 'next')).resolves.toBe('next');
});

test('permits must be a whole number from 1', () => {
  expect(() => new Semaphore(0)).toThrow(/permits/);
  expect(() => new Semaphore(1.5)).toThrow(/permits/);
});
