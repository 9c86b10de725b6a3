/** Named prepared statements: the same answers as plain text on real PostgreSQL, names kept unique; rows as arrays where asked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { arrayRows, preparedStatement } from './database.js';
import { statementName } from './statements.js';

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

  it('names every statement with parameters once it has run a few times, and keeps it working when its table gains a column', async () => {
    await t.db.exec(`CREATE TABLE prepared_auto (id int PRIMARY KEY, label text)`);
    await t.db.query(`INSERT INTO prepared_auto (id, label) VALUES (1, 'one'), (2, 'two')`, []);
    const read = `SELECT id, label FROM prepared_auto WHERE id = $1`;
    const star = `SELECT * FROM prepared_auto WHERE id = $1`;
    const names: Array<string | undefined> = [];
    for (let i = 0; i < 4; i += 1) {
      expect((await t.db.query<{ label: string }>(read, [1])).rows).toEqual([{ id: 1, label: 'one' }]);
      names.push(statementName(read, [1]));
      expect((await t.db.query(star, [2])).rows).toEqual([{ id: 2, label: 'two' }]);
    }
    // Named from the third run on, under one name; a text without parameters and a select-star never.
    expect(names.slice(2).every((n) => n !== undefined && n === names[2])).toBe(true);
    expect(statementName(star, [2])).toBeUndefined();
    expect(statementName(`SELECT 1`)).toBeUndefined();
    if (t.db.kind === 'postgres') {
      const listed = await t.db.transaction(async (tx) => {
        await tx.query(read, [2]);
        return (await tx.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name = $1`, [names[3]])).rows;
      });
      expect(listed).toEqual([{ statement: read }]);
    }
    // A migration adds a column while the statement is prepared on every connection: it still answers.
    await t.db.exec(`ALTER TABLE prepared_auto ADD COLUMN extra text DEFAULT 'x'`);
    for (let i = 0; i < 12; i += 1) {
      expect((await t.db.query(read, [2])).rows).toEqual([{ id: 2, label: 'two' }]);
      expect((await t.db.query(star, [1])).rows).toEqual([{ id: 1, label: 'one', extra: 'x' }]);
    }
  });
});
