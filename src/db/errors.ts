/**
 * Recognizes PostgreSQL errors that are expected outcomes rather than bugs. Both engines
 * (node-postgres and PGlite) carry the SQLSTATE in `code` and the constraint's name in `constraint`.
 */

/** SQLSTATE 23505: a unique index refused the row (typically two requests racing to create it). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: name } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === undefined || name === constraint);
}
