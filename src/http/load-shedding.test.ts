/**
 * Load shedding: while the event loop is overloaded, new requests get a fast 503
 * SERVICE_UNAVAILABLE with Retry-After (health probes still answer); once it recovers, requests
 * are served again. And a statement that cannot get a pooled connection within the wait bound is
 * answered 503 with Retry-After instead of waiting on.
 */
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp } from '../../test/helpers.js';
import { DatabaseBusyError, createPostgresDatabase } from '../db/database.js';
import { registerLoadShedding } from './load-shedding.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the event loop is held, as by a burst of synchronous work
  }
}

describe('load shedding on event-loop delay', () => {
  it('answers 503 + Retry-After while the loop is overloaded, and serves again once it recovers', async () => {
    const app = Fastify();
    registerLoadShedding(app, { maxEventLoopDelayMs: 50, sampleIntervalMs: 200 });
    app.get('/work', async () => ({ ok: true }));
    app.get('/health/live', async () => ({ ok: true }));
    await app.ready();
    try {
      expect((await app.inject({ method: 'GET', url: '/work' })).statusCode).toBe(200);
      // Hold the loop in 100 ms slices, letting it turn between them, until told to stop: the
      // overload lasts however long a busy test machine takes to see it.
      let holding = true;
      const held = (async () => {
        while (holding) {
          blockLoop(100);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      let shed: Awaited<ReturnType<typeof app.inject>> | undefined;
      const deadline = Date.now() + 5_000;
      while (!shed && Date.now() < deadline) {
        await sleep(10);
        const r = await app.inject({ method: 'GET', url: '/work' });
        if (r.statusCode !== 200) shed = r;
      }
      const live = await app.inject({ method: 'GET', url: '/health/live' });
      holding = false;
      await held;
      expect(shed?.statusCode).toBe(503);
      expect(shed!.headers['retry-after']).toBe('1');
      expect(shed!.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
      expect(live.statusCode).toBe(200);
      // Once the loop is idle again, requests are served (within a few sample intervals).
      let served = 0;
      const recovery = Date.now() + 5_000;
      while (served !== 200 && Date.now() < recovery) {
        await sleep(100);
        served = (await app.inject({ method: 'GET', url: '/work' })).statusCode;
      }
      expect(served).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('load shedding on the database pool', () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const o of opened) await o.close();
  });

  it('refuses a statement with DatabaseBusyError when every connection stays busy past the wait bound', async () => {
    const t = await createTestApp();
    opened.push(t);
    const db = createPostgresDatabase(t.testDb.url!, 1, undefined, { connectionWaitMs: 300 });
    opened.push(db);
    const holding = db.query('SELECT pg_sleep(1.5)');
    const started = Date.now();
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseBusyError);
    expect(Date.now() - started).toBeLessThan(1_200);
    await expect(db.transaction(async (tx) => tx.query('SELECT 1'))).rejects.toBeInstanceOf(DatabaseBusyError);
    await holding;
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when the pool stays saturated', async () => {
    const t = await createTestApp();
    opened.push(t);
    const caller = await signUp(t.app);
    const busy = createPostgresDatabase(t.testDb.url!, 1, undefined, { connectionWaitMs: 200 });
    opened.push(busy);
    // The app's handlers see a pool whose only connection is held for a second.
    const original = t.runtime.deps.db.query.bind(t.runtime.deps.db);
    t.runtime.deps.db.query = busy.query.bind(busy) as typeof original;
    try {
      const holding = busy.query('SELECT pg_sleep(1)');
      const r = await t.app.inject({ method: 'GET', url: '/api/contacts?limit=5', headers: caller.bearer });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json().error.code).toBe('SERVICE_UNAVAILABLE');
      await holding;
    } finally {
      t.runtime.deps.db.query = original;
    }
  });
});
