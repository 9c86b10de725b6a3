/**
 * Vacuuming as autovacuum would (db/maintenance.ts), on the engine under test: tables past the
 * server's autovacuum thresholds are vacuumed and analyzed, others are left alone, and a queue
 * claim is then planned as an ordered index scan that stops at its batch. The embedded database
 * runs the worker itself, since PGlite has no autovacuum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { createLogger } from '../platform/logger.js';
import { createEmbeddedAutovacuum, vacuumAsAutovacuumWould } from './maintenance.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

/** Writes in one transaction whose statistics reach pg_stat_user_tables at its commit. */
async function writeAndFlushStatistics(statements: string[]): Promise<void> {
  await t.db.transaction(async (tx) => {
    for (const statement of statements) await tx.query(statement);
    await tx.query('SELECT pg_stat_force_next_flush()');
  });
}

/** The planner's row count of a table: -1 until it was first vacuumed or analyzed. */
async function reltuples(table: string): Promise<number> {
  return Number((await t.db.query<{ n: number }>(`SELECT reltuples AS n FROM pg_class WHERE relname = $1`, [table])).rows[0]!.n);
}

describe('vacuumAsAutovacuumWould', () => {
  it('vacuums and analyzes the tables past the thresholds and leaves the others', async () => {
    await writeAndFlushStatistics([
      'CREATE TABLE maint_busy (id int PRIMARY KEY, v int NOT NULL)',
      'CREATE TABLE maint_quiet (id int PRIMARY KEY)',
      'INSERT INTO maint_busy SELECT i, 0 FROM generate_series(1, 5000) i',
      'UPDATE maint_busy SET v = v + 1',
      'INSERT INTO maint_quiet SELECT i FROM generate_series(1, 10) i',
    ]);
    expect(await reltuples('maint_busy')).toBe(-1);

    const run = await vacuumAsAutovacuumWould(t.db, { throttle: false });
    expect(run.vacuumed).toContain('public.maint_busy');
    expect(run.analyzed).toContain('public.maint_busy');
    expect([...run.vacuumed, ...run.analyzed]).not.toContain('public.maint_quiet');
    expect(await reltuples('maint_busy')).toBe(5000);
    expect(await reltuples('maint_quiet')).toBe(-1);
  });

  it('plans a queue claim as an ordered index scan that stops at its batch once analyzed', async () => {
    await writeAndFlushStatistics([
      `CREATE TABLE maint_queue (id serial PRIMARY KEY, status text NOT NULL, due_at timestamptz NOT NULL, payload text NOT NULL)`,
      `CREATE INDEX maint_queue_due ON maint_queue (due_at) WHERE status = 'queued'`,
      `INSERT INTO maint_queue (status, due_at, payload) SELECT 'queued', now() - i * interval '1 second', repeat('x', 200) FROM generate_series(1, 20000) i`,
    ]);
    await vacuumAsAutovacuumWould(t.db, { throttle: false });
    const plan = await t.db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) SELECT id FROM maint_queue WHERE status = 'queued' AND due_at <= now() ORDER BY due_at LIMIT 200 FOR UPDATE SKIP LOCKED`,
    );
    const text = JSON.stringify(plan.rows[0]!['QUERY PLAN']);
    expect(text).toContain('"Index Name":"maint_queue_due"');
    expect(text).not.toContain('"Node Type":"Sort"');
    expect(text).not.toContain('Bitmap');
  });
});

describe('the embedded autovacuum worker', () => {
  it('runs the check on start and on its interval until stopped', async () => {
    await writeAndFlushStatistics(['CREATE TABLE maint_worker (id int PRIMARY KEY)', 'INSERT INTO maint_worker SELECT i FROM generate_series(1, 3000) i']);
    const worker = createEmbeddedAutovacuum({ db: t.db, logger: createLogger('silent') }, 50);
    worker.start();
    const deadline = Date.now() + 10_000;
    while ((await reltuples('maint_worker')) !== 3000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await worker.stop();
    expect(await reltuples('maint_worker')).toBe(3000);
  });
});
