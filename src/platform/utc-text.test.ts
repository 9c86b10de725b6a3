/**
 * Times read as UTC text: on real PostgreSQL, the same ISO string as a Date read of the column and
 * the same cursor time as to_char, for ordinary and edge times, in a session of another time zone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { cursorTimeFromUtcText, isoFromUtcText, utcTextColumn } from './utc-text.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const TIMES = [
  '2026-12-03 07:22:01+00',
  '2026-12-03 07:22:01.5+00',
  '2026-12-03 07:22:01.123456+00',
  '2026-12-03 07:22:01.000001+00',
  '2026-12-03 07:22:01.999999+00',
  '2026-12-03 07:22:01.579+00',
  '2026-03-29 01:30:00.25+02',
  '0001-01-01 00:00:00+00',
  '0099-06-30 12:00:00.1+00',
  '1969-12-31 23:59:59.999+00',
  '9999-12-31 23:59:59.999999+00',
  '10000-01-01 00:00:00.5+00',
  '0044-03-15 12:00:00.75+00 BC',
];

describe('UTC text times', () => {
  it('give the ISO string a Date gives and the exact time to_char gives', async () => {
    const rows = await t.db.transaction(async (tx) => {
      // Another session time zone: the text is UTC whatever the session's zone.
      await tx.query(`SET LOCAL TIME ZONE 'America/St_Johns'`);
      return (
        await tx.query<{ at: Date; utc: string; exact: string }>(
          `SELECT at, ${utcTextColumn('at', 'utc')}, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS exact
             FROM unnest($1::timestamptz[]) AS at`,
          [TIMES],
        )
      ).rows;
    });
    expect(rows).toHaveLength(TIMES.length);
    // node-postgres reads every one of these as a Date; PGlite's reader gives an invalid Date for
    // the years before 1 and after 9999, where a Date read has nothing to compare with.
    const readable = rows.filter((row) => Number.isFinite(new Date(row.at).getTime()));
    expect(readable.length).toBeGreaterThanOrEqual(TIMES.length - 3);
    for (const row of readable) expect(isoFromUtcText(row.utc)).toBe(new Date(row.at).toISOString());
    for (const row of rows) expect(cursorTimeFromUtcText(row.utc)).toBe(row.exact);
  });

  it('reads the fractions it is given and nothing else', () => {
    expect(isoFromUtcText('2026-12-03 07:22:01')).toBe('2026-12-03T07:22:01.000Z');
    expect(isoFromUtcText('2026-12-03 07:22:01.5')).toBe('2026-12-03T07:22:01.500Z');
    expect(isoFromUtcText('2026-12-03 07:22:01.123999')).toBe('2026-12-03T07:22:01.123Z');
    expect(cursorTimeFromUtcText('2026-12-03 07:22:01.12')).toBe('2026-12-03T07:22:01.120000Z');
    expect(() => cursorTimeFromUtcText('infinity')).toThrow(/not a finite timestamp/);
  });
});
