/** Postgres SQLSTATE of an error from either backend, if it has one. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === '23505';
