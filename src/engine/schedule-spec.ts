import { createHash } from 'node:crypto';
import { nextCronTime, parseCron } from './cron';
import { invalidArgument } from './errors';
import { durationMs, num, type Obj } from './proto';

/**
 * When a schedule's spec (temporal.api.schedule.v1.ScheduleSpec) fires, in UTC: intervals (aligned
 * to the epoch plus their phase), structured calendars, cron strings, minus the excluded calendars,
 * within start and end times. Time zones other than UTC are refused, as are the string calendars
 * (`calendar`; the SDKs send structured ones).
 */

const DAY_MS = 86_400_000;
/** How far ahead a calendar is searched for its next match. */
const CALENDAR_HORIZON_DAYS = 366 * 5;

interface Calendar {
  seconds: number[];
  minutes: number[];
  hours: number[];
  days: Set<number>;
  months: Set<number>;
  years?: Set<number>;
  weekdays: Set<number>;
}

/** The values a list of Ranges allows; `fallback` when the list is empty (`undefined`: every value). */
function rangeValues(ranges: Obj[] | null | undefined, min: number, max: number, fallback: number | undefined, field: string): number[] {
  if (!ranges?.length) return fallback === undefined ? Array.from({ length: max - min + 1 }, (_, i) => min + i) : [fallback];
  const out = new Set<number>();
  for (const r of ranges) {
    const start = num(r.start);
    const end = Math.max(start, num(r.end));
    const step = num(r.step) || 1;
    if (start < min || end > max || step < 1) throw invalidArgument(`schedule calendar ${field} range ${start}-${end}/${step} is outside ${min}-${max}`);
    for (let v = start; v <= end; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

function calendar(c: Obj): Calendar {
  const weekdays = new Set(rangeValues(c.dayOfWeek, 0, 7, undefined, 'dayOfWeek').map((d) => d % 7));
  return {
    seconds: rangeValues(c.second, 0, 59, 0, 'second'),
    minutes: rangeValues(c.minute, 0, 59, 0, 'minute'),
    hours: rangeValues(c.hour, 0, 23, 0, 'hour'),
    days: new Set(rangeValues(c.dayOfMonth, 1, 31, undefined, 'dayOfMonth')),
    months: new Set(rangeValues(c.month, 1, 12, undefined, 'month')),
    years: c.year?.length ? new Set(rangeValues(c.year, 1970, 2999, undefined, 'year')) : undefined,
    weekdays,
  };
}

function dayMatches(c: Calendar, d: Date): boolean {
  return (!c.years || c.years.has(d.getUTCFullYear())) && c.months.has(d.getUTCMonth() + 1) && c.days.has(d.getUTCDate()) && c.weekdays.has(d.getUTCDay());
}

function calendarMatches(c: Calendar, t: number): boolean {
  const d = new Date(t);
  return d.getUTCMilliseconds() === 0 && dayMatches(c, d) && c.hours.includes(d.getUTCHours()) && c.minutes.includes(d.getUTCMinutes()) && c.seconds.includes(d.getUTCSeconds());
}

function nextCalendarTime(c: Calendar, after: number): number | undefined {
  const firstDay = Math.floor(after / DAY_MS) * DAY_MS;
  for (let day = firstDay; day < firstDay + CALENDAR_HORIZON_DAYS * DAY_MS; day += DAY_MS) {
    if (!dayMatches(c, new Date(day))) continue;
    for (const h of c.hours) {
      if (day + (h + 1) * 3_600_000 <= after) continue;
      for (const m of c.minutes) {
        for (const s of c.seconds) {
          const t = day + h * 3_600_000 + m * 60_000 + s * 1000;
          if (t > after) return t;
        }
      }
    }
  }
  return undefined;
}

export interface CompiledSpec {
  /** The first time the spec fires strictly after `after`, or undefined when it never does again. */
  next(after: number): number | undefined;
  /** How long after its nominal time an action at `nominal` is taken (a stable pseudo-random share of the jitter). */
  jitter(scheduleId: string, nominal: number): number;
}

/** Checks and compiles a spec; INVALID_ARGUMENT names what is wrong. */
export function compileSpec(spec: Obj | null | undefined): CompiledSpec {
  const s = spec ?? {};
  if (s.timezoneName && s.timezoneName !== 'UTC') throw invalidArgument(`schedule time zone ${s.timezoneName} is not supported: only UTC`);
  if (s.calendar?.length || s.excludeCalendar?.length) throw invalidArgument('schedule calendars in string form are not supported: use structured calendars');
  const intervals = ((s.interval ?? []) as Obj[]).map((i) => ({ every: durationMs(i.interval), phase: durationMs(i.phase) }));
  if (intervals.some((i) => i.every < 1000 || i.phase < 0)) throw invalidArgument('schedule interval must be at least 1 second');
  const calendars = ((s.structuredCalendar ?? []) as Obj[]).map(calendar);
  const excluded = ((s.excludeStructuredCalendar ?? []) as Obj[]).map(calendar);
  const crons: string[] = s.cronString ?? [];
  for (const c of crons) parseCron(c);
  const startTime = s.startTime ? durationMs(s.startTime) : 0;
  const endTime = s.endTime ? durationMs(s.endTime) : Infinity;
  const jitterMs = durationMs(s.jitter);

  const nextUnbounded = (after: number): number | undefined => {
    const candidates = [
      ...intervals.map((i) => (Math.floor((after - i.phase) / i.every) + 1) * i.every + i.phase),
      ...calendars.map((c) => nextCalendarTime(c, after)),
      ...crons.map((c) => nextCronTime(c, after)),
    ].filter((t): t is number => t !== undefined);
    return candidates.length ? Math.min(...candidates) : undefined;
  };
  return {
    next(after) {
      let t: number | undefined = Math.max(after, startTime - 1);
      for (let i = 0; i < 10_000; i++) {
        t = nextUnbounded(t);
        if (t === undefined || t > endTime) return undefined;
        if (!excluded.some((c) => calendarMatches(c, t!))) return t;
      }
      return undefined;
    },
    jitter(scheduleId, nominal) {
      if (!jitterMs) return 0;
      const hash = createHash('sha256').update(`${scheduleId}\0${nominal}`).digest();
      return hash.readUInt32BE(0) % jitterMs;
    },
  };
}
