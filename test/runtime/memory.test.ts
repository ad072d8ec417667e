import { runScript } from '../../src/runtime';
import { harness, script, type Harness } from './harness';

// The sandbox's memory limit counts ArrayBuffers and Buffers, not only V8's heap: every way a
// script can allocate a backing store is checked against the limit before it allocates, and the
// originals stay out of reach. Past the limit the execution ends with script_memory_exceeded even
// when the script catches the RangeError it gets.

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

const LIMIT = { memoryMb: 64, timeoutMs: 20_000 };
const GIB = 1024 ** 3;
const run = (body: string) => h.run(script(body), { limits: LIMIT });
const outcome = async (body: string) => {
  const result = await run(body);
  return result.success ? { ok: true, output: result.output } : { type: result.error.type, message: result.error.message };
};
const exceeded = { type: 'script_memory_exceeded', message: 'The script used more than 64 MB of memory (heap, ArrayBuffers and Buffers) and was stopped' };

test('a typed array, an ArrayBuffer or a Buffer past the limit ends the execution, caught or not', async () => {
  expect(await outcome(`const a = new Uint8Array(${GIB}); const b = new Uint8Array(${GIB}); return a.length + b.length;`)).toEqual(exceeded);
  expect(await outcome(`return Buffer.alloc(${4 * GIB}).length;`)).toEqual(exceeded);
  expect(await outcome(`return Buffer.allocUnsafe(${GIB}).length;`)).toEqual(exceeded);
  expect(await outcome(`return new ArrayBuffer(${GIB}).byteLength;`)).toEqual(exceeded);
  expect(await outcome(`return new Float64Array({ length: 1, get [0]() { return 1; } }).length + new Float64Array(2e7).length;`)).toEqual(exceeded);
  // The script is told, and cannot carry on by catching it.
  expect(await outcome(`try { new Uint8Array(${GIB}); } catch (e) { await nango.log(e.name + ': ' + e.message); return 'caught'; }`)).toEqual(exceeded);
  // Many buffers each under the limit add up.
  expect(await outcome(`const keep = []; for (let i = 0; i < 100; i++) keep.push(new Uint8Array(8 * 1024 * 1024).fill(1)); return keep.length;`)).toEqual(exceeded);
});

test('ways around the guarded constructors are closed', async () => {
  const attempts: Record<string, string> = {
    'the abstract TypedArray': `const T = Object.getPrototypeOf(Uint8Array); return new T(${GIB}).length;`,
    'a subclass of it': `class Big extends Object.getPrototypeOf(Uint8Array) {} return new Big(${GIB}).length;`,
    'an instance constructor': `const x = new Uint8Array(1); return new (x.constructor)(${GIB}).length;`,
    'a buffer constructor': `const x = new Uint8Array(1); return new (x.buffer.constructor)(${GIB}).byteLength;`,
    'Reflect.construct with another newTarget': `return Reflect.construct(Uint16Array, [${GIB / 2}], function () {}).length;`,
    'a subclass': `class Mine extends Uint8Array {} return new Mine(${GIB}).length;`,
    'Buffer prototype chain': `const U = Object.getPrototypeOf(Buffer); return new U(${GIB}).length;`,
    'a species that is not guarded': `const a = new Uint8Array(40 * 1024 * 1024); Object.defineProperty(a, 'constructor', { value: undefined }); const copies = []; for (let i = 0; i < 10; i++) copies.push(a.slice()); return copies.length;`,
    'a lying length': `const a = new Uint8Array(1); Object.defineProperty(a, 'length', { value: 0 }); const big = new Uint8Array(40 * 1024 * 1024); const copies = []; for (let i = 0; i < 10; i++) { Object.defineProperty(big, 'length', { value: 0 }); copies.push(new Uint8Array(big)); } return copies.length;`,
    'an array-like changing its length': `let reads = 0; const like = { get length() { return reads++ === 0 ? 1 : ${GIB}; } }; return new Uint8Array(like).length + new Uint8Array(${GIB}).length;`,
    'a valueOf changing its answer': `let reads = 0; const n = { valueOf() { return reads++ === 0 ? 1 : ${GIB}; } }; return new ArrayBuffer(n).byteLength + new ArrayBuffer(${GIB}).byteLength;`,
    structuredClone: `const a = new Uint8Array(30 * 1024 * 1024); const copies = []; for (let i = 0; i < 10; i++) copies.push(structuredClone(a)); return copies.length;`,
    'TextEncoder of a huge string': `const s = 'é'.repeat(${2 ** 24}); return new TextEncoder().encode(s).length;`,
    'a growable ArrayBuffer': `const b = new ArrayBuffer(1, { maxByteLength: ${GIB} }); b.resize(${GIB}); return b.byteLength;`,
    'ArrayBuffer slice': `const b = new ArrayBuffer(30 * 1024 * 1024); const all = []; for (let i = 0; i < 10; i++) all.push(b.slice(0)); return all.length;`,
    'typed array map': `const a = new Float64Array(4 * 1024 * 1024); const all = []; for (let i = 0; i < 10; i++) all.push(a.map((x) => x)); return all.length;`,
  };
  const outcomes = await Promise.all(Object.entries(attempts).map(async ([name, body]) => [name, await outcome(body)] as const));
  for (const [name, result] of outcomes) {
    if (name === 'the abstract TypedArray' || name === 'a subclass of it') expect([name, result]).toEqual([name, { type: 'script_error', message: expect.stringMatching(/TypedArray/) }]);
    else if (name === 'a growable ArrayBuffer') expect([name, result]).toEqual([name, { type: 'script_error', message: 'TypeError: Resizable ArrayBuffers (maxByteLength) are not available in scripts' }]);
    else expect([name, result]).toEqual([name, exceeded]);
  }
});

test('shared memory and WebAssembly memories are not available', async () => {
  expect(await outcome(`return [typeof SharedArrayBuffer, typeof WebAssembly, typeof gc, typeof Atomics];`)).toEqual({ ok: true, output: ['undefined', 'undefined', 'undefined', 'object'] });
  expect(await outcome(`return new SharedArrayBuffer(${GIB}).byteLength;`)).toEqual({ type: 'script_error', message: 'ReferenceError: SharedArrayBuffer is not defined' });
  expect(await outcome(`return new WebAssembly.Memory({ initial: 65536 }).buffer.byteLength;`)).toEqual({ type: 'script_error', message: 'ReferenceError: WebAssembly is not defined' });
});

test('the boot function of the sandbox is not visible to scripts', async () => {
  expect(await outcome(`return [typeof __syncline_boot, '__syncline_boot' in globalThis, Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith('__'))];`)).toEqual({
    ok: true,
    output: ['undefined', false, []],
  });
});

test('buffers within the limit work as before, and garbage is collected before the limit is called', async () => {
  // 40 × 16 MB allocated and dropped: more than the limit in total, never at once.
  const churn = await outcome(`let sum = 0; for (let i = 0; i < 40; i++) { const a = new Uint8Array(16 * 1024 * 1024); a.fill(1); sum += a[a.length - 1]; } return sum;`);
  expect(churn).toEqual({ ok: true, output: 40 });
  const usual = await outcome(`
    const b = Buffer.from('héllo'); const copy = b.slice(1, 3); const u = new Uint16Array([1, 2, 3]);
    const view = new Uint8Array(u.buffer, 2, 2); const fixed = new ArrayBuffer(8);
    class Mine extends Uint8Array {}
    return [b.toString('hex'), copy.length, Array.from(u.map((x) => x * 2)), view.length, fixed.byteLength, new Mine(3).length, Uint8Array.from([1, 2]).length,
      new TextEncoder().encode('abc').length, structuredClone(new Uint8Array([5]))[0], new Uint8Array(1).constructor === Uint8Array, Buffer.alloc(2).buffer instanceof ArrayBuffer];`);
  expect(usual).toEqual({ ok: true, output: ['68c3a96c6c6f', 2, [2, 4, 6], 2, 8, 3, 2, 3, 5, true, true] });
});

test('an execution gets its whole limit, whatever the one before it on the same thread held, and threads started together can all collect garbage', async () => {
  // Six at once: threads are reused, and new ones start together (each takes V8's collector).
  const six = (body: string) => Promise.all(Array.from({ length: 6 }, () => outcome(body)));
  for (let round = 0; round < 2; round++) {
    expect(await six(`globalThis.keep = new Uint8Array(40 * 1024 * 1024).fill(1); return 1;`)).toEqual(Array(6).fill({ ok: true, output: 1 }));
    expect(await six(`return new Uint8Array(40 * 1024 * 1024).fill(2).length;`)).toEqual(Array(6).fill({ ok: true, output: 40 * 1024 * 1024 }));
    expect(await six(`let sum = 0; for (let i = 0; i < 40; i++) { const a = new Uint8Array(16 * 1024 * 1024); a.fill(1); sum += a[a.length - 1]; } return sum;`)).toEqual(Array(6).fill({ ok: true, output: 40 }));
  }
});

test('the host carries on: an execution after one that hit the limit runs normally', async () => {
  const before = process.memoryUsage().rss;
  await Promise.all([run(`return new Uint8Array(${GIB}).fill(1).length;`), run(`return Buffer.alloc(${4 * GIB}).length;`)]);
  const after = await runScript({ ...baseRequest(), code: script(`return 1 + 1;`) });
  expect(after).toMatchObject({ success: true, output: 2 });
  // Nothing of the refused gigabytes was ever allocated.
  expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
});

test("allocations that abort V8 itself end the executions of that environment's script process, not the server", async () => {
  // No thread resource limit prevents these: V8 ends the whole process it runs in. Another
  // environment's execution, in its own script process, runs on undisturbed.
  const other = h.run(script(`await new Promise((r) => setTimeout(r, 2000)); return 'undisturbed';`), { environmentName: 'prod', limits: LIMIT });
  for (const body of [`return 'x'.repeat(2 ** 28).split('').length;`, `return new Array(2 ** 26).fill(0).length;`]) {
    const result = await run(body);
    expect(result.success).toBe(false);
    expect(!result.success && result.error).toMatchObject({ type: 'script_memory_exceeded', message: expect.stringMatching(/^The script process of this environment ended \(.*fatal.*\); the executions in it were stopped$/i) });
  }
  expect(await other).toMatchObject({ success: true, output: 'undisturbed' });
  // The environment's next execution gets a new process.
  expect(await outcome('return 1 + 1;')).toEqual({ ok: true, output: 2 });
});

function baseRequest() {
  return { kind: 'action' as const, scriptName: 'after.js', providerConfigKey: 'github', connectionId: 'c1', provider: h.github, services: h.services, limits: LIMIT };
}
