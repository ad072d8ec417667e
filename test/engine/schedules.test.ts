import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client, Connection, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { compileSpec } from '../../src/engine/schedule-spec';
import { harness, type Harness } from './harness';
import { engineProcess } from './process';
import { greet, sleeper } from './workflows';

jest.setTimeout(60_000);

const id = (name: string) => `${name}-${randomUUID()}`;
const at = (iso: string) => Date.parse(iso);
/** A Timestamp (the generated types want int64 as Long; protobufjs takes numbers). */
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }) as never;

/** Describes the schedule until `ok` holds of it (the scheduler acts in the background). */
async function until(handle: ScheduleHandle, ok: (d: ScheduleDescription) => boolean): Promise<ScheduleDescription> {
  for (;;) {
    const d = await handle.describe();
    if (ok(d)) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('schedule specs', () => {
  const times = (spec: object, from: string, n: number) => {
    const c = compileSpec(spec);
    const out: string[] = [];
    for (let t = c.next(at(from)); t !== undefined && out.length < n; t = c.next(t)) out.push(new Date(t).toISOString());
    return out;
  };

  test('intervals are aligned to the epoch plus their phase', () => {
    expect(times({ interval: [{ interval: { seconds: 3600 }, phase: { seconds: 300 } }] }, '2026-01-01T10:10:00Z', 2)).toEqual(['2026-01-01T11:05:00.000Z', '2026-01-01T12:05:00.000Z']);
  });

  test('structured calendars default to second, minute and hour 0 and every day; exclusions and end time apply', () => {
    const weekdaysAtNine = { hour: [{ start: 9 }], minute: [{ start: 30 }], dayOfWeek: [{ start: 1, end: 5 }] };
    // 2026-01-02 is a Friday.
    expect(times({ structuredCalendar: [weekdaysAtNine] }, '2026-01-02T10:00:00Z', 2)).toEqual(['2026-01-05T09:30:00.000Z', '2026-01-06T09:30:00.000Z']);
    const spec = { structuredCalendar: [weekdaysAtNine], excludeStructuredCalendar: [{ dayOfMonth: [{ start: 5 }], hour: [{ start: 0, end: 23 }], minute: [{ start: 0, end: 59 }] }], endTime: ts(at('2026-01-07T00:00:00Z')) };
    expect(times(spec, '2026-01-02T10:00:00Z', 5)).toEqual(['2026-01-06T09:30:00.000Z']);
  });

  test('cron strings and a start time', () => {
    expect(times({ cronString: ['15 */6 * * *'], startTime: ts(at('2026-03-01T00:00:00Z')) }, '2026-01-01T00:00:00Z', 2)).toEqual(['2026-03-01T00:15:00.000Z', '2026-03-01T06:15:00.000Z']);
  });

  test('specs the engine cannot follow are refused', () => {
    expect(() => compileSpec({ timezoneName: 'Europe/Paris' })).toThrow(/only UTC/);
    expect(() => compileSpec({ interval: [{ interval: { nanos: 5e8 } }] })).toThrow(/at least 1 second/);
    expect(() => compileSpec({ structuredCalendar: [{ hour: [{ start: 25 }] }] })).toThrow(/hour/);
    expect(() => compileSpec({ cronString: ['not a cron'] })).toThrow(/CronSchedule/);
  });

  test('jitter is a stable share below its bound', () => {
    const c = compileSpec({ interval: [{ interval: { seconds: 60 } }], jitter: { seconds: 10 } });
    const j = c.jitter('s', 60_000);
    expect(j).toBe(c.jitter('s', 60_000));
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(10_000);
  });
});

describe('schedules', () => {
  let h: Harness;
  const tq = 'engine-schedules';

  beforeAll(async () => {
    h = await harness(tq);
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.close();
  });

  test('an interval schedule starts workflows named after it and their nominal times; update changes what it starts', async () => {
    const handle = await h.client.schedule.create({
      scheduleId: id('every-second'),
      spec: { intervals: [{ every: '1s' }] },
      action: { type: 'startWorkflow', workflowType: greet, args: ['first'], taskQueue: tq, workflowId: 'greeting' },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
    });
    const d = await until(handle, (x) => x.info.recentActions.length >= 2);
    const action = d.info.recentActions[0];
    expect(action.action.workflow.workflowId).toBe(`greeting-${action.scheduledAt.toISOString().slice(0, 19)}Z`);
    expect(action.scheduledAt.getTime() % 1000).toBe(0);
    expect(await h.client.workflow.getHandle(action.action.workflow.workflowId).result()).toBe('Hello, first!');
    expect(d.info.nextActionTimes.length).toBe(10);
    await handle.update((prev) => ({ ...prev, action: { type: 'startWorkflow', workflowType: greet, args: ['second'], taskQueue: tq, workflowId: 'greeting2' } }));
    const later = await until(handle, (x) => x.info.recentActions.some((a) => a.action.workflow.workflowId.startsWith('greeting2-')));
    const second = later.info.recentActions.find((a) => a.action.workflow.workflowId.startsWith('greeting2-'))!;
    expect(await h.client.workflow.getHandle(second.action.workflow.workflowId).result()).toBe('Hello, second!');
    const listed = [];
    for await (const s of h.client.schedule.list()) listed.push(s.scheduleId);
    expect(listed).toContain(handle.scheduleId);
    await handle.delete();
    await expect(handle.describe()).rejects.toThrow(ScheduleNotFoundError);
  });

  test('a started workflow carries its nominal time and schedule as search attributes, which list filters find', async () => {
    const scheduleId = id('attributes');
    const handle = await h.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: greet, args: ['x'], taskQueue: tq },
      state: { paused: true, triggerImmediately: true },
    });
    const action = (await until(handle, (x) => x.info.recentActions.length === 1)).info.recentActions[0];
    const workflowId = action.action.workflow.workflowId;
    const nominal = new Date(Math.floor(action.scheduledAt.getTime() / 1000) * 1000);
    const d = await h.client.workflow.getHandle(workflowId).describe();
    expect(d.typedSearchAttributes.get(defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD))).toBe(scheduleId);
    expect(d.typedSearchAttributes.get(defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME))).toEqual(nominal);
    const listed = async (query: string) => {
      const ids = [];
      for await (const w of h.client.workflow.list({ query })) ids.push(w.workflowId);
      return ids;
    };
    expect(await listed(`TemporalScheduledById = '${scheduleId}'`)).toEqual([workflowId]);
    expect(await listed(`TemporalScheduledById = '${scheduleId}' AND TemporalScheduledStartTime = '${nominal.toISOString()}'`)).toEqual([workflowId]);
    expect(await listed(`TemporalScheduledById = '${scheduleId}' AND TemporalScheduledStartTime > '${nominal.toISOString()}'`)).toEqual([]);
    await handle.delete();
  });

  test('overlap policies: skip while one runs, buffer one and drop the rest, start the buffered one when the running one closes', async () => {
    const skip = await h.client.schedule.create({
      scheduleId: id('skip'),
      spec: { intervals: [{ every: '1s' }] },
      action: { type: 'startWorkflow', workflowType: sleeper, args: [60_000], taskQueue: tq },
    });
    const skipped = await until(skip, (x) => x.info.numActionsSkippedOverlap >= 1);
    expect(skipped.info.runningActions).toHaveLength(1);
    expect(skipped.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    await skip.delete();
    await h.client.workflow.getHandle(skipped.info.runningActions[0].workflow.workflowId).terminate();

    const bufferOne = await h.client.schedule.create({
      scheduleId: id('buffer-one'),
      spec: { intervals: [{ every: '1s' }] },
      action: { type: 'startWorkflow', workflowType: sleeper, args: [60_000], taskQueue: tq },
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
    });
    const dropped = await until(bufferOne, (x) => Number(x.raw.info?.bufferDropped ?? 0) >= 1);
    expect(Number(dropped.raw.info!.bufferSize)).toBe(1);
    expect(dropped.info.numActionsSkippedOverlap).toBe(0);
    await bufferOne.pause('hold');
    const running = dropped.info.runningActions[0].workflow.workflowId;
    await h.client.workflow.getHandle(running).terminate();
    // The buffered action starts as soon as the running workflow closes, although the schedule is paused.
    const next = await until(bufferOne, (x) => x.info.runningActions.length === 1 && x.info.runningActions[0].workflow.workflowId !== running);
    expect(Number(next.raw.info!.bufferSize)).toBe(0);
    await h.client.workflow.getHandle(next.info.runningActions[0].workflow.workflowId).terminate();
    await bufferOne.delete();
  });

  test('trigger with CANCEL_OTHER cancels the running workflow, then starts', async () => {
    const handle = await h.client.schedule.create({
      scheduleId: id('cancel-other'),
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: sleeper, args: [60_000], taskQueue: tq },
      state: { paused: true, triggerImmediately: true },
    });
    const first = (await until(handle, (x) => x.info.runningActions.length === 1)).info.runningActions[0].workflow;
    await handle.trigger(ScheduleOverlapPolicy.CANCEL_OTHER);
    const d = await until(handle, (x) => x.info.recentActions.length === 2 && x.info.runningActions.length === 1);
    // Both may fall in one second, and so share a workflow id (as in Temporal): tell them apart by run.
    expect((await h.client.workflow.getHandle(first.workflowId, first.firstExecutionRunId).describe()).status.name).toBe('CANCELLED');
    expect(d.info.runningActions[0].workflow.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    await h.client.workflow.getHandle(d.info.runningActions[0].workflow.workflowId).terminate();
    await handle.delete();
  });

  test('backfill takes the spec times of a past range; matching times lists them', async () => {
    const handle = await h.client.schedule.create({
      scheduleId: id('backfill'),
      spec: { intervals: [{ every: '1m' }] },
      action: { type: 'startWorkflow', workflowType: greet, args: ['past'], taskQueue: tq },
      state: { paused: true },
    });
    const end = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
    await handle.backfill({ start: new Date(end - 120_000), end: new Date(end), overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    const d = await until(handle, (x) => x.info.recentActions.length === 3);
    expect(d.info.recentActions.map((a) => a.scheduledAt.getTime())).toEqual([end - 120_000, end - 60_000, end]);
    const matching = await h.client.workflowService.listScheduleMatchingTimes({ namespace: 'default', scheduleId: handle.scheduleId, startTime: ts(end - 120_000), endTime: ts(end) });
    expect(matching.startTime!.map((t) => Number(t.seconds) * 1000)).toEqual([end - 120_000, end - 60_000, end]);
    await handle.delete();
  });

  test('bad requests: a duplicate id, no action, a time zone, a stale conflict token, an unknown schedule', async () => {
    const scheduleId = id('bad');
    const options = { scheduleId, spec: { intervals: [{ every: '1h' as const }] }, action: { type: 'startWorkflow' as const, workflowType: greet, args: ['x'] as [string], taskQueue: tq }, state: { paused: true } };
    const handle = await h.client.schedule.create(options);
    await expect(h.client.schedule.create(options)).rejects.toThrow(ScheduleAlreadyRunning);
    const svc = h.client.workflowService;
    await expect(svc.createSchedule({ namespace: 'default', scheduleId: id('no-action'), schedule: { spec: {} } })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(h.client.schedule.create({ ...options, scheduleId: id('zone'), spec: { ...options.spec, timezone: 'Europe/Paris' } })).rejects.toMatchObject({ cause: { code: status.INVALID_ARGUMENT } });
    const described = await svc.describeSchedule({ namespace: 'default', scheduleId });
    await svc.updateSchedule({ namespace: 'default', scheduleId, schedule: described.schedule, conflictToken: described.conflictToken });
    await expect(svc.updateSchedule({ namespace: 'default', scheduleId, schedule: described.schedule, conflictToken: described.conflictToken })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(svc.patchSchedule({ namespace: 'default', scheduleId: 'no-such-schedule', patch: { pause: 'x' } })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await handle.delete();
  });
});

describe('a schedule across an engine killed with SIGKILL', () => {
  test('the actions that fell due while the engine was down are taken when it is back', async () => {
    const engine = await engineProcess();
    const connection = await Connection.connect({ address: engine.address });
    const client = new Client({ connection });
    try {
      const handle = await client.schedule.create({
        scheduleId: id('durable'),
        spec: { intervals: [{ every: '1s' }] },
        action: { type: 'startWorkflow', workflowType: greet, args: ['x'], taskQueue: 'nobody-polls' },
        policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1m' },
      });
      await engine.kill();
      const down = Date.now();
      // Down for a few intervals whatever the machine's speed (a quick restart left none due in between).
      await new Promise((r) => setTimeout(r, 3000));
      await engine.restart();
      const up = Date.now();
      const d = await until(handle, (x) => x.info.recentActions.some((a) => a.scheduledAt.getTime() > up));
      const whileDown = d.info.recentActions.filter((a) => a.scheduledAt.getTime() > down && a.scheduledAt.getTime() < up - 1000);
      expect(whileDown.length).toBeGreaterThan(0);
      // Taken late, after the restart.
      for (const a of whileDown) expect(a.takenAt.getTime()).toBeGreaterThanOrEqual(up - 1000);
      const times = d.info.recentActions.map((a) => a.scheduledAt.getTime());
      expect(times).toEqual([...new Set(times)].sort((a, b) => a - b));
      expect(times.every((t, i) => i === 0 || t - times[i - 1] === 1000)).toBe(true);
    } finally {
      await connection.close();
      await engine.close();
    }
  });
});
