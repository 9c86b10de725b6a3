/**
 * Racing creations: identical requests sent at once must each get a documented answer (one 201,
 * the rest 409), never a 500 from the unique index that settles the race. Races need concurrent
 * transactions, so these run on PostgreSQL; PGlite serializes every transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, invitationToken, signUp, type TestApp } from '../../test/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const onPostgres = Boolean(process.env.DATABASE_URL);

function tally(statuses: Array<{ statusCode: number; code?: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[`${s.statusCode}${s.code ? ` ${s.code}` : ''}`] = (out[`${s.statusCode}${s.code ? ` ${s.code}` : ''}`] ?? 0) + 1;
  return out;
}

describe.runIf(onPostgres)('concurrent creations', () => {
  it('eight simultaneous sign-ups for one email: one 201, seven 409 EMAIL_TAKEN', async () => {
    const email = `race-${Date.now()}@example.com`;
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email, password: 'long enough password', name: `R${i}`, organizationName: `Race ${i}` } })),
    );
    const outcome = tally(responses.map((r) => ({ statusCode: r.statusCode, code: r.statusCode === 201 ? undefined : (r.json() as { error: { code: string } }).error.code })));
    expect(outcome).toEqual({ '201': 1, '409 EMAIL_TAKEN': 7 });
    const users = await t.db.query<{ n: number }>('SELECT count(*) AS n FROM users WHERE email = $1', [email]);
    expect(users.rows[0]!.n).toBe(1);
  });

  it('eight simultaneous sign-ups through one invitation link: one 201, the rest refused with a code, one member', async () => {
    const owner = await signUp(t.app);
    const email = `member-race-${Date.now()}@example.com`;
    const invited = await t.app.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email, role: 'member' } });
    expect(invited.statusCode).toBe(201);
    const token = await invitationToken(t.db, owner.workspaceId, email);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => t.app.inject({ method: 'POST', url: '/api/invitations/signup', payload: { token, name: 'Racer', password: 'long enough password' } })),
    );
    const outcome = tally(responses.map((r) => ({ statusCode: r.statusCode, code: r.statusCode === 201 ? undefined : (r.json() as { error: { code: string } }).error.code })));
    expect(outcome['201']).toBe(1);
    expect(responses.every((r) => r.statusCode === 201 || r.statusCode === 409)).toBe(true);
    const members = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1', [email]);
    expect(members.rows[0]!.n).toBe(1);
  });
});
