import { activityInfo, ApplicationFailure, Context, heartbeat, sleep } from '@temporalio/activity';

/** What the activities saw, per test key. */
export const seen = new Map<string, unknown[]>();

function note(key: string, value: unknown): void {
  const list = seen.get(key) ?? [];
  list.push(value);
  seen.set(key, list);
}

export async function greet(name: string): Promise<string> {
  return `Hello, ${name}!`;
}

export async function failTimes(key: string, failures: number): Promise<number> {
  const attempt = activityInfo().attempt;
  note(key, attempt);
  if (attempt <= failures) throw new Error(`attempt ${attempt} failed`);
  return attempt;
}

export async function failWithType(key: string, type: string): Promise<void> {
  note(key, activityInfo().attempt);
  throw ApplicationFailure.create({ message: 'typed failure', type });
}

export async function sleepy(key: string, mode: 'plain' | 'heartbeat' | 'noheartbeat', ms: number): Promise<string> {
  note(key, activityInfo().attempt);
  if (mode === 'heartbeat') {
    const until = Date.now() + ms;
    try {
      while (Date.now() < until) {
        heartbeat();
        await Context.current().sleep(100);
      }
    } catch (err) {
      note(key, 'cancelled');
      throw err;
    }
    return 'finished';
  }
  await sleep(ms);
  return 'finished';
}

export async function countWithHeartbeat(key: string): Promise<number> {
  const info = activityInfo();
  const last = (info.heartbeatDetails as number | undefined) ?? 0;
  note(key, { attempt: info.attempt, last });
  heartbeat(last + 10);
  // Heartbeats are throttled; give the first one time to reach the server.
  await sleep(300);
  if (info.attempt < 3) throw new Error('again');
  return last;
}

export async function record(key: string, value: string): Promise<void> {
  note(key, value);
}

export async function slowAdd(key: string, n: number, ms: number): Promise<number> {
  note(key, n);
  await sleep(ms);
  return n;
}
