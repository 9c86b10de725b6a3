import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestDatabase, signUp, testConfig, type TestApp, type TestDatabase } from '../../test/helpers.js';
import { enqueueTestEmail } from '../../test/email-helpers.js';
import type { Database } from '../db/database.js';
import { createRuntime } from '../init.js';
import { ManualClock } from './clock.js';
import { createDueCheck } from './due-check.js';
import { createLogger } from './logger.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database with its statements counted (a transaction's statements with BEGIN and COMMIT). */
function counted(db: Database): { db: Database; statements: string[] } {
  const statements: string[] = [];
  const wrapped = Object.create(db) as Database;
  wrapped.query = ((sql: string, params?: readonly unknown[]) => {
    statements.push(sql);
    return db.query(sql, params);
  }) as Database['query'];
  wrapped.transaction = ((fn: Parameters<Database['transaction']>[0]) =>
    db.transaction((tx) => {
      statements.push('BEGIN', 'COMMIT');
      return fn({ query: (sql, params) => (statements.push(sql), tx.query(sql, params)) });
    })) as Database['transaction'];
  return { db: wrapped, statements };
}

describe('the due check', () => {
  it('asks every watcher in one statement and wakes only those whose condition holds, at the clock given', async () => {
    const clock = new ManualClock(new Date('2026-01-05T09:00:00Z'));
    const { db, statements } = counted(t.db);
    const check = createDueCheck({ db, clock, logger: createLogger('silent') });
    const woken = { due: 0, notYet: 0, never: 0 };
    const stops = [
      check.watch({ name: 'due', condition: `$1 >= '2026-01-05T09:00:00Z'::timestamptz`, everyMs: 50, wake: () => (woken.due += 1) }),
      check.watch({ name: 'notYet', condition: `$1 >= '2026-01-06T09:00:00Z'::timestamptz`, everyMs: 50, wake: () => (woken.notYet += 1) }),
      check.watch({ name: 'never', condition: 'false', everyMs: 50, wake: () => (woken.never += 1) }),
    ];
    await sleep(400);
    expect(woken.due).toBeGreaterThanOrEqual(3);
    expect(woken.notYet).toBe(0);
    expect(woken.never).toBe(0);
    // One statement per look, whatever the number of watchers.
    expect(statements.length).toBe(woken.due);
    clock.advance(86_400_000);
    await sleep(200);
    expect(woken.notYet).toBeGreaterThan(0);
    for (const stop of stops) stop();
    const after = statements.length;
    await sleep(200);
    expect(statements.length).toBe(after);
    await check.close();
  });

  it('asks a watcher every `everyMs`: one of twice the interval is asked half as often', async () => {
    const check = createDueCheck({ db: t.db, clock: new ManualClock(), logger: createLogger('silent') });
    const asked = { fast: 0, slow: 0 };
    const stops = [
      check.watch({ name: 'fast', condition: 'true', everyMs: 100, wake: () => (asked.fast += 1) }),
      check.watch({ name: 'slow', condition: 'true', everyMs: 200, wake: () => (asked.slow += 1) }),
    ];
    await sleep(1050);
    for (const stop of stops) stop();
    await check.close();
    expect(asked.fast).toBeGreaterThanOrEqual(8);
    expect(asked.slow).toBeGreaterThanOrEqual(4);
    expect(asked.slow).toBeLessThanOrEqual(Math.ceil(asked.fast / 2) + 1);
  });

  it('wakes every watcher when the look fails, so each worker looks for itself', async () => {
    const check = createDueCheck({ db: t.db, clock: new ManualClock(), logger: createLogger('silent') });
    const woken = { broken: 0, quiet: 0 };
    const stops = [
      check.watch({ name: 'broken', condition: 'EXISTS (SELECT 1 FROM no_such_table)', everyMs: 50, wake: () => (woken.broken += 1) }),
      check.watch({ name: 'quiet', condition: 'false', everyMs: 50, wake: () => (woken.quiet += 1) }),
    ];
    await sleep(300);
    for (const stop of stops) stop();
    await check.close();
    expect(woken.broken).toBeGreaterThan(0);
    expect(woken.quiet).toBe(woken.broken);
  });
});

describe('an idle worker process', () => {
  let app: TestApp;
  let workspaceId: string;
  const clock = new ManualClock();
  beforeAll(async () => {
    app = await createTestApp({ clock, config: { WORKER_POLL_MS: '100' } });
    workspaceId = (await signUp(app.app)).workspaceId;
  });
  afterAll(async () => {
    await app.close();
  });

  it('sends one look per poll, not a claim per worker, and still finds work that comes due by time', async () => {
    // A message due in an hour: its NOTIFY wakes the sender, which finds nothing due yet.
    const id = await enqueueTestEmail(app.db, workspaceId, { notBefore: new Date(clock.now().getTime() + 3_600_000) });
    const { db, statements } = counted(app.db);
    // The runtime's workers on the counted database (its due check included).
    const runtime = await createRuntime(testConfig({ WORKER_POLL_MS: '100' }), { db, clock, logger: createLogger('silent') });
    try {
      for (const worker of runtime.workers) worker.start();
      await sleep(1500);
      const before = statements.length;
      await sleep(1000);
      // Every 100 ms one look (the evaluator's and the folder's conditions join every tenth).
      // Before the due check, the workers' own polls sent over 200 statements in this second.
      expect(statements.length - before).toBeLessThanOrEqual(15);
      expect((await app.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id])).rows[0]!.status).toBe('queued');
      clock.advance(3_600_000);
      let status = 'queued';
      for (let i = 0; i < 40 && status !== 'sent'; i += 1) {
        await sleep(50);
        status = (await app.db.query<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id])).rows[0]!.status;
      }
      expect(status).toBe('sent');
    } finally {
      await runtime.close();
    }
  });
});
