import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderWebhook, WebhookSignature } from '../providers';
import type { IntegrationCredentials } from '../types';
import { safeEqual } from './signing';

/** Why an incoming webhook was refused; `null` when its signature holds (or none is required). */
export type SignatureProblem = 'missing_secret' | 'missing_signature' | 'invalid_signature' | 'expired_signature' | null;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

/** `k=v,k=v` (Stripe's signature header); a repeated key keeps every value. */
function parts(value: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const piece of value.split(',')) {
    const at = piece.indexOf('=');
    if (at <= 0) continue;
    const key = piece.slice(0, at).trim();
    map.set(key, [...(map.get(key) ?? []), piece.slice(at + 1).trim()]);
  }
  return map;
}

/** The request a webhook came in: what `${method}` and `${url}` (the full URL the provider called) sign. */
export interface WebhookRequest {
  method: string;
  url: string;
}

/** The signing schemes of a provider's webhooks, newest first (none: unsigned). */
export function signatureSchemes(rule: ProviderWebhook | undefined): WebhookSignature[] {
  return rule?.signature === undefined ? [] : [rule.signature].flat();
}

/**
 * Checks a provider's signature over the raw body as the catalogue's `webhook.signature` says:
 * of several schemes, the first whose header the delivery carries. No rule: accepted. A rule but
 * no secret configured on the integration: refused.
 *
 * @example
 * verifyProviderSignature(getProvider('github')!.webhook, rawBody, req.headers, integration.credentials); // null when valid
 */
export function verifyProviderSignature(
  rule: ProviderWebhook | undefined,
  rawBody: Buffer,
  headers: IncomingHttpHeaders,
  credentials: IntegrationCredentials | null,
  options: { request?: WebhookRequest; now?: number } = {},
): SignatureProblem {
  const schemes = signatureSchemes(rule);
  if (!schemes.length) return null;
  const signature = schemes.find((s) => header(headers, s.header)) ?? schemes[0]!;
  const { request, now = Date.now() } = options;
  const secret = credentials?.[signature.secret ?? 'webhook_secret'];
  if (typeof secret !== 'string' || !secret) return 'missing_secret';
  const raw = header(headers, signature.header);
  if (!raw) return 'missing_signature';
  const fields = parts(raw);
  const given = signature.signature_part ? (fields.get(signature.signature_part) ?? []) : [raw];
  if (!given.length) return 'missing_signature';

  const lookup = (ref: string): string | undefined => {
    const [kind, name] = [ref.slice(0, ref.indexOf('.')), ref.slice(ref.indexOf('.') + 1)];
    if (kind === 'header') return header(headers, name);
    if (kind === 'part') return fields.get(name)?.[0];
    return undefined;
  };
  if (signature.tolerance_seconds && signature.timestamp) {
    const stamp = Number(lookup(signature.timestamp));
    // Seconds, or milliseconds (HubSpot's): a timestamp in seconds stays below 1e12 for 30,000 years.
    const seconds = stamp > 1e12 ? stamp / 1000 : stamp;
    if (!Number.isFinite(seconds) || Math.abs(now / 1000 - seconds) > signature.tolerance_seconds) return 'expired_signature';
  }

  const template = signature.signed_payload ?? '${body}';
  const chunks: Buffer[] = [];
  let last = 0;
  for (const match of template.matchAll(/\$\{([\w.-]+)\}/g)) {
    chunks.push(Buffer.from(template.slice(last, match.index)));
    const name = match[1]!;
    chunks.push(name === 'body' ? rawBody : Buffer.from(templateValue(name, secret, request) ?? lookup(name) ?? ''));
    last = match.index + match[0].length;
  }
  chunks.push(Buffer.from(template.slice(last)));
  const signed = Buffer.concat(chunks);
  const encoding = signature.encoding ?? 'hex';
  const expected =
    signature.algorithm === 'sha256'
      ? createHash('sha256').update(signed).digest(encoding)
      : createHmac(signature.algorithm === 'hmac-sha1' ? 'sha1' : 'sha256', secret).update(signed).digest(encoding);
  const strip = (v: string) => (signature.prefix && v.startsWith(signature.prefix) ? v.slice(signature.prefix.length) : v);
  const normal = (v: string) => (encoding === 'hex' ? v.toLowerCase() : v);
  return given.some((v) => safeEqual(normal(strip(v)), normal(expected))) ? null : 'invalid_signature';
}

function templateValue(name: string, secret: string, request: WebhookRequest | undefined): string | undefined {
  if (name === 'secret') return secret;
  if (name === 'method') return request?.method.toUpperCase();
  if (name === 'url') return request?.url;
  return undefined;
}

/**
 * Values at a dotted path; arrays along the way (a batch of events) are searched element by element.
 *
 * @example
 * valuesAt([{ portalId: 1 }, { portalId: 2 }], 'portalId'); // ['1', '2']
 */
export function valuesAt(payload: unknown, path: string): string[] {
  let current: unknown[] = [payload];
  for (const key of path.split('.')) {
    current = current.flatMap((v) => (Array.isArray(v) ? v : [v])).flatMap((v) => (v !== null && typeof v === 'object' && key in v ? [(v as Record<string, unknown>)[key]] : []));
  }
  const values = current.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
  return [...new Set(values.map(String))];
}

/** The event types of a delivery (one per event of a batch), for `webhook-subscriptions`. */
export function eventTypes(rule: ProviderWebhook | undefined, payload: unknown, headers: IncomingHttpHeaders): string[] {
  const types = new Set<string>();
  if (rule?.event_type?.header) {
    const value = header(headers, rule.event_type.header);
    if (value) types.add(value);
  }
  if (rule?.event_type?.payload_path) for (const v of valuesAt(payload, rule.event_type.payload_path)) types.add(v);
  return [...types];
}

/** A sync subscribes to a delivery when its `webhook-subscriptions` hold `*` or one of the delivery's event types. */
export function subscribes(subscriptions: readonly string[], types: readonly string[]): boolean {
  return subscriptions.includes('*') || subscriptions.some((s) => types.includes(s));
}
