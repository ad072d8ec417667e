import { attributesKey, decodeEvent, newEvent, rawHistory } from '../../src/engine/history';
import { decode, encode, encodeWithRaw, Raw, T, timestamp } from '../../src/engine/proto';

const payloads = { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }] };
const events = [
  newEvent(1, Date.now(), 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', { workflowType: { name: 'w' }, input: payloads }),
  newEvent(2, Date.now(), 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', { taskQueue: { name: 'q' }, attempt: 1 }),
];

test.each([
  ['EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', { workflowType: { name: 'w' }, input: payloads, attempt: 1 }],
  ['EVENT_TYPE_WORKFLOW_TASK_COMPLETED', { scheduledEventId: 2, startedEventId: 3, sdkMetadata: { langUsedFlags: [1, 2], sdkName: 'temporal-typescript' } }],
  ['EVENT_TYPE_WORKFLOW_TASK_STARTED', { scheduledEventId: 2, identity: '1@host', requestId: 'r', historySizeBytes: 512 }],
  ['EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', { activityId: '1', activityType: { name: 'runSync' }, taskQueue: { name: 'q', kind: 'TASK_QUEUE_KIND_NORMAL' }, input: payloads, startToCloseTimeout: { seconds: 60 } }],
  ['EVENT_TYPE_ACTIVITY_TASK_COMPLETED', { scheduledEventId: 5, startedEventId: 6, result: payloads }],
  ['EVENT_TYPE_TIMER_FIRED', { timerId: '1', startedEventId: 0 }],
  ['EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', {}],
])('newEvent writes the bytes protobufjs writes for the whole event: %s', (eventType, attrs) => {
  for (const [eventId, time] of [[0, 1_700_000_000_000], [7, 1_700_000_000_123.5], [2 ** 40, Date.now()]] as const) {
    const bytes = newEvent(eventId, time, eventType, attrs);
    const { taskId } = decodeEvent(bytes).toJSON();
    const whole = { eventId, eventTime: timestamp(time), eventType, taskId, [attributesKey(eventType)]: attrs };
    expect(bytes.equals(encode(T.HistoryEvent, whole))).toBe(true);
  }
});

test('newEvent numbers each event after the last (taskId), and refuses an event type it does not know', () => {
  const ids = [0, 1, 2].map(() => Number(decodeEvent(newEvent(1, Date.now(), 'EVENT_TYPE_TIMER_FIRED', { timerId: '1' })).toJSON().taskId));
  expect(ids[1]).toBeGreaterThan(ids[0]!);
  expect(ids[2]).toBeGreaterThan(ids[1]!);
  expect(() => newEvent(1, Date.now(), 'EVENT_TYPE_NO_SUCH_THING', {})).toThrow('unknown event type EVENT_TYPE_NO_SUCH_THING');
});

test('a response with a raw history decodes exactly as one encoded from the decoded events', () => {
  const stored = events.map((data) => ({ data }));
  const plain = { taskToken: Buffer.from('t'), startedEventId: 3, history: { events: stored.map((r) => decode(T.HistoryEvent, r.data)) } };
  const spliced = encodeWithRaw(T.PollWorkflowTaskQueueResponse, { ...plain, history: rawHistory(stored) });
  const expected = decode(T.PollWorkflowTaskQueueResponse, encode(T.PollWorkflowTaskQueueResponse, plain));
  expect(decode(T.PollWorkflowTaskQueueResponse, spliced).toJSON()).toEqual(expected.toJSON());
  expect(decode(T.PollWorkflowTaskQueueResponse, spliced).toJSON().history.events).toHaveLength(2);
});

test('a raw message nests inside another, and an empty raw history is an empty history', () => {
  const Start = T.PollWorkflowTaskQueueResponse.root.lookupType('temporal.api.workflowservice.v1.StartWorkflowExecutionResponse');
  const task = encodeWithRaw(T.PollWorkflowTaskQueueResponse, { startedEventId: 3, history: rawHistory([]) });
  const res = decode(Start, encodeWithRaw(Start, { runId: 'r', started: true, eagerWorkflowTask: new Raw(task) })).toJSON();
  expect(res).toMatchObject({ runId: 'r', started: true, eagerWorkflowTask: { startedEventId: '3', history: {} } });
});
