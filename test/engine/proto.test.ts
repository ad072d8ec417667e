import { buildEvent, encodeEvent, rawHistory } from '../../src/engine/history';
import { decode, encode, encodeWithRaw, Raw, T } from '../../src/engine/proto';

const events = [
  buildEvent(1, Date.now(), 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', { workflowType: { name: 'w' }, input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }] } }),
  buildEvent(2, Date.now(), 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', { taskQueue: { name: 'q' }, attempt: 1 }),
];

test('a response with a raw history decodes exactly as one encoded from the decoded events', () => {
  const stored = events.map((e) => ({ data: encodeEvent(e) }));
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
