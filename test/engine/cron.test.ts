import { nextCronTime } from '../../src/engine/cron';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

test('next fire times of cron schedules, in UTC', () => {
  expect(iso(nextCronTime('*/15 * * * *', at('2026-01-01T10:07:30Z')))).toBe('2026-01-01T10:15:00.000Z');
  expect(iso(nextCronTime('0 9 * * 1-5', at('2026-01-02T09:00:00Z')))).toBe('2026-01-05T09:00:00.000Z');
  expect(iso(nextCronTime('@daily', at('2026-01-31T23:59:00Z')))).toBe('2026-02-01T00:00:00.000Z');
  expect(iso(nextCronTime('30 2 1 */3 *', at('2026-02-10T00:00:00Z')))).toBe('2026-04-01T02:30:00.000Z');
  expect(iso(nextCronTime('@every 10s', at('2026-01-01T00:00:03Z')))).toBe('2026-01-01T00:00:10.000Z');
  expect(() => nextCronTime('61 * * * *', 0)).toThrow(/invalid CronSchedule/);
});
