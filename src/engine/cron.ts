import { invalidArgument } from './errors';

/**
 * Legacy cron schedules (`cronSchedule` on start), evaluated in UTC as Temporal does:
 * five fields (minute hour day-of-month month day-of-week) with `*`, lists, ranges and steps,
 * or `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`, `@every <n>(s|m|h)`.
 */
interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  anyDay: boolean;
  anyWeekday: boolean;
  everyMs?: number;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function field(spec: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    let lo = min;
    let hi = max;
    if (range !== '*') {
      const [a, b] = range.split('-').map(Number);
      lo = a;
      hi = b ?? (stepText ? max : a);
    }
    if (![lo, hi, step].every(Number.isInteger) || lo < min || hi > max || step < 1) throw invalidArgument(`invalid CronSchedule field ${spec}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(schedule: string): Cron {
  const text = schedule.trim();
  const every = /^@every\s+(\d+)(s|m|h)$/.exec(text);
  if (every) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000 }[every[2] as 's' | 'm' | 'h'];
    return { minutes: new Set(), hours: new Set(), days: new Set(), months: new Set(), weekdays: new Set(), anyDay: true, anyWeekday: true, everyMs: Number(every[1]) * unit };
  }
  const parts = (MACROS[text] ?? text).split(/\s+/);
  if (parts.length !== 5) throw invalidArgument(`invalid CronSchedule ${schedule}`);
  const weekdays = field(parts[4], 0, 7);
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes: field(parts[0], 0, 59),
    hours: field(parts[1], 0, 23),
    days: field(parts[2], 1, 31),
    months: field(parts[3], 1, 12),
    weekdays,
    anyDay: parts[2] === '*',
    anyWeekday: parts[4] === '*',
  };
}

/** The first fire time strictly after `after` (epoch ms). */
export function nextCronTime(schedule: string, after: number): number {
  const c = parseCron(schedule);
  if (c.everyMs) return (Math.floor(after / c.everyMs) + 1) * c.everyMs;
  const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 366 * 24 * 60 * 5; i++) {
    const dayOk = c.anyDay && c.anyWeekday ? true : c.anyDay ? c.weekdays.has(d.getUTCDay()) : c.anyWeekday ? c.days.has(d.getUTCDate()) : c.days.has(d.getUTCDate()) || c.weekdays.has(d.getUTCDay());
    if (!c.months.has(d.getUTCMonth() + 1) || !dayOk) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!c.hours.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!c.minutes.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return d.getTime();
  }
  throw invalidArgument(`CronSchedule ${schedule} never fires`);
}
