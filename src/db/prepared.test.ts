/** Named prepared statements: the same answers as plain text on real PostgreSQL, names kept unique; rows as arrays where asked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { arrayRows, preparedStatement } from './database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const ADD = preparedStatement('test-prepared-add', 'SELECT $1::int + $2::int AS sum');

describe('preparedStatement', () => {
  it('answers like the plain text, again and again, on the pool and in transactions', async () => {
    for (let i = 0; i < 20; i += 1) expect((await t.db.query<{ sum: number }>(ADD, [i, 1])).rows[0]!.sum).toBe(i + 1);
    const inTx = await t.db.transaction(async (tx) => [(await tx.query<{ sum: number }>(ADD, [2, 3])).rows[0]!.sum, (await tx.query<{ sum: number }>(ADD, [4, 5])).rows[0]!.sum]);
    expect(inTx).toEqual([5, 9]);
    // PostgreSQL only (PGlite runs the text): pg_prepared_statements lists this connection's statements: a transaction is one connection.
    if (t.db.kind !== 'postgres') return;
    const prepared = await t.db.transaction(async (tx) => {
      await tx.query(ADD, [1, 1]);
      return (await tx.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name = 'test-prepared-add'`)).rows;
    });
    expect(prepared).toEqual([{ statement: 'SELECT $1::int + $2::int AS sum' }]);
  });

  it('refuses one name for two texts and two names for one text', () => {
    expect(() => preparedStatement('test-prepared-add', 'SELECT 2')).toThrow(/taken/);
    expect(() => preparedStatement('test-prepared-other', 'SELECT $1::int + $2::int AS sum')).toThrow(/already prepared/);
    expect(preparedStatement('test-prepared-add', 'SELECT $1::int + $2::int AS sum')).toBe('SELECT $1::int + $2::int AS sum');
  });

  it('answers rows as arrays of values in select order for statements marked arrayRows, prepared or not', async () => {
    const plain = arrayRows(`SELECT $1::int AS a, 'x' AS b, NULL::text AS c, ARRAY['t']::text[] AS d UNION ALL SELECT 2, 'y', 'z', '{}'`);
    const prepared = arrayRows(preparedStatement('test-prepared-arrays', 'SELECT $1::int AS a, $2::text AS b'));
    expect((await t.db.query<unknown[]>(plain, [1])).rows).toEqual([[1, 'x', null, ['t']], [2, 'y', 'z', []]]);
    for (let i = 0; i < 3; i += 1) expect((await t.db.query<unknown[]>(prepared, [i, 'v'])).rows).toEqual([[i, 'v']]);
    expect(await t.db.transaction(async (tx) => (await tx.query<unknown[]>(prepared, [7, 'w'])).rows)).toEqual([[7, 'w']]);
    // Other statements keep their rows as objects.
    expect((await t.db.query<{ sum: number }>(ADD, [1, 2])).rows).toEqual([{ sum: 3 }]);
  });
});
