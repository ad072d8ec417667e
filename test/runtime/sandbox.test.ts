import { createVerify, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { scriptCodesSent, scriptThreadsStarted } from '../../src/runtime';
import { harness, outputOf, script, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000); // a loaded machine can take long to start the database and the fake API
afterAll(() => h.close());

/** A script that tries `attempt` and returns 'escaped' if it got hold of the host's `process`. */
const escapeAttempt = (attempt: string) =>
  script(`
  const got = await (async () => { ${attempt} })();
  return got && typeof got === 'object' && typeof got.pid === 'number' ? 'escaped' : 'contained';
`);

/** /proc/<pid>/stat's fields from the third (state) on (Linux). */
function statFields(file: string): string[] {
  const stat = fs.readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The script processes: this process's children running the script-process entry (Linux). */
function scriptProcesses(): string[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return Number(statFields(`/proc/${pid}/stat`)[1]) === process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('syncline-script-process');
      } catch {
        return false; // ended meanwhile
      }
    });
}

describe('refusals', () => {
  test.each(['fs', 'node:fs', 'child_process', 'net', 'http', 'worker_threads', 'vm', 'os', 'path', 'axios'])('require("%s") is refused', async (name) => {
    const result = await h.run(script(`return require(${JSON.stringify(name)})`));
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(result.error.type).toBe('script_error');
      expect(result.error.message).toContain(`Cannot require "${name}"`);
    }
  });

  test('host globals do not exist', async () => {
    const output = outputOf(
      await h.run(script(`return [typeof process, typeof globalThis.process, typeof module.require, typeof __dirname, typeof global, typeof fetch, typeof WebAssembly === 'object' ? typeof WebAssembly.compile : 'none']`)),
    );
    expect(output).toEqual(['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', expect.any(String)]);
  });

  test.each([
    ['the global object', `return this.constructor.constructor('return process')()`],
    ['globalThis', `return globalThis.constructor.constructor('return process')()`],
    ['the global prototype', `return Object.getPrototypeOf(globalThis).constructor.constructor('return process')()`],
    ['the helper', `return nango.constructor.constructor('return process')()`],
    ['a helper method', `return nango.get.constructor('return process')()`],
    ['a helper promise', `return nango.getMetadata().constructor.constructor('return process')()`],
    ['a helper error', `try { await nango.setMetadata(5) } catch (e) { return e.constructor.constructor('return process')() }`],
    ['an HTTP error', `try { await nango.get({ endpoint: '/missing' }) } catch (e) { return e.response.constructor.constructor('return process')() }`],
    ['require', `return require.constructor('return process')()`],
    ['module', `return module.constructor.constructor('return process')()`],
    ['zod', `const { z } = require('zod'); return z.string().constructor.constructor('return process')()`],
    ['crypto', `return require('crypto').createHash.constructor('return process')()`],
    ['url', `return require('url').URL.constructor('return process')()`],
    ['console', `return console.log.constructor('return process')()`],
    ['setTimeout', `return setTimeout.constructor('return process')()`],
    ['Buffer', `return Buffer.constructor('return process')()`],
    ['an async function', `return (async () => {}).constructor('return process')()`],
    ['a generator', `return (function* () {}).constructor('return process')()`],
    ['dynamic import', `try { await import('fs') } catch (e) { return e.constructor.constructor('return process')() }`],
    ['eval', `return eval('process')`],
    ['a stack overflow', `const r = (n) => { try { return r(n + 1) } catch (e) { return e } }; return r(0).constructor.constructor('return process')()`],
    [
      'call sites of Error.prepareStackTrace',
      `Error.prepareStackTrace = (e, sites) => sites;
       await nango.getMetadata();
       for (const site of new Error().stack) {
         for (const f of [site.getFunction(), site.getThis()]) { try { const p = f && f.constructor.constructor('return process')(); if (p) return p } catch {} }
       }`,
    ],
    ['function.caller', `function f() { let c = f.caller; for (let i = 0; c && i < 20; i++) { try { const p = c.constructor('return process')(); if (p) return p } catch {} c = c.caller } } return f()`],
  ])('escaping through %s fails', async (_name, attempt) => {
    const result = await h.run(escapeAttempt(attempt));
    if (result.success) expect(result.output).toBe('contained');
    else expect(result.error.message).toMatch(/Code generation from strings disallowed|not available|not a function|caller|Cannot|undefined|null/);
  });
});

describe('limits', () => {
  test('a hanging script ends with script_timeout and the host carries on', async () => {
    const started = Date.now();
    const result = await h.run(script('while (true) {}'), { limits: { timeoutMs: 300 } });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.type).toBe('script_timeout');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outputOf(await h.run(script('return 1 + 1')))).toBe(2);
  });

  test('a script waiting forever ends with script_timeout', async () => {
    const result = await h.run(script('await new Promise(() => {})'), { limits: { timeoutMs: 200 } });
    expect(!result.success && result.error.type).toBe('script_timeout');
  });

  test('a script exhausting memory ends with script_memory_exceeded and the host carries on', async () => {
    const result = await h.run(script(`const a = []; while (true) a.push(new Array(1e5).fill('x' + Math.random()));`), { limits: { memoryMb: 48, timeoutMs: 20_000 } });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.type).toBe('script_memory_exceeded');
    expect(outputOf(await h.run(script('return "still here"')))).toBe('still here');
  });

  test('a flood of helper calls or logs is bounded, and the host carries on', async () => {
    const calls = await h.run(script(`const all = []; for (let i = 0; i < 5000; i++) all.push(nango.getMetadata()); await Promise.all(all);`));
    expect(!calls.success && calls.error.message).toContain('helper calls are waiting for an answer');
    // 50,000 lines take seconds on a loaded machine: the time limit is not what is tested here.
    const logs = await h.run(script(`for (let i = 0; i < 50000; i++) console.log('line', i); return 'logged'`), { limits: { timeoutMs: 60_000 } });
    expect(outputOf(logs)).toBe('logged');
    expect(logs.logs).toHaveLength(10_001);
    expect(logs.logs[10_000]!.message).toBe('10000 more log entries were dropped (limit 10000 per execution)');
  }, 90_000);

  test('executions run side by side without sharing globals', async () => {
    const [a, b] = await Promise.all([
      h.run(script('globalThis.shared = "a"; await new Promise((r) => setTimeout(r, 50)); return globalThis.shared')),
      h.run(script('await new Promise((r) => setTimeout(r, 10)); return typeof globalThis.shared')),
    ]);
    expect(outputOf(a)).toBe('a');
    expect(outputOf(b)).toBe('undefined');
  });

  test('an execution after another of its environment (on the same thread, reset) sees nothing of it', async () => {
    const inFreshEnvironment = { environmentName: 'reused-thread' };
    const first = await h.run(
      script(`
        globalThis.leftover = 'first';
        Object.prototype.polluted = true;
        Array.prototype.push = function () { return 'hijacked'; };
        setInterval(() => console.log('late line of the first execution'), 5);
        (async () => { await new Promise((r) => setTimeout(r, 100)); await nango.setMetadata({ late: true }); })();
        return 'first';`),
      inFreshEnvironment,
    );
    expect(outputOf(first)).toBe('first');
    await new Promise((r) => setTimeout(r, 300)); // the first's timers would have fired by now, and its thread is idle
    const second = await h.run(
      script(`
        const a = []; a.push(1);
        await new Promise((r) => setTimeout(r, 200));
        return [typeof globalThis.leftover, ({}).polluted === undefined, a.length];`),
      inFreshEnvironment,
    );
    expect(outputOf(second)).toEqual(['undefined', true, 1]);
    expect(second.logs.map((l) => l.message)).not.toContain('late line of the first execution');
    expect((await h.store.connections.get(h.environmentId, 'github', 'c1')).metadata).not.toHaveProperty('late');
  });

  test('a script run again on its thread (its code compiled once) starts afresh, and import() fails with an error of the run under way', async () => {
    const inFreshEnvironment = { environmentName: 'same-script-again' };
    // Module-level state, and the TypeError import() rejects with: of this run's context, not of the one the code was compiled in.
    const code = `let runs = 0;
      module.exports.default = async function () {
        runs++;
        const refused = await import('fs').then(() => 'imported', (e) => e instanceof TypeError && e.constructor === TypeError && e.message);
        Object.prototype.seenBy = (Object.prototype.seenBy ?? 0) + 1;
        return [runs, refused, Object.prototype.seenBy];
      };`;
    const before = scriptThreadsStarted();
    for (let i = 0; i < 3; i++) expect(outputOf(await h.run(code, inFreshEnvironment))).toEqual([1, 'import() is not available in scripts', 1]);
    expect(scriptThreadsStarted() - before).toBe(1);
  });

  test("a script's code crosses to its script process once, and again only once the process has forgotten it", async () => {
    const inFreshEnvironment = { environmentName: 'code-sent-once' };
    const echo = (n: number) => `module.exports.default = async function () { return ${n}; };`;
    const sent = scriptCodesSent();
    for (let i = 0; i < 3; i++) expect(outputOf(await h.run(echo(0), inFreshEnvironment))).toBe(0);
    expect(scriptCodesSent() - sent).toBe(1);
    // More scripts than a process keeps: the first is forgotten, sent again when it runs again, and runs as it is.
    for (let n = 1; n <= 64; n++) expect(outputOf(await h.run(echo(n), inFreshEnvironment))).toBe(n);
    expect(scriptCodesSent() - sent).toBe(65);
    expect(outputOf(await h.run(echo(0), inFreshEnvironment))).toBe(0);
    expect(outputOf(await h.run(echo(64), inFreshEnvironment))).toBe(64);
    expect(scriptCodesSent() - sent).toBe(66);
  });

  test('a script that leaves an endless chain of promises behind does not hold up the next execution', async () => {
    const inFreshEnvironment = { environmentName: 'busy-thread' };
    expect(outputOf(await h.run(script(`(async () => { for (;;) await null; })(); return 'left busy';`), inFreshEnvironment))).toBe('left busy');
    const started = Date.now();
    expect(outputOf(await h.run(script(`return 'next';`), inFreshEnvironment))).toBe('next');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a thread runs execution after execution: what each one held goes with its context', async () => {
    const inFreshEnvironment = { environmentName: 'long-lived-thread' };
    // 4 MB held by each execution's global: were contexts kept after their execution (as a script's
    // import() callback once kept them), the thread would hold more than an eighth of its 256 MB
    // after eight of them and be replaced.
    const holding = script(`globalThis.held = new Array(512 * 1024).fill(1.5); await nango.log('x'); return held.length`);
    expect(outputOf(await h.run(holding, inFreshEnvironment))).toBe(512 * 1024);
    const before = scriptThreadsStarted();
    for (let i = 0; i < 60; i++) expect(outputOf(await h.run(holding, inFreshEnvironment))).toBe(512 * 1024);
    expect(scriptThreadsStarted() - before).toBe(0);
  }, 60_000);

  test('scripts run at a lower CPU priority than the server: its script process and the threads of executions', async () => {
    const environmentName = 'low-priority';
    expect(outputOf(await h.run(script(`return 'ran'`), { environmentName }))).toBe('ran');
    const children = scriptProcesses();
    expect(children.length).toBeGreaterThan(0);
    const niceness = (statFile: string) => Number(statFields(statFile)[16]);
    const lower = Math.min(19, os.getPriority() + 10);
    for (const pid of children) {
      expect(niceness(`/proc/${pid}/stat`)).toBe(lower);
      // Its main thread and at least one thread of executions (it keeps them between executions).
      const threads = fs.readdirSync(`/proc/${pid}/task`).map((tid) => niceness(`/proc/${pid}/task/${tid}/stat`));
      expect(threads.filter((n) => n === lower).length).toBeGreaterThanOrEqual(2);
    }
  });

  test('idle threads cost no CPU', async () => {
    const environmentName = 'idle-threads';
    const before = new Set(scriptProcesses());
    const results = await Promise.all(Array.from({ length: 40 }, () => h.run(script(`await new Promise((r) => setTimeout(r, 200)); return 1`), { environmentName })));
    expect(results.map(outputOf)).toEqual(Array.from({ length: 40 }, () => 1));
    const [pid] = scriptProcesses().filter((p) => !before.has(p));
    const cpuMs = () => (Number(statFields(`/proc/${pid}/stat`)[11]) + Number(statFields(`/proc/${pid}/stat`)[12])) * 10;
    const start = cpuMs();
    // V8's memory reducer would collect each idle isolate a few times.
    await new Promise((r) => setTimeout(r, 15_000));
    expect(cpuMs() - start).toBeLessThan(150);
  }, 30_000);

  test('a burst of executions right after another reuses its threads, waiting for their reset, instead of starting new ones', async () => {
    const inFreshEnvironment = { environmentName: 'bursts' };
    const burst = (code = `return 1`) => Promise.all(Array.from({ length: 6 }, () => h.run(script(code), inFreshEnvironment)));
    const before = scriptThreadsStarted();
    // Up to six threads: executions this long mostly each get one (on a busy machine, one may end
    // before the last thread has started, and its thread runs the last execution).
    await burst(`await new Promise((r) => setTimeout(r, 500)); return 1`);
    for (let i = 0; i < 15; i++) expect((await burst()).map(outputOf)).toEqual([1, 1, 1, 1, 1, 1]);
    // Without reuse, 96 threads; starting one for an execution while a thread is being reset, more than 6.
    expect(scriptThreadsStarted() - before).toBeLessThanOrEqual(6);
  }, 60_000);

  test('a burst of short executions with no thread idle starts a few threads, not one each: they run on threads others freed', async () => {
    const inFreshEnvironment = { environmentName: 'burst-from-nothing' };
    const before = scriptThreadsStarted();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => h.run(script(`return ${i}`), inFreshEnvironment)));
    expect(results.map(outputOf)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const started = scriptThreadsStarted() - before;
    expect(started).toBeLessThanOrEqual(10);
  }, 60_000);

  test('long executions that come at once each get a thread of their own, however few start at a time', async () => {
    const inFreshEnvironment = { environmentName: 'long-at-once' };
    const before = scriptThreadsStarted();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => h.run(script(`await new Promise((r) => setTimeout(r, 3000)); return ${i}`), inFreshEnvironment)));
    expect(results.map(outputOf)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // One after another they would take 36 s; two at a time 18.
    expect(Date.now() - started).toBeLessThan(9000);
    expect(scriptThreadsStarted() - before).toBe(12);
  }, 60_000);
});

describe('script errors', () => {
  test('a throw ends the execution with script_error and the script stack only', async () => {
    const result = await h.run(script(`function inner() { throw new TypeError('boom') }\ninner()`), { scriptName: 'github/actions/broken.js' });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.type).toBe('script_error');
    expect(result.error.message).toBe('TypeError: boom');
    expect(result.error.stack).toContain('at inner (github/actions/broken.js:2:');
    expect(result.error.stack).not.toMatch(/prelude|worker eval|node:internal/);
  });

  test('secrets the script throws are redacted from the error', async () => {
    const result = await h.run(script(`throw new Error('token=' + (await nango.getToken()))`));
    expect(!result.success && [result.error.message, result.error.stack?.split('\n')[0]]).toEqual(['token=[redacted]', 'Error: token=[redacted]']);
  });

  test('throwing a non-error value is reported', async () => {
    const result = await h.run(script(`throw 'plain string'`));
    expect(!result.success && result.error.message).toContain('"plain string"');
  });

  test('a throw inside a timer callback ends the execution', async () => {
    const result = await h.run(script(`setTimeout(() => { throw new Error('in timer') }, 1); await new Promise((r) => setTimeout(r, 2000)); return 'late'`));
    expect(!result.success && result.error.message).toBe('in timer');
  });

  test('an unhandled rejection ends the execution', async () => {
    const result = await h.run(script(`Promise.reject(new Error('nobody waits')); await new Promise((r) => setTimeout(r, 2000)); return 'late'`));
    expect(!result.success && result.error.message).toBe('Unhandled promise rejection: nobody waits');
  });

  test('a syntax error in the compiled code is a script_error', async () => {
    const result = await h.run('module.exports.default = async function ( {');
    expect(!result.success && result.error.type).toBe('script_error');
  });

  test('a script without a default export is a script_error', async () => {
    const result = await h.run('module.exports.other = 1;');
    expect(!result.success && result.error.message).toContain('no default export');
  });
});

describe('allowed modules and globals', () => {
  test('zod, crypto and url work inside the sandbox', async () => {
    const output = outputOf(
      await h.run(
        script(`
        const { z } = require('zod');
        const crypto = require('node:crypto');
        const url = require('url');
        const schema = z.object({ name: z.string(), n: z.number().int() });
        const bad = schema.safeParse({ name: 1 });
        const u = new URL('https://api.example.com/v1/items?a=1');
        u.searchParams.set('b', 'two words');
        u.pathname = '/v2/items';
        return {
          parsed: schema.parse({ name: 'x', n: 2 }),
          badOk: bad.success,
          sha: crypto.createHash('sha256').update('abc').digest('hex'),
          hmac: crypto.createHmac('sha256', 'key').update('data').digest('base64'),
          uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
          random: crypto.randomBytes(8).length,
          href: u.href,
          legacy: url.parse('https://x.test:8080/p?q=1').port,
          b64: Buffer.from('héllo').toString('base64'),
          back: Buffer.from('aMOpbGxv', 'base64').toString(),
          hex: Buffer.from([1, 255]).toString('hex'),
          btoa: btoa('ab'),
          text: new TextDecoder().decode(new TextEncoder().encode('ü')),
        };
      `),
      ),
    );
    expect(output).toEqual({
      parsed: { name: 'x', n: 2 },
      badOk: false,
      sha: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      hmac: 'UDH+PZicbRU3oBP6bnOdojRj/a7DtwE32Cjjas4iG9A=',
      uuid: true,
      random: 8,
      href: 'https://api.example.com/v2/items?a=1&b=two+words',
      legacy: '8080',
      b64: 'aMOpbGxv',
      back: 'héllo',
      hex: '01ff',
      btoa: 'YWI=',
      text: 'ü',
    });
  });

  test('timers: setTimeout with arguments, clearTimeout, setInterval, unref', async () => {
    const output = outputOf(
      await h.run(
        script(`
        const seen = [];
        await new Promise((resolve) => setTimeout((a, b) => { seen.push(a + b); resolve(); }, 5, 'x', 'y'));
        const cancelled = setTimeout(() => seen.push('cancelled'), 5);
        clearTimeout(cancelled);
        let ticks = 0;
        await new Promise((resolve) => { const t = setInterval(() => { if (++ticks === 3) { clearInterval(t); resolve(); } }, 2); });
        setTimeout(() => {}, 1).unref();
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { seen, ticks, numeric: typeof +setTimeout(() => {}, 0) };
      `),
      ),
    );
    expect(output).toEqual({ seen: ['xy'], ticks: 3, numeric: 'number' });
  });

  test('crypto signs and verifies (RS256 for JWTs); structuredClone copies deeply', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const keys = { private: privateKey.export({ type: 'pkcs8', format: 'pem' }), public: publicKey.export({ type: 'spki', format: 'pem' }) };
    const out = outputOf(
      await h.run(
        script(`
        const crypto = require('crypto');
        const signature = crypto.createSign('RSA-SHA256').update('header.payload').sign(input.private, 'base64url');
        const valid = crypto.createVerify('RSA-SHA256').update('header.payload').verify(input.public, signature, 'base64url');
        const tampered = crypto.createVerify('RSA-SHA256').update('header.other').verify(input.public, signature, 'base64url');
        const original = { when: new Date(0), tags: new Set(['a']), nested: { list: [1, { deep: true }] } };
        original.self = original;
        const copy = structuredClone(original);
        return { signature, valid, tampered, clone: [copy !== original, copy.nested !== original.nested, copy.self === copy, copy.when.getTime(), [...copy.tags], copy.nested.list[1].deep] };
      `),
        { input: keys },
      ),
    );
    expect(createVerify('RSA-SHA256').update('header.payload').verify(keys.public, Buffer.from(out.signature, 'base64url'))).toBe(true);
    expect([out.valid, out.tampered]).toEqual([true, false]);
    expect(out.clone).toEqual([true, true, true, 0, ['a'], true]);
  });

  test('an invalid URL throws a TypeError inside the script', async () => {
    const output = outputOf(await h.run(script(`try { new URL('not a url') } catch (e) { return e instanceof TypeError }`)));
    expect(output).toBe(true);
  });
});
