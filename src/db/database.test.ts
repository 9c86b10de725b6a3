/**
 * The database interface's LISTEN side on the engine under test: subscriptions made at the same
 * moment (as the workers do at start) all receive their notifications, and on PostgreSQL they
 * take turns on the one listening connection (test/setup-warnings.ts fails the test on
 * node-postgres's "already executing a query" deprecation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers.js';

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
