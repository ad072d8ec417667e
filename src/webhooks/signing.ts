import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The headers every outgoing webhook carries, as Nango sends them. */
export const HMAC_HEADER = 'X-Nango-Hmac-Sha256';
/** Legacy: sha256 hex of (signing key + body). */
export const LEGACY_SIGNATURE_HEADER = 'X-Nango-Signature';

/**
 * Signature headers of a body: `X-Nango-Hmac-Sha256` (hex HMAC-SHA256 of the raw body) and the
 * legacy `X-Nango-Signature`.
 *
 * @example
 * const headers = signatureHeaders('{"type":"sync"}', signingKey);
 */
export function signatureHeaders(body: string, signingKey: string): Record<string, string> {
  return {
    [HMAC_HEADER]: createHmac('sha256', signingKey).update(body).digest('hex'),
    [LEGACY_SIGNATURE_HEADER]: createHash('sha256').update(`${signingKey}${body}`).digest('hex'),
  };
}

/** Compares two strings in constant time (for equal lengths). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
