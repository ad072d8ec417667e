import type { Store } from '../../src/store';
import { Outbox, OUTBOX_MAX_ATTEMPTS } from '../../src/store/outbox';
import { storeWithGithub } from '../helpers/db';

/** The lifecycle outbox: connections written become events, drained by lease (nothing lost when a drain dies). */
let store: Store & { drop(): Promise<void> };
let envId: number;

beforeAll(async () => {
  ({ store, envId } = await storeWithGithub());
});

afterAll(() => store.drop());

const connect = (connectionId: string) => store.connections.upsert(envId, 'github', { connectionId, credentials: { type: 'API_KEY', apiKey: 'k' } });
const pending = async () => (await store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_lifecycle_events')).rows[0]!.n;

test('a taken event stays in the outbox until it is done, and is hidden from other drains meanwhile', async () => {
  await connect('a');
  const [event] = await store.jobs.takeEvents(10);
  expect(event).toMatchObject({ kind: 'connection_created', environment: 'dev', integrationKey: 'github', connectionId: 'a', attempts: 0 });
  expect(await store.jobs.takeEvents(10)).toEqual([]);
  expect(await pending()).toBe(1); // a drain dying now loses nothing
  await store.jobs.eventDone(event!);
  expect(await pending()).toBe(0);
});

test('an event whose drain died is due again when its lease ends; a failed one comes back later, one attempt more', async () => {
  await connect('b');
  const outbox = new Outbox<{ id: number; attempts: number; connectionId: string }>(store.db, 'sync_lifecycle_events', 't.id::int AS id, t.attempts, t.connection_id AS "connectionId"');
  const [taken] = await outbox.take(10, 200);
  expect(taken).toMatchObject({ connectionId: 'b', attempts: 0 });
  expect(await outbox.take(10, 200)).toEqual([]);
  await new Promise((r) => setTimeout(r, 300));
  const [again] = await outbox.take(10, 200);
  expect(again!.id).toBe(taken!.id);

  await outbox.retry(again!.id, 300);
  expect(await outbox.take(10)).toEqual([]);
  await new Promise((r) => setTimeout(r, 400));
  const [retried] = await store.jobs.takeEvents(10);
  expect(retried).toMatchObject({ id: taken!.id, connectionId: 'b', attempts: 1 });
  await store.jobs.eventDone(retried!);
  expect(await pending()).toBe(0);
});

test('an event that failed OUTBOX_MAX_ATTEMPTS times is set aside with its last error; revived, it is due again with a fresh count', async () => {
  await connect('doomed');
  const [event] = await store.jobs.takeEvents(10);
  expect(event).toMatchObject({ connectionId: 'doomed' });
  for (let attempt = 1; attempt < OUTBOX_MAX_ATTEMPTS; attempt++) await store.jobs.retryEvent(event!, 0, `failure ${attempt}`);
  expect((await store.jobs.takeEvents(10)).map((e) => e.attempts)).toEqual([OUTBOX_MAX_ATTEMPTS - 1]);
  await store.jobs.retryEvent(event!, 0, 'failure 20');
  expect(await store.jobs.takeEvents(10)).toEqual([]);
  expect(await pending()).toBe(1);

  const dead = await store.jobs.deadEvents(envId);
  expect(dead).toEqual([
    {
      id: event!.id,
      attempts: OUTBOX_MAX_ATTEMPTS,
      lastError: 'failure 20',
      createdAt: expect.any(Date),
      deadAt: expect.any(Date),
      event: { kind: 'connection_created', integration_key: 'github', connection_id: 'doomed' },
    },
  ]);
  expect(await store.authEvents.dead(envId)).toEqual([]);
  const prod = (await store.environments.byName('prod'))!.id;
  expect(await store.jobs.deadEvents(prod)).toEqual([]);
  expect(await store.jobs.reviveEvent(prod, event!.id)).toBe(false);

  expect(await store.jobs.reviveEvent(envId, event!.id)).toBe(true);
  expect(await store.jobs.reviveEvent(envId, event!.id)).toBe(false);
  const [revived] = await store.jobs.takeEvents(10);
  expect(revived).toMatchObject({ id: event!.id, attempts: 0 });
  expect(await store.jobs.deadEvents(envId)).toEqual([]);
  await store.jobs.eventDone(revived!);
});
