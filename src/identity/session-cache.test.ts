/**
 * The per-process session cache: a session cookie used once costs no query afterwards, and a
 * session that ends or changes stops resolving the old way at once in this process and within a
 * second elsewhere — in another real server process (through PostgreSQL NOTIFY, migration 127),
 * and whatever path changed it (plain SQL included). An entry never outlives its session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingQueryable, createTestApp, invitationToken, signUp, type Caller, type TestApp } from '../../test/helpers.js';
import { startServerApi } from '../../test/worker-process.js';
import type { Queryable } from '../db/database.js';
import { ManualClock } from '../platform/clock.js';
import { resolveSession } from './identity.js';
import { SessionCache } from './session-cache.js';

let t: TestApp;
const clock = new ManualClock(Date.now());
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => {
  await t.close();
});

const tokenOf = (caller: Caller) => /uh_session=([^;]+)/.exec(caller.session.cookie!)![1]!;
const cookieOnly = (caller: Caller) => ({ cookie: caller.session.cookie! });
const me = async (caller: Caller) => t.app.inject({ method: 'GET', url: '/api/auth/me', headers: cookieOnly(caller) });

/** Polls `check` every 20 ms until it answers `expected`; returns how long that took (ms). */
async function until<T>(expected: T, check: () => Promise<T>, limitMs = 5_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await check()) === expected) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`still not ${String(expected)} after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('session cache', () => {
  it('resolves a session once from the database, then from memory', async () => {
    const caller = await signUp(t.app);
    const { q, count } = countingQueryable(t.db);
    const cache = new SessionCache();
    const first = await resolveSession(q, clock, tokenOf(caller), cache);
    expect(first).toMatchObject({ userId: caller.userId, workspaceId: caller.workspaceId, role: 'owner' });
    expect(count()).toBe(1);
    expect(await resolveSession(q, clock, tokenOf(caller), cache)).toEqual(first);
    expect(count()).toBe(1);
    expect(await resolveSession(q, clock, 'not-a-session', cache)).toBeNull();
  });

  it('does not keep a session that a change overtook while it was being read', async () => {
    const caller = await signUp(t.app);
    const cache = new SessionCache();
    const racing: Queryable = {
      query: async <R,>(sql: string, params?: readonly unknown[]) => {
        const result = await t.db.query<R>(sql, params);
        cache.drop(caller.userId);
        return result;
      },
    };
    await resolveSession(racing, clock, tokenOf(caller), cache);
    const { q, count } = countingQueryable(t.db);
    await resolveSession(q, clock, tokenOf(caller), cache);
    expect(count()).toBe(1);
  });

  it('follows a session to the workspace it moves to at once: accepting an invitation, switching back', async () => {
    const owner = await signUp(t.app);
    const guest = await signUp(t.app, 'Guest');
    expect((await me(guest)).json().workspace.id).toBe(guest.workspaceId);
    const invited = await t.app.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email: guest.email, role: 'viewer' } });
    expect(invited.statusCode).toBe(201);
    const token = await invitationToken(t.db, owner.workspaceId, guest.email);
    expect((await t.app.inject({ method: 'POST', url: '/api/invitations/accept', headers: guest.session, payload: { token } })).statusCode).toBe(200);
    expect((await me(guest)).json()).toMatchObject({ workspace: { id: owner.workspaceId }, role: 'viewer' });
    // A viewer there: the cached owner role of the guest's own workspace must not carry over.
    const write = await t.app.inject({ method: 'POST', url: '/api/contacts', headers: guest.session, payload: { email: 'x@example.com' } });
    expect(write.statusCode).toBe(403);

    const back = await t.app.inject({ method: 'POST', url: '/api/auth/workspace', headers: guest.session, payload: { workspaceId: guest.workspaceId } });
    expect(back.statusCode).toBe(204);
    expect((await me(guest)).json()).toMatchObject({ workspace: { id: guest.workspaceId }, role: 'owner' });
  });

  it('ends a logged-out session at once, and one ended or demoted by plain SQL within a second', async () => {
    const leaving = await signUp(t.app);
    expect((await me(leaving)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: leaving.session })).statusCode).toBe(204);
    expect((await me(leaving)).statusCode).toBe(401);

    const deleted = await signUp(t.app);
    expect((await me(deleted)).statusCode).toBe(200);
    await t.db.query('DELETE FROM sessions WHERE user_id = $1', [deleted.userId]);
    expect(await until(401, async () => (await me(deleted)).statusCode)).toBeLessThan(1_000);

    const demoted = await signUp(t.app);
    expect((await me(demoted)).json().role).toBe('owner');
    await t.db.query(`UPDATE memberships SET role = 'viewer' WHERE user_id = $1`, [demoted.userId]);
    expect(await until('viewer', async () => (await me(demoted)).json().role)).toBeLessThan(1_000);
  });

  it('keeps a session no longer than the session lasts', async () => {
    const caller = await signUp(t.app);
    await t.db.query(`UPDATE sessions SET expires_at = $2 WHERE user_id = $1`, [caller.userId, new Date(clock.now().getTime() + 30_000)]);
    expect(await until(200, async () => (await me(caller)).statusCode)).toBeLessThan(1_000);
    expect((await me(caller)).statusCode).toBe(200);
    // Well inside the cache's own minute: only the session's expiry ends it.
    clock.advance(31_000);
    expect((await me(caller)).statusCode).toBe(401);
  });

  it.skipIf(!process.env.DATABASE_URL)('ends a session logged out here within a second on another server process', { timeout: 120_000 }, async () => {
    const server = await startServerApi(t.testDb.url!);
    try {
      // This test's clock may have been moved on: the session is made to last in real time.
      const caller = await signUp(t.app);
      await t.db.query(`UPDATE sessions SET expires_at = now() + interval '1 hour' WHERE user_id = $1`, [caller.userId]);
      const other = async () => (await fetch(`${server.base}/api/auth/me`, { headers: cookieOnly(caller) })).status;
      expect(await until(200, other)).toBeLessThan(1_000);
      expect(await other()).toBe(200);
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: caller.session })).statusCode).toBe(204);
      expect(await until(401, other)).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });
});
