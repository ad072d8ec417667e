import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { useUserProviders } from '../../src/providers';
import type { FakeOAuthProvider } from '../fixtures/oauth-provider';
import { startTestApi, type TestApi } from '../helpers/api';
import { addFakeIntegration, connectSession, startFakeProvider } from '../helpers/oauth';

/**
 * End to end in headless Chromium (Debian's `chromium`, driven by playwright-core): connect session
 * → connect page → the provider's consent page → callback → connection stored → proxied call with
 * the new token. Screenshots go to test-artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts');

let api: TestApi;
let fake: FakeOAuthProvider;
let browser: Browser;
let app: Server;
let appUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  [api, fake, browser] = await Promise.all([
    startTestApi(),
    startFakeProvider(),
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
  ]);
  await addFakeIntegration(api, 'fake-oauth2', fake);
  await addFakeIntegration(api, 'fake-key', fake);
  // The product team's app, on its own origin: it loads the browser SDK from Syncline.
  app = createServer((req, res) => {
    const token = new URL(req.url!, 'http://x').searchParams.get('token') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html><body>
<button id="connect">Connect</button><pre id="out"></pre>
<script src="${api.url}/sdk/frontend.js"></script>
<script>
document.getElementById('connect').onclick = function () {
  new Syncline({ connectSessionToken: ${JSON.stringify(token)}, host: ${JSON.stringify(api.url)} })
    .auth('fake-oauth2', 'from-popup')
    .then(function (r) { document.getElementById('out').textContent = 'ok ' + JSON.stringify(r); })
    .catch(function (e) { document.getElementById('out').textContent = 'error ' + e.message; });
};
</script></body></html>`);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  useUserProviders({});
  await browser?.close();
  app?.closeAllConnections();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  await Promise.all([api?.close(), fake?.close()]);
});

test('connect page → consent → callback → stored connection → proxied call with the new token', async () => {
  const session = await connectSession(api, { end_user: { id: 'browser-user', email: 'b@example.com' }, allowed_integrations: ['fake-oauth2', 'fake-key'] });
  const page = await browser.newPage();
  try {
    await page.goto(session.connect_link);
    await page.screenshot({ path: path.join(ARTIFACTS, 'connect-page.png'), fullPage: true });
    expect(await page.locator('[data-integration]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-integration')))).toEqual([
      'fake-oauth2',
      'fake-key',
    ]);

    await page.click('#connect-fake-oauth2');
    await page.waitForURL(`${fake.url}/authorize?**`);
    expect(await page.textContent('#scopes')).toBe('read write');
    await page.screenshot({ path: path.join(ARTIFACTS, 'provider-consent.png') });

    await page.click('#approve');
    await page.waitForSelector('#result');
    await page.screenshot({ path: path.join(ARTIFACTS, 'connect-result.png') });
    expect(await page.textContent('#result')).toBe('Connected');
    const connectionId = (await page.textContent('#connection-id'))!;

    const connection = await api.dev.getConnection('fake-oauth2', connectionId);
    expect(connection).toMatchObject({ end_user: { id: 'browser-user', email: 'b@example.com' }, credentials: { type: 'OAUTH2' } });
    const res = await api.dev.get({ providerConfigKey: 'fake-oauth2', connectionId, endpoint: '/echo' });
    expect(res.status).toBe(200);
    expect(res.data.headers.authorization).toBe(`Bearer ${connection.credentials.access_token}`);
  } finally {
    await page.close();
  }
});

test('the browser SDK opens the popup and resolves with the connection', async () => {
  const { token } = await connectSession(api, { end_user: { id: 'popup-user' } });
  const page = await browser.newPage();
  try {
    await page.goto(`${appUrl}/?token=${encodeURIComponent(token)}`);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#connect')]);
    await popup.waitForURL(`${fake.url}/authorize?**`);
    await popup.screenshot({ path: path.join(ARTIFACTS, 'popup-consent.png') });
    await popup.click('#approve');
    await page.waitForFunction("document.getElementById('out').textContent !== ''");
    expect(await page.textContent('#out')).toBe('ok {"providerConfigKey":"fake-oauth2","connectionId":"from-popup"}');
    const res = await api.dev.get({ providerConfigKey: 'fake-oauth2', connectionId: 'from-popup', endpoint: '/echo' });
    expect(res.status).toBe(200);
  } finally {
    await page.close();
  }
});
