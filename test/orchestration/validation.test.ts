import { Syncline, SynclineApiError } from '../../src/sdk';
import { startOrchestrationTest, waitFor, type OrchestrationTest } from './helpers';

// The environment settings validate_action_input / validate_action_output / validate_sync_records
// (Nango's runner flags): off by default, a model mismatch is a warning in the run's logs and the
// run goes on; on, it fails the action (invalid_action_input/output) or the sync run (invalid_sync_record).

jest.setTimeout(60_000);

const YAML = `integrations:
  fake:
    syncs:
      loose:
        runs: every day
        output: Item
        endpoint: GET /loose
    actions:
      shape:
        endpoint: POST /shape
        input: ShapeInput
        output: ShapeOutput
models:
  Item:
    id: string
    name: string
  ShapeInput:
    text: string
  ShapeOutput:
    length: number
`;

// Saves a record whose name is a number.
const LOOSE = `module.exports = async function fetchData(nango) {
  await nango.batchSave([{ id: '1', name: 5 }], 'Item');
};`;
// Returns {length} as the model wants, unless asked for another shape; counts its runs in the logs.
const SHAPE = `module.exports = async function runAction(nango, input) {
  await nango.log('ran with ' + JSON.stringify(input));
  return input && input.wrong ? { length: String(input.text) } : { length: String(input && input.text).length };
};`;

const NO_VALIDATION = { validate_action_input: false, validate_action_output: false, validate_sync_records: false };

let t: OrchestrationTest;

beforeAll(async () => {
  t = await startOrchestrationTest();
  const res = await t.deploy(YAML, { 'sync/loose': LOOSE, 'action/shape': SHAPE });
  expect(res.status).toBe(200);
});
afterAll(() => t?.close());

const trigger = (input: unknown) =>
  t.request('POST', '/action/trigger', { json: { action_name: 'shape', input }, headers: { 'Connection-Id': 'a1', 'Provider-Config-Key': 'fake' } });
const settings = (patch: Record<string, unknown>) => t.request('PATCH', '/environment/settings', { json: patch });
/** The action's log lines of `level`, oldest first. */
const actionLogs = async (level: string) => (await t.request('GET', `/logs?action=shape&level=${level}&kind=log&order=asc`)).body.logs as Array<{ message: string }>;

test('settings are off by default and per environment; bad input is a 400 that changes nothing', async () => {
  expect(await t.request('GET', '/environment/settings')).toMatchObject({ status: 200, body: { data: NO_VALIDATION } });
  for (const bad of [{ validate_action_input: 'yes' }, { validate_action_input: 1 }, { validate_everything: true }, [true], 'on']) {
    const res = await settings(bad as Record<string, unknown>);
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'invalid_body', message: expect.any(String), errors: expect.any(Array) });
  }
  expect((await t.request('GET', '/environment/settings')).body.data).toEqual(NO_VALIDATION);

  const changed = await settings({ validate_action_output: true });
  expect(changed).toMatchObject({ status: 200, body: { data: { ...NO_VALIDATION, validate_action_output: true } } });
  // Only what was sent changes; prod keeps its own.
  expect((await settings({ validate_sync_records: true })).body.data).toEqual({ ...NO_VALIDATION, validate_action_output: true, validate_sync_records: true });
  expect((await settings({})).body.data).toEqual({ ...NO_VALIDATION, validate_action_output: true, validate_sync_records: true });
  expect((await t.request('GET', '/environment/settings', { key: t.keys.prod })).body.data).toEqual(NO_VALIDATION);
  expect((await settings(NO_VALIDATION)).body.data).toEqual(NO_VALIDATION);
});

test('the SDK reads and changes the settings', async () => {
  const syncline = new Syncline({ secretKey: t.keys.dev, host: t.url });
  expect(await syncline.getEnvironmentSettings()).toEqual({ data: NO_VALIDATION });
  expect(await syncline.updateEnvironmentSettings({ validate_action_input: true })).toEqual({ data: { ...NO_VALIDATION, validate_action_input: true } });
  const bad = await syncline.updateEnvironmentSettings({ validate_action_input: 'yes' as never }).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(SynclineApiError);
  expect(bad).toMatchObject({ status: 400, code: 'invalid_body' });
  expect(await syncline.updateEnvironmentSettings(NO_VALIDATION)).toEqual({ data: NO_VALIDATION });
});

describe('actions', () => {
  beforeAll(() => t.connect('a1'));
  afterEach(() => settings(NO_VALIDATION));

  test('off: a mismatched input or output is a warning in the run logs naming the model, and the action succeeds', async () => {
    const res = await trigger({ text: 'abc', wrong: true });
    expect(res).toMatchObject({ status: 200, body: { length: 'abc' } });
    const input = await trigger({ text: 42 });
    expect(input).toMatchObject({ status: 200, body: { length: 2 } });
    const warnings = await actionLogs('warn');
    expect(warnings.map((l) => l.message)).toEqual([
      expect.stringMatching(/^The output does not match model "ShapeOutput": .*length.*validate_action_output is off/),
      expect.stringMatching(/^The input does not match model "ShapeInput": .*text.*validate_action_input is off/),
    ]);
  });

  test('validate_action_output on: a mismatched output fails the call with invalid_action_output, as Nango answers it', async () => {
    await settings({ validate_action_output: true });
    const res = await trigger({ text: 'abc', wrong: true });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        message: 'Failed to validate the output passed to the action',
        code: 'invalid_action_output',
        payload: { model: 'ShapeOutput', data: { length: 'abc' }, validation: [expect.stringContaining('length')] },
      },
    });
    // A matching output still goes through; the input is still only warned about.
    expect(await trigger({ text: 'abcd' })).toMatchObject({ status: 200, body: { length: 4 } });
    expect(await trigger({ text: 7 })).toMatchObject({ status: 200, body: { length: 1 } });
  });

  test('validate_action_input on: a mismatched input fails the call before the script runs', async () => {
    await settings({ validate_action_input: true });
    const ran = (await actionLogs('info')).length;
    const res = await trigger({ text: 42 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        message: 'Failed to validate the input passed to the action',
        code: 'invalid_action_input',
        payload: { model: 'ShapeInput', data: { text: 42 }, validation: [expect.stringContaining('text')] },
      },
    });
    expect(await actionLogs('info')).toHaveLength(ran);
    // Output mismatches are still only warned about.
    expect(await trigger({ text: 'abc', wrong: true })).toMatchObject({ status: 200, body: { length: 'abc' } });
  });
});

describe('syncs', () => {
  afterAll(() => settings(NO_VALIDATION));

  const status = async () => (await t.request('GET', '/sync/status?provider_config_key=fake&connection_id=s1&syncs=loose')).body.syncs[0] as { status: string; finishedAt: string | null } | undefined;

  test('validate_sync_records off: the record is saved with a warning; on: the run fails with invalid_sync_record', async () => {
    await t.connect('s1');
    await waitFor('first run', async () => (await status())?.status === 'SUCCESS');
    const records = await t.request('GET', '/records?model=Item', { headers: { 'Connection-Id': 's1', 'Provider-Config-Key': 'fake' } });
    expect(records.body.records).toEqual([expect.objectContaining({ id: '1', name: 5 })]);
    const warnings = (await t.request('GET', '/logs?sync=loose&connectionId=s1&level=warn')).body.logs as Array<{ message: string }>;
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringMatching(/record "1" of model "Item" does not match the model/) })]);

    await settings({ validate_sync_records: true });
    const res = await t.request('POST', '/sync/trigger', { json: { provider_config_key: 'fake', connection_id: 's1', syncs: ['loose'] } });
    expect(res.status).toBe(200);
    await waitFor('failed run', async () => (await status())?.status === 'ERROR');
    const outcome = (await t.request('GET', '/logs?sync=loose&connectionId=s1&kind=outcome&level=error')).body.logs as Array<{ message: string }>;
    expect(outcome).toEqual([expect.objectContaining({ message: expect.stringContaining('invalid_sync_record') })]);
  });
});
