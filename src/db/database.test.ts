/**
 * The database interface's LISTEN side on the engine under test: subscriptions made at the same
 * moment (as the workers do at start) all receive their notifications, and on PostgreSQL they
 * take turns on the one listening connection (test/setup-warnings.ts fails the test on
 * node-postgres's "already executing a query" deprecation). On PostgreSQL, connections the server
 * ends (as a restart does) neither end the process nor leave the listener deaf.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';
import { isDatabaseUnavailable } from './database.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('listen', () => {
  it('delivers notifications to subscriptions made concurrently', async () => {
    const channels = ['uh_test_a', 'uh_test_b', 'uh_test_c', 'uh_test_d'];
    const received = new Map<string, string[]>();
    const unsubscribes = await Promise.all(channels.map((channel) => t.db.listen(channel, (payload) => received.set(channel, [...(received.get(channel) ?? []), payload]))));
    for (const channel of channels) await t.db.query(`SELECT pg_notify($1, $2)`, [channel, `to ${channel}`]);
    const deadline = Date.now() + 5_000;
    while (received.size < channels.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Object.fromEntries(received)).toEqual(Object.fromEntries(channels.map((c) => [c, [`to ${c}`]])));
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
  });
});

async function until(condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!process.env.DATABASE_URL)('connections the server ends', () => {
  it('fails a transaction whose connection is terminated between statements, and goes on', async () => {
    const outcome = t.db.transaction(async (tx) => {
      const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await t.db.query('SELECT pg_terminate_backend($1)', [pid]);
      // The termination arrives while this transaction is busy elsewhere (no statement running).
      await new Promise((resolve) => setTimeout(resolve, 300));
      return tx.query('SELECT 1');
    });
    const error = await outcome.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect((await t.db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('reconnects the listening connection, wakes its subscribers and delivers later notifications', async () => {
    const payloads: string[] = [];
    const unsubscribe = await t.db.listen('uh_test_reconnect', (payload) => payloads.push(payload));
    const listenerPid = async () =>
      (await t.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'unite-hub listen' AND datname = current_database()`)).rows.map((r) => r.pid);
    const [before] = await listenerPid();
    expect(before).toBeTypeOf('number');
    await t.db.query('SELECT pg_terminate_backend($1)', [before]);
    // Woken once on reconnection (notifications sent meanwhile are lost), with an empty payload.
    await until(() => payloads.length > 0);
    expect(payloads).toEqual(['']);
    const after = await listenerPid();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    await t.db.query(`SELECT pg_notify('uh_test_reconnect', 'after')`);
    await until(() => payloads.length > 1);
    expect(payloads).toEqual(['', 'after']);
    await unsubscribe();
  });
});

describe('isDatabaseUnavailable', () => {
  it('tells connection failures from statement failures', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
