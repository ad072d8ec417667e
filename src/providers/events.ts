import type { AuthEvent } from '../store/auth-events';

/**
 * What happened to a connection's authorisation, for the `auth` webhook (Nango's shape:
 * operation creation | override | refresh, success, error). The webhook itself comes from the
 * database outbox (`auth_events`, written with the change, drained by the orchestrating process);
 * `onAuthEvent` tells in-process listeners too. Listeners run synchronously and must not throw
 * into the flow: their errors are swallowed.
 */
export type { AuthEvent };

const listeners = new Set<(event: AuthEvent) => void>();

/**
 * @example
 * const stop = onAuthEvent((e) => logger.info({ connectionId: e.connectionId }, `auth ${e.operation}`));
 */
export function onAuthEvent(listener: (event: AuthEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emitAuthEvent(event: AuthEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // A broken listener must not fail a connection flow.
    }
  }
}
