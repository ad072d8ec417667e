/**
 * What went wrong, independent of transport. The API maps each kind to one HTTP status
 * (`api/errors.ts`); the SDK maps statuses back.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'internal'
  /** A third-party API (token endpoint, refresh) refused or failed what we needed from it. */
  | 'failed_dependency'
  /** A third-party API could not be reached or answered nonsense (proxy). */
  | 'bad_gateway'
  /** Too many requests in the current window; `Retry-After` says when to come back. */
  | 'rate_limited';

/**
 * The one error type Syncline's own code throws for expected failures. `code` is stable and
 * machine-readable (`unknown_connection`, `invalid_cursor`, ...); `message` is for people.
 *
 * @example
 * throw new SynclineError('not_found', 'unknown_integration', `No integration "github" in this environment`);
 */
export class SynclineError extends Error {
  override name = 'SynclineError';
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const invalid = (code: string, message: string, details?: unknown) => new SynclineError('invalid', code, message, details);
export const notFound = (code: string, message: string) => new SynclineError('not_found', code, message);
export const conflict = (code: string, message: string) => new SynclineError('conflict', code, message);
