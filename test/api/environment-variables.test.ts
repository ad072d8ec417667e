import { call, expectApiError, expectErrorResponse, expectUnchanged, startTestApi, type TestApi } from '../helpers/api';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

test('starts empty', async () => {
  expect(await api.dev.getEnvironmentVariables()).toEqual([]);
  expect((await call(api, 'GET', '/environment-variables')).body).toEqual([]);
});

test('POST creates and overwrites by name (upsert), leaving the others; GET lists them by name', async () => {
  await expect(
    api.dev.setEnvironmentVariables([
      { name: 'BOT_TOKEN', value: 'abc' },
      { name: 'API_URL', value: 'https://api.example.com' },
    ]),
  ).resolves.toEqual({ success: true });
  await api.dev.setEnvironmentVariables([
    { name: 'BOT_TOKEN', value: 'rotated' },
    { name: 'Z_UNICODE', value: 'héllo ✓ 𝄞' },
  ]);
  expect(await api.dev.getEnvironmentVariables()).toEqual([
    { name: 'API_URL', value: 'https://api.example.com' },
    { name: 'BOT_TOKEN', value: 'rotated' },
    { name: 'Z_UNICODE', value: 'héllo ✓ 𝄞' },
  ]);
});

test('the same name twice in one request is a 400 naming the second one, and nothing is saved', async () => {
  const twice = [
    { name: 'TWICE', value: 'first' },
    { name: 'TWICE', value: 'second' },
  ];
  await expectUnchanged(api.store.db, async () => {
    const res = await call(api, 'POST', '/environment-variables', { json: twice });
    expectErrorResponse(res, 400, 'invalid_body');
    expect(res.body.error.errors).toContainEqual(expect.objectContaining({ path: '1.name' }));
  });
});

test('also accepts {variables: [...]} for clients that cannot send a top-level array', async () => {
  const res = await call(api, 'POST', '/environment-variables', { json: { variables: [{ name: 'WRAPPED', value: '' }] } });
  expect(res.status).toBe(200);
  expect(await api.dev.getEnvironmentVariables()).toContainEqual({ name: 'WRAPPED', value: '' });
});

test('DELETE removes one variable; deleting it again is a 404', async () => {
  await api.dev.setEnvironmentVariables([{ name: 'DOOMED', value: 'x' }]);
  await expect(api.dev.deleteEnvironmentVariable('DOOMED')).resolves.toEqual({ success: true });
  const names = (await api.dev.getEnvironmentVariables()).map((v) => v.name);
  expect(names).not.toContain('DOOMED');
  expect(names).toContain('BOT_TOKEN');
  await expectApiError(api.dev.deleteEnvironmentVariable('DOOMED'), 404, 'unknown_environment_variable');
});

const neighbour = { name: 'VALID_NEIGHBOUR', value: 'x' };

test.each([
  ['a name starting with a digit', [neighbour, { name: '1ABC', value: 'x' }]],
  ['a name with a dash', [neighbour, { name: 'MY-VAR', value: 'x' }]],
  ['a missing value', [neighbour, { name: 'NO_VALUE' }]],
  ['a value that is not a string', [neighbour, { name: 'NUMBER', value: 42 }]],
  ['a value over 64 KiB', [neighbour, { name: 'HUGE', value: 'x'.repeat(65_537) }]],
  ['an empty list', []],
  ['an object that is not {variables}', { BOT_TOKEN: 'x' }],
])('%s is a 400 invalid_body and changes nothing, not even the valid entries', async (_what, body) => {
  await expectUnchanged(api.store.db, async () => {
    expectErrorResponse(await call(api, 'POST', '/environment-variables', { json: body }), 400, 'invalid_body');
  });
});
