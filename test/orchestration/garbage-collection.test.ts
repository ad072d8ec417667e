import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { HEAP_GROWING_PERCENT } from '../../src/worker';

/**
 * What V8 printed (--trace-gc-verbose) in the child for its two isolates, each found by the GC it
 * asked for (`testing`): the main one asks first, once tuned (what it printed from then on), then
 * the worker thread's.
 */
async function gcTrace(args: string[]): Promise<{ thread: string[]; main: string[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--trace-gc-verbose', '--gc-memory-reducer-start-delay-ms=1000', '--import', 'tsx', path.join(__dirname, 'fixtures/gc-child.ts'), ...args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const lines = stdout.split('\n');
  const asked = lines.filter((line) => line.includes(' testing;'));
  const isolateOf = (line: string | undefined) => /^\[\d+:0x[0-9a-f]+\]/.exec(line ?? '')?.[0];
  const [main, thread] = [isolateOf(asked[0]), isolateOf(asked.at(-1))];
  expect(main).toBeDefined();
  expect(thread).toBeDefined();
  expect(thread).not.toBe(main);
  // A collection prints the limits it set just before its summary line.
  let start = lines.indexOf(asked[0]!);
  while (start > 0 && /^\[[^\]]+\] +[\d.]+ ms: \[(HeapController|GlobalMemoryController)\]/.test(lines[start - 1]!)) start--;
  const fromTuning = lines.slice(start);
  return { thread: lines.filter((line) => line.startsWith(thread!)), main: fromTuning.filter((line) => line.startsWith(main!)) };
}

/** The growing factors of the old generation each full collection applied, as V8 prints them ("Limit: old size: …, new limit: … (2.0)"). */
const growingFactors = (lines: string[]) => lines.flatMap((line) => /\[HeapController\] Limit: .*\(([\d.]+)\)$/.exec(line)?.[1] ?? []).map(Number);

describe("an orchestrating process's garbage collection", () => {
  let usual: { thread: string[]; main: string[] };
  let orchestrating: { thread: string[]; main: string[] };
  beforeAll(async () => {
    [usual, orchestrating] = await Promise.all([gcTrace([]), gcTrace(['--tuned'])]);
  }, 60_000);

  test('its workflow threads run no memory reducer (it kept collecting idle heaps)', () => {
    const reducerLines = (lines: string[]) => lines.filter((line) => line.includes('Memory reducer'));
    expect(reducerLines(usual.thread).length).toBeGreaterThan(0);
    expect(reducerLines(orchestrating.thread)).toEqual([]);
  });

  test('its heaps grow to twice what a full collection left alive, in the main thread and the workflow threads (V8 let them grow by a fifth under load)', () => {
    const factor = 1 + HEAP_GROWING_PERCENT / 100;
    for (const lines of [orchestrating.thread, orchestrating.main]) {
      expect(growingFactors(lines).length).toBeGreaterThan(0);
      expect(new Set(growingFactors(lines))).toEqual(new Set([factor]));
    }
    // V8's own choice differs: what the setting changes is seen.
    expect(growingFactors(usual.thread).some((f) => f !== factor)).toBe(true);
  });
});
