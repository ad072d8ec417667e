import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AUTH_MODES,
  authorizeRequest,
  getProvider,
  listProviders,
  loadUserProviders,
  parseUserProviders,
  PROVIDERS,
  useUserProviders,
  validateProvider,
  type ProviderDefinition,
} from '../../src/providers';
import { oauth1Header } from '../../src/providers/oauth1';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/logger';
import { openSyncline } from '../../src/server';
import type { ConnectionCredentials } from '../../src/types';

const sampleCredentials: Record<string, ConnectionCredentials> = {
  OAUTH2: { type: 'OAUTH2', access_token: 'tok-oauth2' },
  OAUTH2_CC: { type: 'OAUTH2_CC', token: 'tok-cc', client_id: 'c', client_secret: 's' },
  OAUTH1: { type: 'OAUTH1', oauth_token: 'tok-o1', oauth_token_secret: 'sec-o1' },
  API_KEY: { type: 'API_KEY', apiKey: 'tok-key' },
  BASIC: { type: 'BASIC', username: 'user', password: 'pass' },
  NONE: { type: 'NONE' },
};

/** A connection config with every declared or provider-given field set. */
function configFor(p: ProviderDefinition): Record<string, string> {
  const names = [...Object.keys(p.connection_config ?? {}), ...(p.connection_config_from?.token_response ?? []), ...(p.connection_config_from?.callback_query ?? [])];
  return Object.fromEntries(names.map((n) => [n, /url|domain/.test(n) ? 'https://eu1.example.com' : (p.connection_config?.[n]?.example ?? 'x1')]));
}

describe.each(Object.entries(PROVIDERS))('built-in provider %s', (name, provider) => {
  test('matches the schema, documents its source and reaches a base URL over https', () => {
    expect(validateProvider(name, provider).issues).toEqual([]);
    expect(provider.docs).toMatch(/^https:\/\//);
    for (const url of [provider.authorization_url, provider.token_url, provider.refresh_url, provider.request_token_url]) {
      if (url) expect(url).toMatch(/^https:\/\/|^\$\{connectionConfig\./);
    }
    expect(provider.proxy?.base_url).toBeDefined();
  });

  test('authorises a request with its auth mode', () => {
    const credentials = sampleCredentials[provider.auth_mode]!;
    const auth = authorizeRequest(
      provider,
      { credentials, connectionConfig: configFor(provider), integration: { client_id: 'ck', client_secret: 'cs' } },
      { method: 'GET', url: 'https://example.com/x' },
    );
    expect(new URL(auth.baseUrl!).protocol).toBe('https:');
    const sent = JSON.stringify(auth);
    const expected = { OAUTH2: 'tok-oauth2', OAUTH2_CC: 'tok-cc', OAUTH1: 'oauth_token=\\"tok-o1\\"', API_KEY: 'tok-key', BASIC: 'Basic dXNlcjpwYXNz', NONE: '' };
    expect(sent).toContain(expected[provider.auth_mode]);
  });
});

test('the catalogue covers 25+ providers across every credential-bearing auth mode', () => {
  expect(Object.keys(PROVIDERS).length).toBeGreaterThanOrEqual(25);
  const modes = new Set(Object.values(PROVIDERS).map((p) => p.auth_mode));
  for (const mode of AUTH_MODES.filter((m) => m !== 'NONE')) expect(modes).toContain(mode);
});

test('credential injection per auth mode', () => {
  const at = (p: ProviderDefinition, credentials: ConnectionCredentials, config: Record<string, unknown> = {}) =>
    authorizeRequest(p, { credentials, connectionConfig: config, integration: { client_id: 'ck', client_secret: 'cs' } }, { method: 'GET', url: 'https://h/x?a=1' });
  expect(at(PROVIDERS.github!, sampleCredentials.OAUTH2!).headers).toMatchObject({ authorization: 'Bearer tok-oauth2', 'x-github-api-version': '2022-11-28' });
  expect(at(PROVIDERS.paypal!, sampleCredentials.OAUTH2_CC!).headers.authorization).toBe('Bearer tok-cc');
  expect(at(PROVIDERS.stripe!, sampleCredentials.API_KEY!).headers.authorization).toBe('Bearer tok-key');
  const anthropic = at(PROVIDERS.anthropic!, sampleCredentials.API_KEY!).headers;
  expect(anthropic).toMatchObject({ 'x-api-key': 'tok-key' });
  expect(anthropic).not.toHaveProperty('authorization');
  const shopify = at(PROVIDERS.shopify!, sampleCredentials.OAUTH2!, { subdomain: 'acme' });
  expect(shopify).toMatchObject({ baseUrl: 'https://acme.myshopify.com', headers: { 'x-shopify-access-token': 'tok-oauth2' } });
  expect(shopify.headers).not.toHaveProperty('authorization');
  expect(at(PROVIDERS.twilio!, sampleCredentials.BASIC!).headers.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
  expect(at(PROVIDERS.trello!, sampleCredentials.OAUTH1!).headers.authorization).toMatch(/^OAuth .*oauth_signature="[^"]+"/);
  expect(() => at(PROVIDERS.zendesk!, sampleCredentials.OAUTH2!)).toThrow(/connectionConfig.subdomain/);
  expect(() => authorizeRequest(PROVIDERS.trello!, { credentials: sampleCredentials.OAUTH1!, connectionConfig: {} })).toThrow(/signed/);
});

test('OAuth 1.0a signature matches the published HMAC-SHA1 example', () => {
  // developer.x.com "Creating a signature" example: query and form body parameters are both signed.
  const header = oauth1Header(
    'POST',
    'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
    {
      consumerKey: 'xvz1evFS4wEEPTGEFPHBog',
      consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw',
      token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb',
      tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE',
      form: 'status=' + encodeURIComponent('Hello Ladies + Gentlemen, a signed OAuth request!'),
    },
    1318622958 * 1000,
    'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
  );
  expect(header).toContain(`oauth_signature="${encodeURIComponent('hCtSmYh+iHYCEqBWrE7C7hYmtUk=')}"`);
});

describe('user providers', () => {
  afterEach(() => useUserProviders({}));

  test('a YAML file adds providers and extends built-in ones, without code', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'providers-')), 'providers.yaml');
    writeFileSync(
      file,
      `providers:
  acme-crm:
    display_name: Acme CRM
    auth_mode: API_KEY
    proxy:
      base_url: https://\${connectionConfig.region}.acme.example
      headers: { x-api-key: '\${apiKey}' }
      paginate: { type: cursor, cursor_path_in_response: meta.next, cursor_name_in_request: cursor }
    connection_config:
      region: { pattern: '^[a-z]{2}$', example: eu }
  github-enterprise:
    extends: github
    display_name: GitHub Enterprise
    authorization_url: https://git.acme.example/login/oauth/authorize
    token_url: https://git.acme.example/login/oauth/access_token
    proxy: { base_url: https://git.acme.example/api/v3 }
`,
    );
    useUserProviders(loadUserProviders(file));
    const auth = authorizeRequest(getProvider('acme-crm'), { credentials: sampleCredentials.API_KEY!, connectionConfig: { region: 'eu' } });
    expect(auth).toMatchObject({ baseUrl: 'https://eu.acme.example', headers: { 'x-api-key': 'tok-key' } });
    const ghe = getProvider('github-enterprise');
    expect(ghe).toMatchObject({ auth_mode: 'OAUTH2', scope_separator: ',', proxy: { base_url: 'https://git.acme.example/api/v3', retry: PROVIDERS.github!.proxy!.retry } });
    expect(listProviders().map((p) => p.name)).toEqual(expect.arrayContaining(['acme-crm', 'github', 'github-enterprise']));
  });

  test('mistakes are reported with file, line, provider and field', () => {
    const text = `acme:
  display_name: Acme
  auth_mode: OAUTH2
  token_url: ftp://nope
  proxy:
    base_url: https://\${connectionConfig.tenant}.acme.example
other:
  extends: nonexistent
`;
    let message = '';
    try {
      parseUserProviders(text, 'p.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('p.yaml:2 acme.authorization_url: required for auth_mode OAUTH2');
    expect(message).toContain('p.yaml:4 acme.token_url: must be an http(s) URL');
    expect(message).toContain('p.yaml:6 acme.proxy.base_url: unknown placeholder ${connectionConfig.tenant}');
    expect(message).toContain('p.yaml:8 other.extends: no built-in provider "nonexistent"');
    expect(() => parseUserProviders('a: [unclosed', 'bad.yaml')).toThrow(/^bad\.yaml:1 /);
  });
});

test('a broken SYNCLINE_PROVIDERS_FILE stops the start with its problems listed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'providers-'));
  const file = path.join(dir, 'providers.yaml');
  writeFileSync(file, 'acme:\n  display_name: Acme\n  auth_mode: KERBEROS\n');
  const config = loadConfig({ SYNCLINE_PROVIDERS_FILE: file, SYNCLINE_DATA_DIR: dir });
  expect(config.providersFile).toBe(file);
  await expect(openSyncline(config, createLogger('silent'))).rejects.toThrow(/Invalid SYNCLINE_PROVIDERS_FILE:\n.*providers\.yaml:3 acme\.auth_mode/);
});

test('a process that never starts the server (a worker) reads SYNCLINE_PROVIDERS_FILE on first use', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'providers-')), 'providers.yaml');
  writeFileSync(file, 'worker-only:\n  display_name: Worker only\n  auth_mode: BASIC\n  proxy: { base_url: https://w.example }\n');
  const before = process.env.SYNCLINE_PROVIDERS_FILE;
  process.env.SYNCLINE_PROVIDERS_FILE = file;
  try {
    jest.isolateModules(() => {
      const fresh = require('../../src/providers') as typeof import('../../src/providers');
      expect(fresh.getProvider('worker-only').auth_mode).toBe('BASIC');
      expect(fresh.getProvider('github').display_name).toBe('GitHub');
    });
  } finally {
    if (before === undefined) delete process.env.SYNCLINE_PROVIDERS_FILE;
    else process.env.SYNCLINE_PROVIDERS_FILE = before;
  }
});
