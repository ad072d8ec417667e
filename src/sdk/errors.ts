/**
 * Thrown by every SDK method when the server answers with a non-2xx status. `code` and `message`
 * come from the `{"error":{"code","message"}}` body; `body` is the whole parsed body (or the raw
 * text when it was not JSON).
 *
 * @example
 * try {
 *   await syncline.getConnection('github', 'user-1');
 * } catch (err) {
 *   if (err instanceof SynclineApiError && err.code === 'unknown_connection') return null;
 *   throw err;
 * }
 */
export class SynclineApiError extends Error {
  override name = 'SynclineApiError';
  /** `errors` of the body: per-field details of a validation failure, when the server gave them. */
  readonly errors: unknown;
  /** `payload` of the body: a failed action's details (an ActionError's payload, the model problems of invalid input or output). */
  readonly payload: unknown;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
    /** `GET /connections/...`: which call failed. */
    readonly request: string,
  ) {
    super(message);
    this.errors = errorOf(body)?.errors;
    this.payload = errorOf(body)?.payload;
  }

  /** Builds the error from a response status and its body text. */
  static fromResponse(status: number, text: string, request: string): SynclineApiError {
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's HTML page, say): keep the text.
    }
    const error = errorOf(body);
    const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
    const message = typeof error?.message === 'string' ? error.message : `${request} failed with HTTP ${status}`;
    return new SynclineApiError(status, code, message, body, request);
  }
}

function errorOf(body: unknown): { code?: unknown; message?: unknown; errors?: unknown; payload?: unknown } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null ? error : undefined;
}
