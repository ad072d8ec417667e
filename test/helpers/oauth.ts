import { useUserProviders, validateProvider, type ProviderDefinition } from '../../src/providers';
import { FakeOAuthProvider, fakeProviderDefinitions } from '../fixtures/oauth-provider';
import type { TestApi } from './api';

/** Starts the fake provider and installs its definitions as user providers (validated like a providers.yaml). */
export async function startFakeProvider(): Promise<FakeOAuthProvider> {
  const fake = await new FakeOAuthProvider().start();
  const definitions: Record<string, ProviderDefinition> = {};
  for (const [name, raw] of Object.entries(fakeProviderDefinitions(fake.url))) {
    const { definition, issues } = validateProvider(name, raw);
    if (!definition) throw new Error(`fake provider ${name}: ${JSON.stringify(issues)}`);
    definitions[name] = definition;
  }
  useUserProviders(definitions);
  return fake;
}

/** An integration of a fake provider with the fake's client id and secret. */
export function addFakeIntegration(api: TestApi, key: string, fake: FakeOAuthProvider, provider = key) {
  return api.dev.createIntegration({
    unique_key: key,
    provider,
    credentials: { type: provider === 'fake-oauth1' ? 'OAUTH1' : 'OAUTH2', client_id: fake.clientId, client_secret: fake.clientSecret },
  });
}

/** Creates a connect session through the API and returns its token. */
export async function connectSession(api: TestApi, body: Record<string, unknown> = { end_user: { id: 'u1' } }): Promise<{ token: string; connect_link: string; expires_at: string }> {
  const res = await fetch(`${api.url}/connect/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.keys.dev}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`connect session: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { token: string; connect_link: string; expires_at: string } }).data;
}

/**
 * Follows an OAuth flow's redirects with plain fetch (the fake provider approves at once), from
 * /oauth/connect to the result page. Returns every URL visited and the final page.
 */
export async function walkOAuth(start: string): Promise<{ visited: string[]; status: number; html: string }> {
  const visited: string[] = [];
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    visited.push(url);
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).toString();
      continue;
    }
    return { visited, status: res.status, html: await res.text() };
  }
  throw new Error('too many redirects');
}
