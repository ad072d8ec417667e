import { parseNangoYaml } from '../../src/config/nango-yaml';
import { CollectingRecordSink } from '../../src/runtime';
import { modelChecker, RecordWriter } from '../../src/runtime/records';

const config = parseNangoYaml(`
integrations:
  demo:
    syncs:
      tickets:
        runs: every hour
        output: Ticket
        endpoint: GET /tickets
models:
  Person:
    name: string
    email?: string | null
  Ticket:
    id: string
    status: open | closed
    priority: integer
    tags: string[]
    assignee: Person | null
    watchers?: Person[]
    due?: date
    custom: object
    extra:
      __string: number
    meta:
      source: string
      raw?: any
`);
const check = modelChecker(config.models.get('Ticket')!, config.models);

const valid = {
  id: 't1',
  status: 'open',
  priority: 2,
  tags: ['a'],
  assignee: { name: 'Ann' },
  watchers: [{ name: 'Bob', email: null }],
  due: '2026-01-01T00:00:00Z',
  custom: { anything: [1] },
  extra: { a: 1, b: 2 },
  meta: { source: 'api', raw: { x: 1 } },
  unknownField: 'extra fields are allowed',
};

describe('modelChecker', () => {
  test('a matching record has no problems', () => {
    expect(check(valid)).toEqual([]);
    expect(check({ ...valid, assignee: null, watchers: undefined, due: undefined })).toEqual([]);
  });

  test('each kind of mismatch is named with its path', () => {
    const { priority: _missing, ...withoutPriority } = valid;
    expect(
      check({
        ...withoutPriority,
        status: 'pending',
        tags: ['a', 3],
        assignee: { email: 'x' },
        watchers: [{ name: 1 }],
        due: 'not a date',
        custom: [],
        extra: { a: 'one' },
        meta: { raw: 1 },
      }),
    ).toEqual([
      'status: "pending" matches none of the union\'s types',
      'priority: missing',
      'tags[1]: expected string, got number',
      'assignee: object matches none of the union\'s types',
      'watchers[0].name: expected string, got number',
      'due: expected a date, got "not a date"',
      'custom: expected an object, got an array',
      'extra.a: expected number, got "one"',
      'meta.source: missing',
    ]);
    expect(check('not an object')).toEqual(['record: expected an object, got "not an object"']);
  });

  test('self-referencing models are checked without looping', () => {
    const tree = parseNangoYaml(`
integrations: {}
models:
  Node:
    id: string
    children: Node[]
`).models;
    const checkNode = modelChecker(tree.get('Node')!, tree);
    expect(checkNode({ id: 'a', children: [{ id: 'b', children: [] }] })).toEqual([]);
    expect(checkNode({ id: 'a', children: [{ id: 'b', children: [{ id: 3, children: [] }] }] })).toEqual(['children[0].children[0].id: expected string, got number']);
  });
});

describe('RecordWriter', () => {
  test('keeps the order of writes across batches and merges neighbours of one kind', async () => {
    const sink = new CollectingRecordSink();
    const writer = new RecordWriter(sink, async () => 1, 3);
    await writer.write('save', 'A', [{ id: 1 }, { id: 2 }]);
    await writer.write('save', 'A', [{ id: 3 }]);
    await writer.write('delete', 'A', [{ id: 1 }]);
    await writer.write('save', 'B', [{ id: 9 }]);
    await writer.write('update', 'A', [{ id: 2, x: 1 }]);
    expect(await writer.finish()).toEqual({ A: { added: 3, updated: 1, deleted: 1 }, B: { added: 1, updated: 0, deleted: 0 } });
    expect(sink.writes.get('A')).toEqual([
      { kind: 'save', records: [{ id: 1 }, { id: 2 }, { id: 3 }] },
      { kind: 'delete', records: [{ id: 1 }] },
      { kind: 'update', records: [{ id: 2, x: 1 }] },
    ]);
  });

  test('a failed write is reported by the next call and by finish', async () => {
    let fail = true;
    class FailingSink extends CollectingRecordSink {
      override upsert(connection: number, model: string, records: readonly unknown[]) {
        return fail ? Promise.reject(new Error('disk full')) : super.upsert(connection, model, records);
      }
    }
    const writer = new RecordWriter(new FailingSink(), async () => 1, 1);
    await writer.write('save', 'A', [{ id: 1 }]);
    await expect(writer.write('save', 'A', [{ id: 2 }])).rejects.toThrow('disk full');
    fail = false;
    await expect(writer.finish()).rejects.toThrow('disk full');
  });
});
