import { Writer } from 'protobufjs/minimal';
import type * as protobuf from 'protobufjs';
import { decode, encode, Raw, root, T, timestamp, type Message, type Obj } from './proto';

let lastTaskId = Date.now() * 1000;
/** Monotonic task ids for events (Temporal's `taskId`). */
export function nextTaskId(): number {
  lastTaskId = Math.max(lastTaskId + 1, Date.now() * 1000);
  return lastTaskId;
}

const attributeKeys = new Map<string, string>();

/** `EVENT_TYPE_TIMER_FIRED` -> `timerFiredEventAttributes`. */
export function attributesKey(eventType: string): string {
  let key = attributeKeys.get(eventType);
  if (key === undefined) {
    const camel = eventType
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    attributeKeys.set(eventType, (key = `${camel}EventAttributes`));
  }
  return key;
}

const EVENT_TYPES = root.lookupEnum('temporal.api.enums.v1.EventType').values;
const eventEncodings = new Map<string, { type: number; fieldId: number; attributes: protobuf.Type }>();

/** An event type's number, and the number and type of its attributes' field in HistoryEvent. */
function eventEncoding(eventType: string): { type: number; fieldId: number; attributes: protobuf.Type } {
  let encoding = eventEncodings.get(eventType);
  if (!encoding) {
    const field = T.HistoryEvent.fields[attributesKey(eventType)];
    const type = EVENT_TYPES[eventType];
    if (!field || type === undefined) throw new TypeError(`unknown event type ${eventType}`);
    eventEncodings.set(eventType, (encoding = { type, fieldId: field.id, attributes: field.resolve().resolvedType as protobuf.Type }));
  }
  return encoding;
}

/**
 * A new event (`attrs` as protobufjs `fromObject` takes them), encoded: the bytes protobufjs writes
 * for the whole HistoryEvent, but only the attributes go through its generic code. Converting a
 * HistoryEvent checks each of its ~50 attribute fields, and as every event type has an object shape
 * of its own those checks run megamorphic: about 3x the cost of the attributes alone.
 */
export function newEvent(eventId: number, time: number, eventType: string, attrs: Obj): Buffer {
  const { type, fieldId, attributes } = eventEncoding(eventType);
  const { seconds, nanos } = timestamp(time);
  // Fields in protobufjs's order (by number), zeros left out as it does: eventId 1, eventTime 2,
  // eventType 3, taskId 5, then the attributes.
  const w = Writer.create();
  if (eventId) w.uint32(8).int64(eventId);
  w.uint32(18).fork();
  if (seconds) w.uint32(8).int64(seconds);
  if (nanos) w.uint32(16).int32(nanos);
  w.ldelim().uint32(24).int32(type).uint32(40).int64(nextTaskId());
  // The attributes get a writer of the protobufjs they were generated with (not necessarily ours).
  w.uint32((fieldId << 3) | 2).bytes(attributes.encode(attributes.fromObject(attrs)).finish());
  return Buffer.from(w.finish());
}

/** Encodes a decoded event (e.g. one taken from the buffer and renumbered). */
export function encodeEvent(event: Obj): Buffer {
  return encode(T.HistoryEvent, event);
}

/** A History message of stored events, sent without decoding them (History.events is field 1). */
export function rawHistory(rows: { data: Uint8Array }[]): Raw {
  return Raw.repeated(1, rows.map((r) => r.data));
}

export function decodeEvent(bytes: Uint8Array): Message {
  return decode(T.HistoryEvent, bytes);
}

/** The name of a decoded event's type (`EVENT_TYPE_...`). */
export function eventTypeName(event: Message): string {
  const e = T.HistoryEvent.root.lookupEnum('temporal.api.enums.v1.EventType');
  return typeof event.eventType === 'string' ? event.eventType : e.valuesById[event.eventType as number];
}

export function eventAttributes(event: Message): Message {
  return event[attributesKey(eventTypeName(event))] as Message;
}
