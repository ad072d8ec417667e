import type * as protobuf from 'protobufjs';
import { Writer } from 'protobufjs/minimal';
// protobufjs reflection for every Temporal API message, shipped with @temporalio/proto.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root: protobuf.Root = require('@temporalio/proto/protos/root');

/** A decoded protobuf message (request parts, stored events). Kept as-is so payloads survive byte for byte. */
export type Message = protobuf.Message & Record<string, any>;
/** A plain object in protobufjs `fromObject` shape; nested decoded messages are accepted as they are. */
export type Obj = Record<string, any>;

export { root };

export function type(name: string): protobuf.Type {
  return root.lookupType(name);
}

export const T = {
  HistoryEvent: type('temporal.api.history.v1.HistoryEvent'),
  Payloads: type('temporal.api.common.v1.Payloads'),
  Payload: type('temporal.api.common.v1.Payload'),
  Failure: type('temporal.api.failure.v1.Failure'),
  Header: type('temporal.api.common.v1.Header'),
  Memo: type('temporal.api.common.v1.Memo'),
  SearchAttributes: type('temporal.api.common.v1.SearchAttributes'),
  RetryPolicy: type('temporal.api.common.v1.RetryPolicy'),
  WorkflowQuery: type('temporal.api.query.v1.WorkflowQuery'),
  Status: type('google.rpc.Status'),
  PollWorkflowTaskQueueResponse: type('temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse'),
};

/** Encodes a message (or fromObject-shaped object) to bytes. */
export function encode(t: protobuf.Type, obj: Obj): Buffer {
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

/**
 * A message field's value already encoded, e.g. a history whose events are sent as they are stored
 * instead of being decoded only to be encoded again. `encodeWithRaw` splices it in.
 */
export class Raw {
  constructor(readonly bytes: Uint8Array) {}

  /** A message whose one repeated message field `fieldId` holds `items` (e.g. History.events, field 1). */
  static repeated(fieldId: number, items: Uint8Array[]): Raw {
    const w = Writer.create();
    for (const item of items) w.uint32((fieldId << 3) | 2).bytes(item);
    return new Raw(w.finish());
  }
}

/** `encode`, where top-level fields may be `Raw`: they are appended as they are (protobuf allows fields in any order). */
export function encodeWithRaw(t: protobuf.Type, obj: Obj): Buffer {
  let plain = obj;
  const tail: Uint8Array[] = [];
  for (const key in obj) {
    const value = obj[key];
    if (!(value instanceof Raw)) continue;
    if (plain === obj) plain = { ...obj };
    delete plain[key];
    tail.push(Writer.create().uint32((t.fields[key].id << 3) | 2).bytes(value.bytes).finish());
  }
  const head = encode(t, plain);
  return tail.length ? Buffer.concat([head, ...tail]) : head;
}

export function decode(t: protobuf.Type, bytes: Uint8Array): Message {
  return t.decode(bytes) as Message;
}

/** Messages kept inside JSON state: base64 of their encoding. */
export function pack(t: protobuf.Type, obj: Obj | null | undefined): string | undefined {
  return obj ? encode(t, obj).toString('base64') : undefined;
}

export function unpack(t: protobuf.Type, b64: string | undefined | null): Message | undefined {
  return b64 ? decode(t, Buffer.from(b64, 'base64')) : undefined;
}

/** int64 fields arrive as Long; numbers stay numbers. */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** google.protobuf.Duration to milliseconds (0 when absent). */
export function durationMs(d: Obj | null | undefined): number {
  if (!d) return 0;
  return num(d.seconds) * 1000 + Math.floor(num(d.nanos) / 1e6);
}

export function msDuration(ms: number): Obj | undefined {
  if (!ms || ms <= 0) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function timestamp(ms: number): Obj {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Numeric value of an enum given as number or name. */
export function enumValue(enumName: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return root.lookupEnum(enumName).values[v] ?? 0;
  return 0;
}

export function enumName(enumFullName: string, v: number): string {
  return root.lookupEnum(enumFullName).valuesById[v] ?? String(v);
}
