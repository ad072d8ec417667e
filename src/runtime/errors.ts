import type { LogEntry, ScriptErrorType } from './types';

/**
 * Why an execution ended without a result. `type` is stable; `stack` is the script's own stack
 * (frames inside the sandbox only) when the script threw.
 *
 * @example
 * if (!result.success && result.error.type === 'action_script_runtime_error') res.status(400).json(result.error.toResponse());
 */
export class ScriptRunError extends Error {
  override name = 'ScriptRunError';
  constructor(
    readonly type: ScriptErrorType,
    message: string,
    readonly details: { stack?: string; payload?: unknown } = {},
  ) {
    super(message);
    // The host's own stack says nothing about the script: keep the script's, or just the message.
    this.stack = details.stack ?? `${type}: ${message}`;
  }

  /** The error body Nango's API returns for a failed action. */
  toResponse(): { error: { type: ScriptErrorType; payload?: unknown; message?: string } } {
    if (this.type === 'action_script_runtime_error') return { error: { type: this.type, payload: this.details.payload ?? {} } };
    return { error: { type: this.type, message: this.message } };
  }
}

/**
 * The stack of a script that threw, as a closing `error` log line of its run (mapped to the
 * TypeScript lines when its bundle has a source map); none for other failures.
 *
 * @example
 * await store.jobs.finishJob(job.id, { success: false, error, logs: [...result.logs, ...stackLines(result.error)] });
 */
export function stackLines(error: unknown): LogEntry[] {
  const stack = error instanceof ScriptRunError ? error.details.stack : undefined;
  return stack ? [{ level: 'error', message: stack, createdAt: new Date().toISOString() }] : [];
}

/** A failed HTTP call of a script, carried to the sandbox as an axios-like error. */
export class ProxyError extends Error {
  override name = 'AxiosError';
  constructor(
    message: string,
    readonly code: string,
    readonly response?: { status: number; statusText: string; headers: Record<string, string>; data: unknown },
  ) {
    super(message);
  }
}
