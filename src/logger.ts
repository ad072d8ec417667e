import pino, { type Logger } from 'pino';

/** Field paths that may hold secrets; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'secretKey',
  'credentials',
  '*.credentials',
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
  'client_secret',
  '*.client_secret',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

/**
 * A warning for failures that repeat while something is down (the database during an outage): one
 * line without a stack, at most once per `everyMs` for each message, with how many were left out.
 *
 * @example
 * const warn = throttledWarn(logger);
 * loop.catch((err) => warn(err, 'timers: reading due timers failed; retrying'));
 */
export function throttledWarn(logger: Logger, everyMs = 10_000): (err: unknown, message: string) => void {
  const last = new Map<string, { at: number; skipped: number }>();
  return (err, message) => {
    const now = Date.now();
    const seen = last.get(message);
    if (seen && now - seen.at < everyMs) {
      seen.skipped++;
      return;
    }
    last.set(message, { at: now, skipped: 0 });
    const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
    logger.warn({ error: err instanceof Error ? err.message : String(err), code, ...(seen?.skipped ? { repeated: seen.skipped } : {}) }, message);
  };
}
