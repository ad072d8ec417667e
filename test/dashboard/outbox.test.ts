import { openPage, useDashboard } from './browser';

/**
 * Outbox events that failed too often (OUTBOX_MAX_ATTEMPTS) wait for an operator: the API lists the
 * key's environment's and sends one through again; the dashboard's Outbox page does the same.
 */
jest.setTimeout(60_000);

// The callbacks handed to page.waitForFunction run in the browser.
declare const document: any;

const t = useDashboard();

/** An `auth` event that already failed every attempt. */
async function deadAuthEvent(connectionId: string): Promise<number> {
  const { rows } = await t.server.store.db.query<{ id: number }>(
    `INSERT INTO auth_events (environment_id, operation, success, provider_config_key, provider, connection_id, auth_mode, attempts, dead_at, last_error)
     VALUES ($1, 'refresh', false, 'github', 'github', $2, 'OAUTH2', 20, now(), 'webhook settings unreadable') RETURNING id::int AS id`,
    [t.server.env.dev, connectionId],
  );
  return rows[0]!.id;
}
const isDead = async (id: number) => (await t.server.store.db.query('SELECT 1 FROM auth_events WHERE id = $1 AND dead_at IS NOT NULL', [id])).rows.length === 1;
const call = (path: string, key: string, method = 'GET') => fetch(`${t.server.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
const dataOf = async (res: Response) => ((await res.json()) as { data: unknown[] }).data;

test('GET /environment/outbox/dead lists the environment’s dead events; POST .../retry sends one through again', async () => {
  const id = await deadAuthEvent('u-api');
  const listed = await call('/environment/outbox/dead', t.server.keys.dev);
  expect(listed.status).toBe(200);
  expect(await dataOf(listed)).toContainEqual({
    outbox: 'auth',
    id,
    attempts: 20,
    last_error: 'webhook settings unreadable',
    created_at: expect.any(String),
    dead_at: expect.any(String),
    event: { operation: 'refresh', success: false, provider_config_key: 'github', provider: 'github', connection_id: 'u-api', auth_mode: 'OAUTH2', end_user_id: null, error: null },
  });
  expect(await dataOf(await call('/environment/outbox/dead', t.server.keys.prod))).toEqual([]);

  // Another environment's key, an unknown outbox or id: refused, nothing changes.
  expect((await call(`/environment/outbox/auth/${id}/retry`, t.server.keys.prod, 'POST')).status).toBe(404);
  const badOutbox = await call(`/environment/outbox/mail/${id}/retry`, t.server.keys.dev, 'POST');
  expect(badOutbox.status).toBe(400);
  expect(await badOutbox.json()).toMatchObject({ error: { code: 'invalid_params', message: 'outbox: outbox must be auth or lifecycle' } });
  expect((await call('/environment/outbox/auth/abc/retry', t.server.keys.dev, 'POST')).status).toBe(400);
  expect(await isDead(id)).toBe(true);

  const retried = await call(`/environment/outbox/auth/${id}/retry`, t.server.keys.dev, 'POST');
  expect(retried.status).toBe(200);
  expect(await retried.json()).toEqual({ success: true });
  expect(await isDead(id)).toBe(false);
  expect((await call(`/environment/outbox/auth/${id}/retry`, t.server.keys.dev, 'POST')).status).toBe(404);
});

test('the Outbox page shows a dead event with why it failed, and Retry sends it through again', async () => {
  const id = await deadAuthEvent('u-page');
  await openPage(t.page, t.server.url, t.server.keys.dev, '#/outbox');
  const row = `tr.dead[data-id="auth-${id}"]`;
  await t.page.waitForSelector(row);
  expect(await t.page.textContent(row)).toContain('u-page');
  expect(await t.page.textContent(row)).toContain('webhook settings unreadable');

  await t.page.click(`${row} button.retry`);
  await t.page.waitForFunction(() => /^Sent again/.test(document.querySelector('#outbox-status')?.textContent ?? ''));
  expect(await t.page.textContent('#outbox-status')).toBe(`Sent again: auth webhook ${id}.`);
  expect(await t.page.$(row)).toBeNull();
  expect(await isDead(id)).toBe(false);
});
