/**
 * Keyset-pagination cursors of the API: an opaque base64url JSON array whose first part is a time
 * (`[at, id]` for lists ordered by (time, id)); a cursor this API did not return is 400 INVALID_CURSOR.
 */
import { AppError } from './errors.js';

export interface Position {
  at: string;
  id: string;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** A cursor's parts: a JSON array in base64url whose first part is a time, or null. */
export function cursorParts(cursor: string): unknown[] | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) && typeof parsed[0] === 'string' && !Number.isNaN(Date.parse(parsed[0])) ? parsed : null;
  } catch {
    return null;
  }
}

export const invalidCursor = () => new AppError('INVALID_CURSOR', 'The cursor is not one this API returned');

export function decodeCursor(cursor: string): Position {
  const parts = cursorParts(cursor);
  if (parts?.length === 2 && typeof parts[1] === 'string' && /^[0-9a-f-]{36}$/.test(parts[1])) return { at: parts[0] as string, id: parts[1] };
  throw invalidCursor();
}
