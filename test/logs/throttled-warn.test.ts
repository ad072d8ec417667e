import { Writable } from 'node:stream';
import { createLogger, throttledWarn } from '../../src/logger';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), stream };
}

describe('throttledWarn', () => {
  test('logs a repeating failure once per interval, as one line without a stack, with how many were left out', async () => {
    const { lines, stream } = capture();
    const warn = throttledWarn(createLogger('info', stream), 200);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 50; i++) warn(refused, 'timers: reading due timers failed');
    warn(refused, 'outbox: draining failed');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 40, msg: 'timers: reading due timers failed', error: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' }),
      expect.objectContaining({ msg: 'outbox: draining failed' }),
    ]);
    expect(JSON.stringify(lines())).not.toContain('stack');
    await new Promise((r) => setTimeout(r, 250));
    warn(refused, 'timers: reading due timers failed');
    expect(lines()[2]).toEqual(expect.objectContaining({ msg: 'timers: reading due timers failed', repeated: 49 }));
  });
});
