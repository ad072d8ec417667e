import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SDK_RUNTIME_THREADS } from '../../src/worker';

// The Temporal SDK's native runtime (tokio) runs on SDK_RUNTIME_THREADS threads rather than one per
// core, unless TOKIO_WORKER_THREADS says otherwise. A process of its own: the runtime is built once
// per process, and jest's workers may have built one already.

const ROOT = path.join(__dirname, '../..');
const COUNT_THREADS = `
const fs = require('node:fs');
const { createLogger } = require('./src/logger');
const { installSdkRuntime } = require('./src/worker');
installSdkRuntime(createLogger('silent'));
// A thread takes its name once it runs: the most seen over two seconds.
const count = () => fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim()).filter((n) => n.startsWith('tokio-runtime')).length;
let most = 0;
const timer = setInterval(() => (most = Math.max(most, count())), 100);
setTimeout(() => { clearInterval(timer); console.log(most); process.exit(0); }, 2000);
`;

async function runtimeThreads(env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', COUNT_THREADS], { cwd: ROOT, env });
  return Number(stdout.trim());
}

test('the SDK runtime runs on one thread by default, and on as many as TOKIO_WORKER_THREADS asks', async () => {
  const { TOKIO_WORKER_THREADS: _, ...env } = process.env;
  expect(await runtimeThreads(env)).toBe(SDK_RUNTIME_THREADS);
  expect(await runtimeThreads({ ...env, TOKIO_WORKER_THREADS: '3' })).toBe(3);
}, 60_000);
