import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, joinByInvitation, sessionHeaders, signUp, type TestApp } from '../../test/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('sign-up and sessions', () => {
  it('creates an organization, workspace and owner, and sets httpOnly session + readable CSRF cookies', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email: 'New.Owner@Example.com', password: 'long enough password', name: 'Nia', organizationName: 'Acme' } });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body.user.email).toBe('new.owner@example.com');
    expect(body.workspace.name).toBe('Acme');
    const session = response.cookies.find((c) => c.name === 'uh_session');
    const csrf = response.cookies.find((c) => c.name === 'uh_csrf');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    expect(csrf?.httpOnly).toBeFalsy();
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: sessionHeaders(response).cookie } });
    expect(me.statusCode).toBe(200);
    expect(me.json().role).toBe('owner');
    expect(me.json().permissions).toContain('api_keys:write');
    const stored = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', ['new.owner@example.com']);
    expect(stored.rows[0]?.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a second account with the same email with EMAIL_TAKEN', async () => {
    const caller = await signUp(t.app);
    const again = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email: caller.email.toUpperCase(), password: 'another password!', name: 'X', organizationName: 'Y' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('EMAIL_TAKEN');
  });

  it('logs in with the right password only, and logs out', async () => {
    const caller = await signUp(t.app);
    const wrong = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: caller.email, password: 'wrong password' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'nobody@example.com', password: 'wrong password' } });
    expect(unknown.json().error.code).toBe('INVALID_CREDENTIALS');
    const ok = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: caller.email, password: caller.password } });
    expect(ok.statusCode).toBe(200);
    const headers = sessionHeaders(ok);
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers });
    expect(out.statusCode).toBe(204);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: headers.cookie } });
    expect(me.statusCode).toBe(401);
  });

  it('validates sign-up input with VALIDATION_FAILED and names the field', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload: { email: 'not-an-email', password: 'short', name: 'N', organizationName: 'O', extra: true } });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    const paths = error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/email', '/password']));
  });
});

describe('CSRF and origin', () => {
  it('refuses an unsafe cookie request without, or with a wrong, CSRF token', async () => {
    const caller = await signUp(t.app);
    const missing = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { cookie: caller.session.cookie! }, payload: { name: 'k' } });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error.code).toBe('CSRF_TOKEN_INVALID');
    const wrong = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { cookie: caller.session.cookie!, 'x-csrf-token': 'x'.repeat(43) }, payload: { name: 'k' } });
    expect(wrong.json().error.code).toBe('CSRF_TOKEN_INVALID');
    const badOrigin = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { ...caller.session, origin: 'https://evil.example' }, payload: { name: 'k' } });
    expect(badOrigin.statusCode).toBe(403);
    expect(badOrigin.json().error.code).toBe('ORIGIN_NOT_ALLOWED');
    const good = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: { ...caller.session, origin: 'http://localhost:3008' }, payload: { name: 'k' } });
    expect(good.statusCode).toBe(201);
  });

  it('needs no CSRF token with an API key', async () => {
    const caller = await signUp(t.app);
    const response = await t.app.inject({ method: 'POST', url: '/api/invitations', headers: caller.bearer, payload: { email: 'm@example.com', role: 'member' } });
    // An admin key may not manage members (owners only) — but the refusal is about the role, not CSRF.
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('FORBIDDEN');
  });
});

describe('API keys', () => {
  it('shows the key once, stores only its hash, records last use, and stops working when revoked', async () => {
    const caller = await signUp(t.app);
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: caller.session, payload: { name: 'server', role: 'member' } });
    const { key, apiKey } = created.json();
    expect(key).toMatch(/^uh_[0-9a-f]{8}_/);
    const stored = await t.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [apiKey.id]);
    expect(stored.rows[0]?.key_hash).not.toContain(key);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${key}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json().role).toBe('member');
    const list = await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: { cookie: caller.session.cookie! } });
    const listed = list.json().apiKeys.find((k: { id: string }) => k.id === apiKey.id);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.json())).not.toContain(key);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${apiKey.id}`, headers: caller.session });
    expect(revoked.statusCode).toBe(204);
    const after = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${key}` } });
    expect(after.statusCode).toBe(401);
  });

  it('cannot revoke another workspace’s key', async () => {
    const a = await signUp(t.app);
    const b = await signUp(t.app);
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: a.session, payload: { name: 'a key' } });
    const response = await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${created.json().apiKey.id}`, headers: b.session });
    expect(response.statusCode).toBe(404);
    const still = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${created.json().key}` } });
    expect(still.statusCode).toBe(200);
  });
});

describe('members and roles', () => {
  it('lets owners invite members, a viewer cannot write, and the last owner cannot be demoted', async () => {
    const owner = await signUp(t.app);
    const added = await joinByInvitation(t.app, t.db, owner, { email: `viewer-${owner.workspaceId}@example.com`, name: 'Vee', role: 'viewer' });
    const viewer = added.session;
    const readKeys = await t.app.inject({ method: 'GET', url: '/api/api-keys', headers: viewer });
    expect(readKeys.statusCode).toBe(403);
    const members = await t.app.inject({ method: 'GET', url: '/api/members', headers: viewer });
    expect(members.statusCode).toBe(200);
    expect(members.json().members).toHaveLength(2);
    const promote = await t.app.inject({ method: 'PATCH', url: `/api/members/${added.userId}`, headers: viewer, payload: { role: 'owner' } });
    expect(promote.statusCode).toBe(403);
    const demote = await t.app.inject({ method: 'PATCH', url: `/api/members/${owner.userId}`, headers: owner.session, payload: { role: 'admin' } });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error.code).toBe('LAST_OWNER');
    const audit = await t.app.inject({ method: 'GET', url: '/api/audit-log', headers: { cookie: owner.session.cookie! } });
    const actions = audit.json().entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['invitation.create', 'invitation.accept', 'member.add', 'api_key.create', 'workspace.create']));
    const beyond = await t.app.inject({ method: 'GET', url: '/api/audit-log?before=1e308', headers: { cookie: owner.session.cookie! } });
    expect(beyond.statusCode).toBe(400);
    expect(beyond.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('login rate limit', () => {
  it('answers 429 RATE_LIMITED after too many attempts', async () => {
    const limited = await createTestApp({ config: { LOGIN_RATE_LIMIT_PER_MINUTE: '3' }, testDb: t.testDb });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const r = await limited.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'x@example.com', password: 'nope nope' } });
        codes.push(r.statusCode);
        if (r.statusCode === 429) expect(r.json().error.code).toBe('RATE_LIMITED');
      }
      expect(codes.slice(0, 3)).toEqual([401, 401, 401]);
      expect(codes[4]).toBe(429);
    } finally {
      await limited.app.close();
    }
  });
});
