/** Postgres SQLSTATE of an error from either backend, if it has one. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === '23505';

/**
 * Class 22, data exception: a value Postgres cannot take (a NUL in text, an out-of-range date or
 * number, invalid JSON text). It comes from the input, not from the server.
 */
export const isDataException = (err: unknown) => /^22[0-9A-Z]{3}$/.test(sqlState(err) ?? '');
