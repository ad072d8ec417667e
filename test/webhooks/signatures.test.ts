import { createHash, createHmac } from 'node:crypto';
import { Nango } from '@nangohq/node';
import { getProvider, validateProvider } from '../../src/providers';
import { Syncline } from '../../src/sdk';
import { eventTypes, signatureHeaders, subscribes, valuesAt, verifyProviderSignature } from '../../src/webhooks';

const body = Buffer.from(JSON.stringify({ action: 'opened', installation: { id: 42 }, repository: { full_name: 'octo/hello' } }));
const hmac = (key: string, data: Buffer | string, encoding: 'hex' | 'base64' = 'hex') => createHmac('sha256', key).update(data).digest(encoding);

describe('outgoing signatures', () => {
  const key = 'whsk_test';
  const raw = '{"from":"nango","type":"sync"}';
  const headers = signatureHeaders(raw, key);

  test('X-Nango-Hmac-Sha256 is the hex HMAC-SHA256 of the raw body; X-Nango-Signature is sha256(key + body)', () => {
    expect(headers['X-Nango-Hmac-Sha256']).toBe(hmac(key, raw));
    expect(headers['X-Nango-Signature']).toBe(createHash('sha256').update(key + raw).digest('hex'));
  });

  test("the SDK's verifyIncomingWebhookRequest accepts them and nothing else, as @nangohq/node does", () => {
    const syncline = new Syncline({ secretKey: 'sk_dev_x', webhookSigningKey: key });
    const nango = new Nango({ secretKey: 'sk_dev_x', webhookSigningKey: key } as never);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    for (const client of [syncline, nango]) {
      expect(client.verifyIncomingWebhookRequest(raw, lower)).toBe(true);
      expect(client.verifyIncomingWebhookRequest(raw + ' ', lower)).toBe(false);
      expect(client.verifyIncomingWebhookRequest(raw, {})).toBe(false);
      expect(client.verifyIncomingWebhookRequest(raw, { ...lower, 'x-nango-hmac-sha256': hmac('other', raw) })).toBe(false);
    }
    expect(syncline.verifyIncomingWebhookRequest(Buffer.from(raw), headers)).toBe(true);
    expect(syncline.verifyWebhookSignature(headers['X-Nango-Signature']!, JSON.parse(raw))).toBe(true);
    // Without webhookSigningKey the secret key is used, as in @nangohq/node.
    expect(new Syncline({ secretKey: key }).verifyIncomingWebhookRequest(raw, headers)).toBe(true);
  });
});

describe('provider signatures from the catalogue', () => {
  const github = getProvider('github').webhook;

  test('every catalogue entry with a webhook section validates', () => {
    for (const name of ['github', 'slack', 'hubspot', 'stripe']) {
      expect(validateProvider(name, getProvider(name)).issues).toEqual([]);
      expect(getProvider(name).webhook?.signature).toBeDefined();
    }
    expect(validateProvider('x', { display_name: 'X', auth_mode: 'API_KEY', webhook: { connection: [{ payload_path: 'a' }] } }).issues).toEqual([
      expect.objectContaining({ path: 'webhook.connection.0', message: expect.stringContaining('exactly one') }),
    ]);
  });

  test('GitHub: X-Hub-Signature-256 = sha256=<hmac of the body with the webhook secret>', () => {
    const secret = { type: 'OAUTH2', webhook_secret: 'gh-secret' };
    const good = { 'x-hub-signature-256': `sha256=${hmac('gh-secret', body)}` };
    expect(verifyProviderSignature(github, body, good, secret)).toBeNull();
    expect(verifyProviderSignature(github, Buffer.concat([body, Buffer.from(' ')]), good, secret)).toBe('invalid_signature');
    expect(verifyProviderSignature(github, body, { 'x-hub-signature-256': `sha256=${hmac('other', body)}` }, secret)).toBe('invalid_signature');
    expect(verifyProviderSignature(github, body, {}, secret)).toBe('missing_signature');
    expect(verifyProviderSignature(github, body, good, { type: 'OAUTH2' })).toBe('missing_secret');
    expect(verifyProviderSignature(undefined, body, {}, null)).toBeNull();
  });

  test('Slack: v0=<hmac of "v0:<timestamp>:<body>">, refused when the timestamp is older than 5 minutes', () => {
    const rule = getProvider('slack').webhook;
    const secret = { type: 'OAUTH2', webhook_secret: 'slack-signing' };
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const headers = { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${hmac('slack-signing', `v0:${ts}:${body.toString()}`)}` };
    expect(verifyProviderSignature(rule, body, headers, secret, { now })).toBeNull();
    expect(verifyProviderSignature(rule, body, headers, secret, { now: now + 301_000 })).toBe('expired_signature');
  });

  test('HubSpot v1: sha256 of client secret + body', () => {
    const rule = getProvider('hubspot').webhook;
    const secret = { type: 'OAUTH2', client_secret: 'hs-secret' };
    const headers = { 'x-hubspot-signature': createHash('sha256').update(`hs-secret${body.toString()}`).digest('hex') };
    expect(verifyProviderSignature(rule, body, headers, secret)).toBeNull();
    expect(verifyProviderSignature(rule, body, headers, { type: 'OAUTH2', client_secret: 'other' })).toBe('invalid_signature');
  });

  test('HubSpot v3: base64 HMAC of method + full URL + body + timestamp (ms), refused after 5 minutes; v1 still checked when v3 is absent', () => {
    const rule = getProvider('hubspot').webhook;
    const secret = { type: 'OAUTH2', client_secret: 'hs-secret' };
    const url = 'https://syncline.example.com/webhook/0b6e/hubspot';
    const now = Date.now();
    const signed = (ts: number, method = 'POST', at = url) => ({
      'x-hubspot-request-timestamp': String(ts),
      'x-hubspot-signature-v3': hmac('hs-secret', `${method}${at}${body.toString()}${ts}`, 'base64'),
    });
    const request = { method: 'post', url };
    expect(verifyProviderSignature(rule, body, signed(now), secret, { request, now })).toBeNull();
    expect(verifyProviderSignature(rule, body, signed(now, 'POST', 'http://internal:3003/webhook/0b6e/hubspot'), secret, { request, now })).toBe('invalid_signature');
    expect(verifyProviderSignature(rule, body, signed(now - 301_000), secret, { request, now })).toBe('expired_signature');
    expect(verifyProviderSignature(rule, body, signed(now), { type: 'OAUTH2', client_secret: 'other' }, { request, now })).toBe('invalid_signature');
    // A v1 signature alongside a bad v3 does not help: the newest scheme present decides.
    const v1 = createHash('sha256').update(`hs-secret${body.toString()}`).digest('hex');
    expect(verifyProviderSignature(rule, body, { ...signed(now, 'GET'), 'x-hubspot-signature': v1 }, secret, { request, now })).toBe('invalid_signature');
    expect(verifyProviderSignature(rule, body, {}, secret, { request, now })).toBe('missing_signature');
  });

  test('Stripe: t=<ts>,v1=<hmac of "t.body">; any of several v1 may match', () => {
    const rule = getProvider('stripe').webhook;
    const secret = { type: 'API_KEY', webhook_secret: 'whsec_1' };
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const sig = hmac('whsec_1', `${t}.${body.toString()}`);
    expect(verifyProviderSignature(rule, body, { 'stripe-signature': `t=${t},v1=${hmac('old', 'x')},v1=${sig}` }, secret, { now })).toBeNull();
    expect(verifyProviderSignature(rule, body, { 'stripe-signature': `t=${t},v0=${sig}` }, secret, { now })).toBe('missing_signature');
    expect(verifyProviderSignature(rule, body, { 'stripe-signature': `t=${t - 600},v1=${hmac('whsec_1', `${t - 600}.${body.toString()}`)}` }, secret, { now })).toBe('expired_signature');
  });
});

describe('routing', () => {
  test('values at a path, through arrays of events', () => {
    expect(valuesAt({ installation: { id: 42 } }, 'installation.id')).toEqual(['42']);
    expect(valuesAt([{ portalId: 1 }, { portalId: 2 }, { portalId: 1 }, {}], 'portalId')).toEqual(['1', '2']);
    expect(valuesAt({ a: [{ b: 'x' }, { b: ['y', 'z'] }] }, 'a.b')).toEqual(['x', 'y', 'z']);
    expect(valuesAt('text', 'a')).toEqual([]);
  });

  test('event types from a header or the payload; * subscribes to everything', () => {
    expect(eventTypes(getProvider('github').webhook, {}, { 'x-github-event': 'issues' })).toEqual(['issues']);
    expect(eventTypes(getProvider('hubspot').webhook, [{ subscriptionType: 'contact.creation' }, { subscriptionType: 'deal.creation' }], {})).toEqual(['contact.creation', 'deal.creation']);
    expect(subscribes(['*'], [])).toBe(true);
    expect(subscribes(['issues', 'push'], ['push'])).toBe(true);
    expect(subscribes(['issues'], ['push'])).toBe(false);
  });
});
