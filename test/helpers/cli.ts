import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const CLI = path.join(ROOT, 'src/cli/index.ts');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `syncline <args>` from source, as a child process. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(TSX, [CLI, ...args], { env: options.env ?? process.env, cwd: options.cwd ?? ROOT });
}

/** Runs `syncline <args>` to completion. */
export function runCli(args: string[], options: CliOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
