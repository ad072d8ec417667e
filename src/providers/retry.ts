import type { RetryHints } from './types';

/** Network failures worth another attempt (Nango's list). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ECONNREFUSED', 'EHOSTUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'EPIPE']);

/** Whether a failed response is worth another attempt, per the provider's hints and the call. */
export function isRetryable(hints: RetryHints | undefined, retryOn: number[] | null | undefined, status: number, headers: Record<string, string>): boolean {
  if (retryOn?.includes(status)) return true;
  if (hints?.remaining && headers[hints.remaining.toLowerCase()] === '0') return true;
  if (hints?.error_code?.length) return hints.error_code.some((code) => statusMatches(code, status));
  return status >= 500 || status === 429;
}

function statusMatches(pattern: string, status: number): boolean {
  const text = String(pattern).trim().toLowerCase();
  const range = /^(\d{3})-(\d{3})$/.exec(text);
  if (range) return status >= Number(range[1]) && status <= Number(range[2]);
  if (/^\dxx$/.test(text)) return Math.floor(status / 100) === Number(text[0]);
  return Number(text) === status;
}

/**
 * How long the response asks to wait, in ms: the longest of the `at` headers (an instant: epoch
 * seconds, epoch ms or HTTP date) and `after` headers (seconds or HTTP date). A standard
 * `Retry-After` always counts. Undefined when no header says.
 */
export function waitFromHeaders(hints: { at?: string | string[]; after?: string | string[] } | undefined, headers: Record<string, string>, now = Date.now()): number | undefined {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const waits: number[] = [];
  for (const name of list(hints?.at)) {
    const value = headers[name.toLowerCase()];
    const instant = value === undefined ? undefined : parseInstant(value);
    if (instant !== undefined) waits.push(instant - now);
  }
  for (const name of new Set([...list(hints?.after).map((n) => n.toLowerCase()), 'retry-after'])) {
    const value = headers[name];
    if (value === undefined) continue;
    if (/^\d+(\.\d+)?$/.test(value.trim())) waits.push(Number(value) * 1000);
    else if (!Number.isNaN(Date.parse(value))) waits.push(Date.parse(value) - now);
  }
  return waits.length ? Math.max(0, Math.ceil(Math.max(...waits))) : undefined;
}

function parseInstant(value: string): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    return n > 1e12 ? n : n * 1000;
  }
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : date;
}
