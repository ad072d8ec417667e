import { temporal } from '@temporalio/proto';

/**
 * Histories as the differential test compares them: each event as proto JSON (enum names, bytes in
 * base64), walked generically to take out what differs between two runs of the same workflow on any
 * server (times, identities, request ids, task tokens and ids, sizes that count them) and to replace
 * run ids by their order of first appearance, so that references between runs still compare.
 */

/** Keys left out wherever they appear. */
const VOLATILE_KEYS = new Set(['identity', 'requestId', 'taskToken', 'taskId', 'namespaceId', 'historySizeBytes']);
const VOLATILE_SUFFIX = /(Time|Times|Timestamp|RequestId|_time)$/;
/** Keys whose value is measured from the clock (a backoff until a due time): only their presence compares. */
const MEASURED_KEYS = new Set(['firstWorkflowTaskBackoff']);
const RUN_ID = /^runId$|RunId$/;
/** Keys holding a namespace's id, which each server draws at random. */
const NAMESPACE_ID = /NamespaceId$/;
/** Lists the SDK sends from a hash set, in no particular order. */
const SET_SUFFIX = /Flags$/;
const JSON_ENCODING = Buffer.from('json/plain').toString('base64');
/** Times embedded in strings (a scheduled workflow's id ends with its scheduled time). */
export const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class Normaliser {
  private runIds = new Map<string, string>();

  /** `history`'s events, normalised. Empty messages and lists count as absent (the SDK reads them alike). */
  events(history: temporal.api.history.v1.IHistory): Json[] {
    const object = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { enums: String, longs: String, bytes: String });
    return ((object.events ?? []) as unknown[]).map((e) => this.value(e) ?? {});
  }

  /** Any other message of the API, normalised the same way (`type` is its generated class). */
  message<T>(type: { fromObject(o: object): T; toObject(m: T, o: object): object }, message: object): Json {
    return this.value(type.toObject(type.fromObject(message), { enums: String, longs: String, bytes: String })) ?? {};
  }

  private value(v: unknown, key = ''): Json | undefined {
    if (v === null || v === undefined) return undefined;
    if (RUN_ID.test(key) && typeof v === 'string' && v !== '') {
      if (!this.runIds.has(v)) this.runIds.set(v, `<run ${this.runIds.size + 1}>`);
      return this.runIds.get(v)!;
    }
    if (NAMESPACE_ID.test(key)) return '<namespace id>';
    if (MEASURED_KEYS.has(key)) return this.value(v) === undefined ? undefined : '<measured>';
    // A stack trace is the worker's, and its frames below the throwing one depend on Node's scheduling.
    if (key === 'stackTrace' && typeof v === 'string') return v.split('\n').slice(0, 2).join('\n');
    if (typeof v === 'string') return v.replace(ISO_TIME, '<time>');
    if (Array.isArray(v)) {
      const items = v.map((x) => this.value(x) ?? null);
      if (SET_SUFFIX.test(key)) items.sort();
      return items.length ? items : undefined;
    }
    if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const out: { [key: string]: Json } = {};
      for (const [k, x] of Object.entries(o)) {
        if (VOLATILE_KEYS.has(k) || VOLATILE_SUFFIX.test(k)) continue;
        const n = this.value(x, k);
        if (n !== undefined) out[k] = n;
      }
      // A sticky queue is named after the worker that holds it.
      if (o.kind === 'TASK_QUEUE_KIND_STICKY') out.name = '<sticky>';
      // A JSON payload compares by its normalised content (a local activity's marker holds times).
      if ((o.metadata as Record<string, unknown> | undefined)?.encoding === JSON_ENCODING && typeof o.data === 'string') {
        out.data = this.value(JSON.parse(Buffer.from(o.data, 'base64').toString('utf8'))) ?? null;
      }
      return Object.keys(out).length ? out : undefined;
    }
    return v as Json;
  }
}

const show = (v: Json | undefined) => {
  const s = v === undefined ? 'absent' : JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
};

/** Where two normalised values differ, as `path: engine X, server Y` lines. */
export function differences(engine: Json | undefined, server: Json | undefined, path = ''): string[] {
  const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(engine) && Array.isArray(server)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(engine.length, server.length); i++) out.push(...differences(engine[i], server[i], `${path}[${i}]`));
    return out;
  }
  if (isObject(engine) && isObject(server)) {
    const keys = [...new Set([...Object.keys(engine), ...Object.keys(server)])];
    return keys.flatMap((k) => differences(engine[k], server[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(engine) === JSON.stringify(server) ? [] : [`${path}: engine ${show(engine)}, server ${show(server)}`];
}

const typeOf = (e: Json) => String((e as { eventType?: string }).eventType).replace(/^EVENT_TYPE_/, '');

/**
 * The differences between two runs' normalised events: the event types side by side when their
 * sequences differ, else each differing attribute by event.
 */
export function historyDifferences(label: string, engine: Json[], server: Json[]): string[] {
  const engineTypes = engine.map(typeOf);
  const serverTypes = server.map(typeOf);
  if (engineTypes.join() !== serverTypes.join()) {
    const rows = Array.from({ length: Math.max(engine.length, server.length) }, (_, i) => `  ${i + 1}. ${engineTypes[i] ?? '-'}${engineTypes[i] === serverTypes[i] ? '' : ` | server: ${serverTypes[i] ?? '-'}`}`);
    return [`${label}: event types differ (engine | server):\n${rows.join('\n')}`];
  }
  return engine.flatMap((e, i) => differences(e, server[i]).map((d) => `${label}: event ${i + 1} ${engineTypes[i]}: ${d}`));
}
