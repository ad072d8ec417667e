import { useCliServer } from '../helpers/cli';

jest.setTimeout(60_000);

const t = useCliServer('webhook-cli');
const { syncline } = t;

test('webhook set / show / rotate-key / deliveries', async () => {
  const set = await syncline(['webhook', 'set', '--primary-url', 'https://app.example.com/hooks', '--sync-always', 'on', '--auth-creation', 'off']);
  expect(set.stderr).toBe('');
  expect(set.code).toBe(0);
  expect(set.stdout).toContain('primary_url\thttps://app.example.com/hooks\n');
  expect(set.stdout).toContain('sync-always\ton\n');
  expect(set.stdout).toContain('auth-creation\toff\n');
  expect(set.stdout).toContain('refresh-error\ton\n');

  const settings = await t.server.store.webhooks.settings(t.server.env.dev);
  expect(settings).toMatchObject({ primaryUrl: 'https://app.example.com/hooks', onSyncCompletionAlways: true, onAuthCreation: false });

  const show = await syncline(['webhook', 'show']);
  expect(show.stdout).toContain(`signing_key\t${settings.signingKey}\n`);
  expect(show.stdout).toMatch(/incoming\t\/webhook\/[0-9a-f-]{36}\/<integration>\n/);

  const rotated = await syncline(['webhook', 'rotate-key']);
  expect(rotated.code).toBe(0);
  const key = rotated.stdout.trim();
  expect(key).toMatch(/^whsk_/);
  expect((await t.server.store.webhooks.settings(t.server.env.dev)).signingKey).toBe(key);

  const cleared = await syncline(['webhook', 'set', '--primary-url', 'none']);
  expect(cleared.stdout).toContain('primary_url\t-\n');

  const deliveries = await syncline(['webhook', 'deliveries']);
  expect(deliveries).toMatchObject({ code: 0, stdout: '' });
});

test('bad values are one line and exit 1, nothing changed', async () => {
  const bad = await syncline(['webhook', 'set', '--sync-error', 'maybe']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe('syncline: --sync-error: expected on or off, got "maybe"\n');
  const url = await syncline(['webhook', 'set', '--primary-url', 'ftp://x']);
  expect(url.stderr).toBe('syncline: --primary-url: "ftp://x" is not an http(s) URL (use "none" to clear it)\n');
  const nothing = await syncline(['webhook', 'set']);
  expect(nothing.code).toBe(1);
  expect((await t.server.store.webhooks.settings(t.server.env.dev)).onSyncError).toBe(true);
});
