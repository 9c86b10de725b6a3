/**
 * Times read from PostgreSQL as UTC text instead of JavaScript Dates, for hot lists. A timestamptz
 * column read as it is gets parsed into a Date (node-postgres' regular-expression parser) only to
 * be written back as an ISO string; selected as `(column AT TIME ZONE 'UTC')::text` it arrives as
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, which is rearranged into the same ISO string (milliseconds
 * truncated, as Date does) or into the exact keyset-cursor time (microseconds), with no Date.
 * Texts of another form (years past 9999, BC — neither is storable through the API) take the
 * Date route, so every answer is the one the Date would give.
 */
import pg from 'pg';

/** `(column AT TIME ZONE 'UTC')::text AS alias`: the column's time as UTC text, for the helpers below. */
export function utcTextColumn(column: string, alias: string): string {
  return `(${column} AT TIME ZONE 'UTC')::text AS ${alias}`;
}

const DASH = 45;
const SPACE = 32;
const COLON = 58;
const DOT = 46;

/** Whether `text` is `YYYY-MM-DD HH:MM:SS` optionally followed by `.` and 1–6 digits. */
function isPlainUtcText(text: string): boolean {
  const length = text.length;
  if (length !== 19 && (length < 21 || length > 26)) return false;
  if (text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH || text.charCodeAt(10) !== SPACE || text.charCodeAt(13) !== COLON || text.charCodeAt(16) !== COLON) return false;
  if (length > 19 && text.charCodeAt(19) !== DOT) return false;
  for (let i = 0; i < length; i += 1) {
    if (i === 4 || i === 7 || i === 10 || i === 13 || i === 16 || i === 19) continue;
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** The fraction's digits padded or cut to `digits`. */
function fraction(text: string, digits: number): string {
  return (text.length > 20 ? text.slice(20) : '').padEnd(digits, '0').slice(0, digits);
}

// node-postgres' own timestamptz parser (a Date; a number for ±infinity), as a plain column read gives.
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (value: string) => Date | number;

/** The ISO-8601 string (`Date#toISOString`) of a UTC text time. */
export function isoFromUtcText(text: string): string {
  if (isPlainUtcText(text)) return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction(text, 3)}Z`;
  // The timestamptz text of the same time in a UTC session: the offset goes before a BC mark.
  return new Date(parseTimestamptz(text.replace(/( BC)?$/, '+00$1'))).toISOString();
}

const GENERAL = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?: BC)?$/;

/**
 * The exact time (microseconds) of a UTC text time as keyset cursors carry it: what
 * `to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` gives.
 */
export function cursorTimeFromUtcText(text: string): string {
  if (isPlainUtcText(text)) return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction(text, 6)}Z`;
  const match = GENERAL.exec(text);
  if (!match) throw new Error(`not a finite timestamp: ${text}`);
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(6, '0')}Z`;
}
