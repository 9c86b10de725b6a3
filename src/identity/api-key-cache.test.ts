/**
 * The per-process API-key cache: a key used once costs no query afterwards, and a key revoked
 * anywhere stops working within a second — in this process, in another real server process
 * (through PostgreSQL NOTIFY, migration 114), and whatever path revoked it (plain SQL included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingQueryable, createTestApp, signUp, type TestApp } from '../../test/helpers.js';
import { startServerApi } from '../../test/worker-process.js';
import type { Queryable } from '../db/database.js';
import { systemClock } from '../platform/clock.js';
import { ApiKeyCache } from './api-key-cache.js';
import { resolveApiKey } from './identity.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function newKey(): Promise<{ key: string; id: string; session: Record<string, string> }> {
  const caller = await signUp(t.app);
  const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'cached', role: 'member' } });
  const { key, apiKey } = created.json() as { key: string; apiKey: { id: string } };
  return { key, id: apiKey.id, session: caller.session };
}

/** Polls `status` every 20 ms until it answers `expected`; returns how long that took (ms). */
async function until(expected: number, status: () => Promise<number>, limitMs = 5_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await status()) === expected) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`still not ${expected} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('API key cache', () => {
  it('resolves a key once from the database, then from memory', async () => {
    const { key } = await newKey();
    const { q: counting, count } = countingQueryable(t.db);
    const cache = new ApiKeyCache();
    const first = await resolveApiKey(counting, systemClock, key, cache);
    const afterFirst = count();
    expect(afterFirst).toBeGreaterThan(0);
    expect(await resolveApiKey(counting, systemClock, key, cache)).toEqual(first);
    expect(await resolveApiKey(counting, systemClock, key, cache)).toEqual(first);
    expect(count()).toBe(afterFirst);
  });

  it('does not keep a key that a revocation overtook while it was being read', async () => {
    const { key, id } = await newKey();
    const cache = new ApiKeyCache();
    let revokeDuringRead = true;
    const racing: Queryable = {
      query: async <R,>(sql: string, params?: readonly unknown[]) => {
        const result = await t.db.query<R>(sql, params);
        if (revokeDuringRead) {
          revokeDuringRead = false;
          cache.drop(id);
        }
        return result;
      },
    };
    await resolveApiKey(racing, systemClock, key, cache);
    const { q: counting, count } = countingQueryable(t.db);
    await resolveApiKey(counting, systemClock, key, cache);
    expect(count()).toBeGreaterThan(0);
  });

  it('stops a key revoked in this process, or by plain SQL, within a second', async () => {
    const me = (key: string) => async () => (await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${key}` } })).statusCode;
    const viaApi = await newKey();
    expect(await me(viaApi.key)()).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${viaApi.id}`, headers: viaApi.session })).statusCode).toBe(204);
    expect(await me(viaApi.key)()).toBe(401);

    const viaSql = await newKey();
    expect(await me(viaSql.key)()).toBe(200);
    await t.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [viaSql.id]);
    expect(await until(401, me(viaSql.key))).toBeLessThan(1_000);
  });

  it.skipIf(!process.env.DATABASE_URL)('stops a key revoked here within a second on another server process', { timeout: 120_000 }, async () => {
    const server = await startServerApi(t.testDb.url!);
    try {
      const { key, id, session } = await newKey();
      const other = async () => (await fetch(`${server.base}/api/auth/me`, { headers: { authorization: `Bearer ${key}` } })).status;
      expect(await other()).toBe(200);
      expect(await other()).toBe(200);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${id}`, headers: session })).statusCode).toBe(204);
      expect(await until(401, other)).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });
});
