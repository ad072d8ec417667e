import type { Obj } from './proto';

/** Decodes search attribute payloads (json/plain) into plain values for list filters. */
export function keywordsOf(searchAttributes: Obj | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = searchAttributes?.indexedFields ?? {};
  for (const [name, payload] of Object.entries(fields as Record<string, Obj>)) {
    const data = payload?.data;
    if (!data || !data.length) {
      out[name] = null;
      continue;
    }
    try {
      const value: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
      // The SDK sends keyword values as one-element lists.
      out[name] = Array.isArray(value) && value.length === 1 ? value[0] : value;
    } catch {
      out[name] = Buffer.from(data).toString('utf8');
    }
  }
  return out;
}

/** A search attribute's payload as SDKs write it: json/plain, with its type (Keyword, Datetime, ...) for typed decoding. */
export function searchAttributePayload(value: unknown, type: string): Obj {
  return { metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) }, data: Buffer.from(JSON.stringify(value)) };
}

/**
 * Merges upserted payload maps (search attributes: `indexedFields`, memo: `fields`) into the
 * current ones; an empty payload removes the key.
 */
export function mergePayloadMap(key: 'indexedFields' | 'fields', current: Obj | undefined, upsert: Obj | undefined): Obj {
  const fields: Record<string, Obj> = { ...(current?.[key] ?? {}) };
  for (const [name, payload] of Object.entries((upsert?.[key] ?? {}) as Record<string, Obj>)) {
    if (!payload?.data || !payload.data.length) delete fields[name];
    else fields[name] = payload;
  }
  return { [key]: fields };
}
