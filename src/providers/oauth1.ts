import { createHmac, randomBytes } from 'node:crypto';

/** RFC 3986 percent-encoding, as RFC 5849 §3.6 requires (stricter than encodeURIComponent). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface OAuth1Keys {
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
  /** Only on the request-token call. */
  callback?: string;
  /** Only on the access-token call. */
  verifier?: string;
  /** An `application/x-www-form-urlencoded` body, whose parameters the signature covers too (RFC 5849 §3.4.1.3.1). */
  form?: string;
}

/**
 * The `Authorization: OAuth …` header of an HMAC-SHA1 signed OAuth 1.0a request (RFC 5849 §3).
 * The signature covers the method, the URL without query, and every query parameter of `url`
 * plus the `oauth_*` ones, and the parameters of a form body when `keys.form` gives it.
 *
 * @example
 * const header = oauth1Header('GET', 'https://api.trello.com/1/members/me?fields=id', { consumerKey, consumerSecret, token, tokenSecret });
 */
export function oauth1Header(method: string, url: string, keys: OAuth1Keys, now = Date.now(), nonce = randomBytes(16).toString('hex')): string {
  const oauth: Record<string, string> = {
    oauth_consumer_key: keys.consumerKey,
    oauth_nonce: nonce,
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_version: '1.0',
  };
  if (keys.token) oauth.oauth_token = keys.token;
  if (keys.callback) oauth.oauth_callback = keys.callback;
  if (keys.verifier) oauth.oauth_verifier = keys.verifier;
  const parsed = new URL(url);
  const form = keys.form ? [...new URLSearchParams(keys.form).entries()] : [];
  const params: Array<[string, string]> = [...parsed.searchParams.entries(), ...form, ...Object.entries(oauth)].map(([k, v]) => [rfc3986(k), rfc3986(v)]);
  params.sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1));
  const normalised = params.map(([k, v]) => `${k}=${v}`).join('&');
  const base = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const text = [method.toUpperCase(), rfc3986(base), rfc3986(normalised)].join('&');
  const key = `${rfc3986(keys.consumerSecret)}&${rfc3986(keys.tokenSecret ?? '')}`;
  oauth.oauth_signature = createHmac('sha1', key).update(text).digest('base64');
  return `OAuth ${Object.entries(oauth)
    .map(([k, v]) => `${rfc3986(k)}="${rfc3986(v)}"`)
    .join(', ')}`;
}
