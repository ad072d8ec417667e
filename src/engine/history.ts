import { decode, encode, Raw, T, timestamp, type Message, type Obj } from './proto';

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

export function buildEvent(eventId: number, time: number, eventType: string, attrs: Obj): Obj {
  return { eventId, eventTime: timestamp(time), eventType, taskId: nextTaskId(), [attributesKey(eventType)]: attrs };
}

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
