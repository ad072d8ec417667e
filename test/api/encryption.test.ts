import { startTestApi, snapshot, type TestApi } from '../helpers/api';

let api: TestApi;

// Distinctive values, so a match in the database can only be one of them.
const secrets = {
  accessToken: 'gho_ACCESS_TOKEN_5f1c9e',
  refreshToken: 'ghr_REFRESH_TOKEN_77ab02',
  rawToken: 'RAW_TOKEN_RESPONSE_c0ffee',
  apiKey: 'API_KEY_VALUE_9d8e7f',
  password: 'BASIC_PASSWORD_a1b2c3',
  clientSecret: 'CLIENT_SECRET_deadbeef',
  webhookSecret: 'WEBHOOK_SECRET_feedface',
  variable: 'ENV_VARIABLE_VALUE_0badf00d',
};

beforeAll(async () => {
  api = await startTestApi();
  await api.dev.createIntegration({
    unique_key: 'github',
    provider: 'github',
    credentials: { type: 'OAUTH2', client_id: 'public-client-id', client_secret: secrets.clientSecret, webhook_secret: secrets.webhookSecret },
  });
  await api.dev.importConnection({
    provider_config_key: 'github',
    connection_id: 'oauth',
    credentials: { type: 'OAUTH2', access_token: secrets.accessToken, refresh_token: secrets.refreshToken, raw: { id_token: secrets.rawToken } },
    metadata: { marker: 'PLAINTEXT_METADATA_MARKER' },
  });
  await api.dev.importConnection({ provider_config_key: 'github', connection_id: 'apikey', credentials: { type: 'API_KEY', apiKey: secrets.apiKey } });
  await api.dev.importConnection({ provider_config_key: 'github', connection_id: 'basic', credentials: { type: 'BASIC', username: 'me', password: secrets.password } });
  await api.dev.setEnvironmentVariables([{ name: 'BOT_TOKEN', value: secrets.variable }]);
});
afterAll(() => api.close());

test('the API still serves every secret (so they were stored)', async () => {
  const oauth = await api.dev.getConnection('github', 'oauth', false, true);
  expect(oauth.credentials).toMatchObject({ access_token: secrets.accessToken, refresh_token: secrets.refreshToken, raw: { id_token: secrets.rawToken } });
  expect((await api.dev.getConnection('github', 'apikey')).credentials).toMatchObject({ apiKey: secrets.apiKey });
  expect((await api.dev.getConnection('github', 'basic')).credentials).toMatchObject({ password: secrets.password });
  const { data } = await api.dev.getIntegration({ uniqueKey: 'github' }, { include: ['credentials'] });
  expect(data.credentials).toMatchObject({ client_secret: secrets.clientSecret, webhook_secret: secrets.webhookSecret });
  expect(await api.dev.getEnvironmentVariables()).toEqual([{ name: 'BOT_TOKEN', value: secrets.variable }]);
});

test('no secret, nor its base64, appears in any column of any table', async () => {
  const everything = JSON.stringify(await snapshot(api.store.db));
  expect(everything).toContain('PLAINTEXT_METADATA_MARKER'); // the snapshot does see plaintext columns
  for (const value of [...Object.values(secrets), api.keys.dev, api.keys.prod]) {
    expect(everything).not.toContain(value);
    expect(everything).not.toContain(Buffer.from(value).toString('base64'));
  }
});

test('the secret columns hold sealed values (v1:iv:tag:ciphertext)', async () => {
  const sealed = /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/;
  const columns = [
    'SELECT credentials_encrypted AS v FROM connections',
    'SELECT credentials_encrypted AS v FROM integrations',
    'SELECT value_encrypted AS v FROM environment_variables',
    'SELECT secret_key_encrypted AS v FROM environments',
  ];
  for (const sql of columns) {
    const { rows } = await api.store.db.query<{ v: string }>(sql);
    expect(rows.length).toBeGreaterThan(0);
    for (const { v } of rows) expect(v).toMatch(sealed);
  }
});

test('the same secret sealed twice gives different ciphertexts (random IV)', async () => {
  await api.dev.importConnection({ provider_config_key: 'github', connection_id: 'twin', credentials: { type: 'API_KEY', apiKey: secrets.apiKey } });
  const { rows } = await api.store.db.query<{ v: string }>(
    "SELECT credentials_encrypted AS v FROM connections WHERE connection_id IN ('apikey', 'twin')",
  );
  expect(rows).toHaveLength(2);
  expect(rows[0]!.v).not.toBe(rows[1]!.v);
});
