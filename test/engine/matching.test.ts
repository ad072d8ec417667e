import { Matching } from '../../src/engine/matching';

const task = { kind: 'workflow' as const, runId: 'r', scheduledId: 2, started: true };

test('a claimed poller gets the task handed to it after the commit', async () => {
  const m = new Matching();
  const waiting = m.take('ns', 'workflow', 'q', 5000, new AbortController().signal, 'w1');
  const poller = m.claim('ns', 'workflow', 'q')!;
  expect(poller.identity).toBe('w1');
  expect(m.claim('ns', 'workflow', 'q')).toBeUndefined();
  m.handoff('ns', 'workflow', 'q', poller, task);
  await expect(waiting).resolves.toEqual(task);
});

test('a task claimed for a poller that went away waits in the queue for the next one', async () => {
  const m = new Matching();
  const ac = new AbortController();
  const waiting = m.take('ns', 'workflow', 'q', 5000, ac.signal, 'w1');
  const poller = m.claim('ns', 'workflow', 'q')!;
  ac.abort();
  await expect(waiting).resolves.toBeUndefined();
  m.handoff('ns', 'workflow', 'q', poller, task);
  expect(m.backlog('ns', 'workflow', 'q')).toBe(1);
  await expect(m.take('ns', 'workflow', 'q', 5000, new AbortController().signal, 'w2')).resolves.toEqual(task);
});

test('a released claim puts the poller first in line again; a finished one is not put back', async () => {
  const m = new Matching();
  const first = m.take('ns', 'workflow', 'q', 5000, new AbortController().signal, 'w1');
  const second = m.take('ns', 'workflow', 'q', 5000, new AbortController().signal, 'w2');
  const claimed = m.claim('ns', 'workflow', 'q')!;
  m.release('ns', 'workflow', 'q', claimed);
  m.add('ns', 'workflow', 'q', task);
  await expect(first).resolves.toEqual(task);
  m.close();
  await expect(second).resolves.toBeUndefined();
  m.release('ns', 'workflow', 'q', claimed);
  expect(m.claim('ns', 'workflow', 'q')).toBeUndefined();
});
