/** An API key's last use is recorded at most once a minute: requests in between write nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';

let t: TestApp;
const clock = new ManualClock();
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => {
  await t.close();
});

async function keyRow(id: string): Promise<{ xmin: string; last_used_at: Date | null }> {
  const result = await t.db.query<{ xmin: string; last_used_at: Date | null }>('SELECT xmin::text AS xmin, last_used_at FROM api_keys WHERE id = $1', [id]);
  return result.rows[0]!;
}

describe('API key last use', () => {
  it('is written on first use, not rewritten within a minute, and written again after it', async () => {
    const caller = await signUp(t.app);
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'busy', role: 'member' } });
    const { key, apiKey } = created.json() as { key: string; apiKey: { id: string } };
    const headers = { authorization: `Bearer ${key}` };
    expect((await keyRow(apiKey.id)).last_used_at).toBeNull();

    const first = clock.now();
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers })).statusCode).toBe(200);
    const touched = await keyRow(apiKey.id);
    expect(touched.last_used_at?.getTime()).toBe(first.getTime());

    // 59 s of requests later the row is the same version: no UPDATE ran.
    for (let i = 0; i < 5; i += 1) {
      clock.advance(11_800);
      expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers })).statusCode).toBe(200);
    }
    const quiet = await keyRow(apiKey.id);
    expect(quiet.xmin).toBe(touched.xmin);
    expect(quiet.last_used_at?.getTime()).toBe(first.getTime());

    clock.advance(1_000);
    const later = clock.now();
    await Promise.all([0, 1, 2].map(() => t.app.inject({ method: 'GET', url: '/api/auth/me', headers })));
    expect((await keyRow(apiKey.id)).last_used_at?.getTime()).toBe(later.getTime());

    const listed = await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: { cookie: caller.session.cookie! } });
    expect((listed.json() as { apiKeys: Array<{ id: string; lastUsedAt: string }> }).apiKeys.find((k) => k.id === apiKey.id)?.lastUsedAt).toBe(later.toISOString());
  });

  it('still refuses a revoked key', async () => {
    const caller = await signUp(t.app);
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'gone', role: 'member' } });
    const { key, apiKey } = created.json() as { key: string; apiKey: { id: string } };
    await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${apiKey.id}`, headers: caller.session });
    const refused = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${key}` } });
    expect(refused.statusCode).toBe(401);
  });
});
