import { signatureHeaders } from './signing';

/** Longest wait for the app's answer to one attempt, as in Nango. */
export const WEBHOOK_TIMEOUT_MS = 20_000;

export interface PostOutcome {
  /** 2xx. */
  ok: boolean;
  statusCode: number | null;
  /** Why it failed: the status line, a network error or the timeout. */
  error: string | null;
  durationMs: number;
}

/**
 * One signed POST of `body` (JSON text) to `url`. Never throws: the outcome says what happened.
 *
 * @example
 * const outcome = await postWebhook('https://app.example.com/hooks', '{"type":"sync"}', signingKey);
 */
export async function postWebhook(url: string, body: string, signingKey: string, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Syncline-Webhooks', ...signatureHeaders(body, signingKey) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, statusCode: response.status, error: ok ? null : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, durationMs: elapsed() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const error = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, statusCode: null, error, durationMs: elapsed() };
  }
}
