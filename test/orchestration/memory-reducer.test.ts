import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Lines V8's memory reducer printed (--trace-gc-verbose) for the isolate of the child's worker
 * thread, found by the GC it asked for (`testing`).
 */
async function reducerLinesOfThread(args: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--trace-gc-verbose', '--gc-memory-reducer-start-delay-ms=1000', '--import', 'tsx', path.join(__dirname, 'fixtures/reducer-child.ts'), ...args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const lines = stdout.split('\n');
  const isolate = /^\[\d+:0x[0-9a-f]+\]/.exec(lines.find((line) => line.includes(' testing;')) ?? '')?.[0];
  expect(isolate).toBeDefined();
  return lines.filter((line) => line.startsWith(isolate!) && line.includes('Memory reducer'));
}

test('the workflow threads an orchestrating process starts run no memory reducer (it kept collecting idle heaps)', async () => {
  const [usual, orchestrating] = await Promise.all([reducerLinesOfThread([]), reducerLinesOfThread(['--without'])]);
  expect(usual.length).toBeGreaterThan(0);
  expect(orchestrating).toEqual([]);
}, 60_000);
