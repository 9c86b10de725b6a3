import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { createRuntime } from '../init.js';
import { createLogger } from '../platform/logger.js';
import { ManualClock } from '../platform/clock.js';
import { createTestApp, invitationToken, joinByInvitation, sessionHeaders, signUp, testConfig, type Caller, type TestApp } from '../../test/helpers.js';
import { roleWithin, type Role } from './permissions.js';
import { sha256 } from './tokens.js';

const clock = new ManualClock();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => {
  await t.close();
});

let n = 0;
const freshEmail = (label: string): string => `${label}-${Date.now()}-${(n += 1)}@example.com`;

const invite = (owner: Caller, email: string, role = 'member') => t.app.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email, role } });
const info = (token: string) => t.app.inject({ method: 'POST', url: '/api/invitations/accept-info', payload: { token } });
const signUpWith = (token: string, name = 'Invitee') => t.app.inject({ method: 'POST', url: '/api/invitations/signup', payload: { token, name, password: 'invitee password' } });
const accept = (session: Record<string, string>, token: string) => t.app.inject({ method: 'POST', url: '/api/invitations/accept', headers: session, payload: { token } });

async function membership(workspaceId: string, email: string): Promise<string | null> {
  const found = await t.db.query<{ role: string }>('SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND u.email = $2', [workspaceId, email]);
  return found.rows[0]?.role ?? null;
}

async function auditActions(workspaceId: string): Promise<string[]> {
  const rows = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE workspace_id = $1 ORDER BY id`, [workspaceId]);
  return rows.rows.map((r) => r.action);
}

describe('inviting', () => {
  it('no longer adds an existing account directly: POST /api/members is gone and nobody joins without accepting', async () => {
    const owner = await signUp(t.app, 'Olive');
    const someone = await signUp(t.app, 'Private Person');
    const direct = await t.app.inject({ method: 'POST', url: '/api/members', headers: owner.session, payload: { email: someone.email, role: 'member' } });
    expect(direct.statusCode).toBe(404);
    expect(direct.json().error.code).toBe('ROUTE_NOT_FOUND');
    const invited = await invite(owner, someone.email);
    expect(invited.statusCode).toBe(201);
    expect(await membership(owner.workspaceId, someone.email)).toBeNull();
    expect(JSON.stringify(invited.json())).not.toContain('Private Person');
    const members = await t.app.inject({ method: 'GET', url: '/api/members', headers: owner.session });
    expect(members.json().members.map((m: { email: string }) => m.email)).toEqual([owner.email]);
  });

  it('answers the same whether or not the address has an account, and sends the same email', async () => {
    const owner = await signUp(t.app, 'Olive');
    const existing = await signUp(t.app, 'Known Account');
    const unknown = freshEmail('nobody');
    const a = await invite(owner, existing.email, 'admin');
    const b = await invite(owner, unknown, 'admin');
    expect(a.statusCode).toBe(b.statusCode);
    expect(a.headers['content-type']).toBe(b.headers['content-type']);
    const shape = (body: Record<string, unknown>) => ({ ...body, id: 'ID', email: 'EMAIL' });
    expect(shape(a.json())).toEqual(shape(b.json()));
    expect(a.json()).toMatchObject({ email: existing.email, role: 'admin', status: 'pending', invitedBy: { id: owner.userId, name: 'Olive' } });
    const mails = await t.db.query<{ to_address: string; subject: string; text_body: string }>(
      `SELECT to_address, subject, text_body FROM messages WHERE workspace_id = $1 AND source_type = 'invitation'`,
      [owner.workspaceId],
    );
    expect(mails.rows).toHaveLength(2);
    const words = mails.rows.map((m) => ({ subject: m.subject, text: m.text_body.replace(/token=[\w-]+/, 'token=T') }));
    expect(words[0]).toEqual(words[1]);
    // Only the token's hash is stored; the raw token is only in the email.
    const token = await invitationToken(t.db, owner.workspaceId, unknown);
    const stored = await t.db.query<{ token_hash: string }>('SELECT token_hash FROM invitations WHERE id = $1', [b.json().id]);
    expect(stored.rows[0]!.token_hash).toBe(sha256(token));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses an existing member (ALREADY_MEMBER) and a second pending invitation (INVITATION_EXISTS), also when racing', async () => {
    const owner = await signUp(t.app);
    const self = await invite(owner, owner.email);
    expect(self.statusCode).toBe(409);
    expect(self.json().error.code).toBe('ALREADY_MEMBER');
    const email = freshEmail('twice');
    const first = await invite(owner, email);
    const second = await invite(owner, email.toUpperCase());
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toMatchObject({ code: 'INVITATION_EXISTS', details: { invitationId: first.json().id } });

    const raced = freshEmail('raced');
    const answers = await Promise.all(Array.from({ length: 6 }, () => invite(owner, raced)));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(answers.filter((r) => r.statusCode === 409).every((r) => r.json().error.code === 'INVITATION_EXISTS')).toBe(true);
  });

  it('lets only owners invite, list, resend and revoke; a role above the inviter’s is refused', async () => {
    const owner = await signUp(t.app);
    const admin = await joinByInvitation(t.app, t.db, owner, { email: freshEmail('admin'), role: 'admin' });
    const member = await joinByInvitation(t.app, t.db, owner, { email: freshEmail('member'), role: 'member' });
    const viewer = await joinByInvitation(t.app, t.db, owner, { email: freshEmail('viewer'), role: 'viewer' });
    const pending = (await invite(owner, freshEmail('pending'))).json();
    for (const headers of [admin.session, member.session, viewer.session, owner.bearer]) {
      const tries = [
        await t.app.inject({ method: 'POST', url: '/api/invitations', headers, payload: { email: freshEmail('x'), role: 'viewer' } }),
        await t.app.inject({ method: 'GET', url: '/api/invitations', headers }),
        await t.app.inject({ method: 'POST', url: `/api/invitations/${pending.id}/resend`, headers }),
        await t.app.inject({ method: 'DELETE', url: `/api/invitations/${pending.id}`, headers }),
      ];
      expect(tries.map((r) => r.json().error.code)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    }
    // An owner may invite every role, owner included; the rule that caps the role by the inviter's:
    expect(['owner', 'admin', 'member', 'viewer'].map((r) => roleWithin(r as Role, 'admin'))).toEqual([false, true, true, true]);
    expect((await invite(owner, freshEmail('co-owner'), 'owner')).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email: 'not an email', role: 'member' } })).json().error.code).toBe('VALIDATION_FAILED');
  });

  it('limits invitation emails: a pause before a resend, and 100 a day per workspace (by the clock)', async () => {
    const owner = await signUp(t.app);
    const created = (await invite(owner, freshEmail('eager'))).json();
    const tooSoon = await t.app.inject({ method: 'POST', url: `/api/invitations/${created.id}/resend`, headers: owner.session });
    expect(tooSoon.statusCode).toBe(429);
    expect(tooSoon.json().error.code).toBe('RATE_LIMITED');
    clock.advance(60_000);
    expect((await t.app.inject({ method: 'POST', url: `/api/invitations/${created.id}/resend`, headers: owner.session })).statusCode).toBe(200);

    await t.db.query(
      `INSERT INTO invitations (workspace_id, email, role, token_hash, created_at, sent_at, expires_at)
       SELECT $1, 'bulk-' || i || '@example.com', 'viewer', md5(random()::text || i), $2, $2, $3 FROM generate_series(1, 99) AS i`,
      [owner.workspaceId, clock.now(), new Date(clock.now().getTime() + 86_400_000)],
    );
    const capped = await invite(owner, freshEmail('one-too-many'));
    expect(capped.statusCode).toBe(429);
    expect(capped.json().error.code).toBe('RATE_LIMITED');
    clock.advance(86_400_000);
    expect((await invite(owner, freshEmail('next-day'))).statusCode).toBe(201);
  });

  it('keeps invitations inside their workspace', async () => {
    const a = await signUp(t.app);
    const b = await signUp(t.app);
    const invitation = (await invite(a, freshEmail('iso'))).json();
    expect((await t.app.inject({ method: 'GET', url: '/api/invitations', headers: b.session })).json().invitations).toEqual([]);
    for (const r of [
      await t.app.inject({ method: 'DELETE', url: `/api/invitations/${invitation.id}`, headers: b.session }),
      await t.app.inject({ method: 'POST', url: `/api/invitations/${invitation.id}/resend`, headers: b.session }),
    ]) {
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('NOT_FOUND');
    }
    const listed = await t.app.inject({ method: 'GET', url: '/api/invitations', headers: a.session });
    expect(listed.json().invitations.map((i: { id: string }) => i.id)).toEqual([invitation.id]);
  });
});

describe('accepting', () => {
  it('shows who invited whom to what, only with a valid token', async () => {
    const owner = await signUp(t.app, 'Olive Owner');
    const email = freshEmail('preview');
    await invite(owner, email, 'viewer');
    const token = await invitationToken(t.db, owner.workspaceId, email);
    const shown = await info(token);
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ email, role: 'viewer', workspace: { id: owner.workspaceId }, invitedBy: { name: 'Olive Owner' } });
    const unknown = await info('A'.repeat(43));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('INVITATION_INVALID');
    expect((await info('short')).json().error.code).toBe('VALIDATION_FAILED');
  });

  it('signs up through the link: the account gets the invited email and joins that workspace, not a new organization', async () => {
    const owner = await signUp(t.app);
    const email = freshEmail('newcomer');
    await invite(owner, email, 'admin');
    const token = await invitationToken(t.db, owner.workspaceId, email);
    const organizations = async () => Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM organizations')).rows[0]!.n);
    const before = await organizations();
    const joined = await signUpWith(token, 'Nadia New');
    expect(joined.statusCode).toBe(201);
    expect(joined.json()).toMatchObject({ user: { email, name: 'Nadia New' }, workspace: { id: owner.workspaceId }, role: 'admin' });
    expect(await organizations()).toBe(before);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: sessionHeaders(joined).cookie! } });
    expect(me.json()).toMatchObject({ workspace: { id: owner.workspaceId }, role: 'admin', user: { email } });
    expect(await membership(owner.workspaceId, email)).toBe('admin');
    // The link works once.
    const again = await signUpWith(token);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVITATION_ACCEPTED');
    expect((await info(token)).json().error.code).toBe('INVITATION_ACCEPTED');
    expect((await t.app.inject({ method: 'GET', url: '/api/invitations', headers: owner.session })).json().invitations).toEqual([]);
    expect(await auditActions(owner.workspaceId)).toEqual(expect.arrayContaining(['invitation.create', 'invitation.accept', 'member.add']));
    const row = await t.db.query<{ accepted_user_id: string }>('SELECT accepted_user_id FROM invitations WHERE workspace_id = $1', [owner.workspaceId]);
    expect(row.rows[0]!.accepted_user_id).toBe(joined.json().user.id);
  });

  it('lets the invited account accept signed in, moving its session there; another account is refused', async () => {
    const owner = await signUp(t.app);
    const invitee = await signUp(t.app, 'Ivy');
    const stranger = await signUp(t.app, 'Sam');
    await invite(owner, invitee.email, 'member');
    const token = await invitationToken(t.db, owner.workspaceId, invitee.email);

    const wrong = await accept(stranger.session, token);
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe('INVITATION_EMAIL_MISMATCH');
    expect(await membership(owner.workspaceId, stranger.email)).toBeNull();
    const byKey = await t.app.inject({ method: 'POST', url: '/api/invitations/accept', headers: invitee.bearer, payload: { token } });
    expect(byKey.json().error.code).toBe('FORBIDDEN');
    const exists = await signUpWith(token);
    expect(exists.statusCode).toBe(409);
    expect(exists.json().error.code).toBe('EMAIL_TAKEN');

    const accepted = await accept(invitee.session, token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ workspace: { id: owner.workspaceId }, role: 'member' });
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: invitee.session.cookie! } });
    expect(me.json().workspace.id).toBe(owner.workspaceId);
    expect(me.json().workspaces.map((w: { id: string }) => w.id).sort()).toEqual([owner.workspaceId, invitee.workspaceId].sort());
    expect((await accept(invitee.session, token)).json().error.code).toBe('INVITATION_ACCEPTED');
    const audit = await t.db.query<{ action: string; actor_id: string }>(`SELECT action, actor_id FROM audit_log WHERE workspace_id = $1 AND action IN ('invitation.accept', 'member.add')`, [owner.workspaceId]);
    expect(audit.rows.map((r) => [r.action, r.actor_id]).sort()).toEqual([['invitation.accept', invitee.userId], ['member.add', invitee.userId]]);
    // The owner now sees the member they could not see before.
    const members = await t.app.inject({ method: 'GET', url: '/api/members', headers: owner.session });
    expect(members.json().members.map((m: { name: string }) => m.name)).toContain('Ivy');
  });

  it('accepts at log-in, so an account removed from every workspace can come back through an invitation', async () => {
    const owner = await signUp(t.app);
    const email = freshEmail('returning');
    const first = await joinByInvitation(t.app, t.db, owner, { email, role: 'member', password: 'returning password' });
    // Removed from its only workspace, the account cannot log in on its own any more.
    expect((await t.app.inject({ method: 'DELETE', url: `/api/members/${first.userId}`, headers: owner.session })).statusCode).toBe(204);
    const alone = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'returning password' } });
    expect(alone.json().error.code).toBe('FORBIDDEN');

    await invite(owner, email, 'viewer');
    const token = await invitationToken(t.db, owner.workspaceId, email);
    const wrongPassword = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'not the password', invitationToken: token } });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json().error.code).toBe('INVALID_CREDENTIALS');
    const other = await signUp(t.app);
    const otherAccount = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: other.email, password: other.password, invitationToken: token } });
    expect(otherAccount.json().error.code).toBe('INVITATION_EMAIL_MISMATCH');
    expect(await membership(owner.workspaceId, email)).toBeNull();

    const back = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'returning password', invitationToken: token } });
    expect(back.statusCode).toBe(200);
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: sessionHeaders(back).cookie! } });
    expect(me.json()).toMatchObject({ workspace: { id: owner.workspaceId }, role: 'viewer', user: { email } });
    const used = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password: 'returning password', invitationToken: token } });
    expect(used.json().error.code).toBe('INVITATION_ACCEPTED');
  });

  it('refuses an expired link (by the clock), lists it as expired, and a resend renews it with a new link', async () => {
    const owner = await signUp(t.app);
    const email = freshEmail('late');
    const created = (await invite(owner, email)).json();
    const old = await invitationToken(t.db, owner.workspaceId, email);
    clock.advance(7 * 86_400_000 + 1);
    const expired = await info(old);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().error.code).toBe('INVITATION_EXPIRED');
    expect((await signUpWith(old)).json().error.code).toBe('INVITATION_EXPIRED');
    const listed = await t.app.inject({ method: 'GET', url: '/api/invitations', headers: owner.session });
    expect(listed.json().invitations).toMatchObject([{ id: created.id, status: 'expired' }]);

    const resent = await t.app.inject({ method: 'POST', url: `/api/invitations/${created.id}/resend`, headers: owner.session });
    expect(resent.statusCode).toBe(200);
    expect(resent.json()).toMatchObject({ id: created.id, status: 'pending' });
    expect(new Date(resent.json().expiresAt).getTime()).toBe(clock.now().getTime() + 7 * 86_400_000);
    const fresh = await invitationToken(t.db, owner.workspaceId, email);
    expect(fresh).not.toBe(old);
    expect((await info(old)).json().error.code).toBe('INVITATION_INVALID');
    expect((await signUpWith(fresh)).statusCode).toBe(201);
    expect(await auditActions(owner.workspaceId)).toEqual(expect.arrayContaining(['invitation.resend']));
  });

  it('refuses a revoked link, and re-inviting after expiry renews the pending invitation', async () => {
    const owner = await signUp(t.app);
    const email = freshEmail('revoked');
    const created = (await invite(owner, email)).json();
    const token = await invitationToken(t.db, owner.workspaceId, email);
    const revoked = await t.app.inject({ method: 'DELETE', url: `/api/invitations/${created.id}`, headers: owner.session });
    expect(revoked.statusCode).toBe(204);
    expect((await info(token)).json().error.code).toBe('INVITATION_INVALID');
    const refused = await signUpWith(token);
    expect(refused.statusCode).toBe(404);
    expect(refused.json().error.code).toBe('INVITATION_INVALID');
    expect((await t.app.inject({ method: 'DELETE', url: `/api/invitations/${created.id}`, headers: owner.session })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/invitations', headers: owner.session })).json().invitations).toEqual([]);
    const actions = await auditActions(owner.workspaceId);
    expect(actions).toEqual(expect.arrayContaining(['invitation.revoke']));

    // After a revoke the address can be invited again; an expired pending one is renewed in place.
    const again = (await invite(owner, email, 'viewer')).json();
    expect(again.id).not.toBe(created.id);
    clock.advance(8 * 86_400_000);
    const renewed = await invite(owner, email, 'admin');
    expect(renewed.statusCode).toBe(201);
    expect(renewed.json()).toMatchObject({ id: again.id, role: 'admin', status: 'pending' });
  });
});

describe('the invitation email', () => {
  it('goes through the outbox to the dev inbox with the link; only owners see it there', async () => {
    const owner = await signUp(t.app, 'Olive');
    const email = freshEmail('inbox');
    await invite(owner, email, 'member');
    const viewer = await joinByInvitation(t.app, t.db, owner, { email: freshEmail('peek'), role: 'viewer' });
    while ((await t.runtime.deps.email.sender.runOnce()) > 0) {
      // drain the outbox
    }
    const captured = await t.db.query<{ id: string; to_address: string; subject: string; text_body: string; html: string }>(
      'SELECT id, to_address, subject, text_body, html FROM dev_inbox WHERE workspace_id = $1 AND to_address = $2',
      [owner.workspaceId, email],
    );
    expect(captured.rows).toHaveLength(1);
    const mail = captured.rows[0]!;
    expect(mail.subject).toMatch(/^Olive invited you to Org \d+ on Unite Hub$/);
    const token = await invitationToken(t.db, owner.workspaceId, email);
    expect(mail.text_body).toContain(`http://localhost:3008/invite#token=${token}`);
    expect(mail.html).toContain(`href="http://localhost:3008/invite#token=${token}"`);
    // Transactional: no tracking or unsubscribe rewriting of the link.
    expect(mail.html).not.toContain('/t/');

    const ownerInbox = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: owner.session });
    expect(ownerInbox.json().messages.map((m: { id: string }) => m.id)).toContain(mail.id);
    const viewerInbox = await t.app.inject({ method: 'GET', url: '/api/inbox', headers: viewer.session });
    expect(viewerInbox.json().messages.map((m: { id: string }) => m.id)).not.toContain(mail.id);
    expect((await t.app.inject({ method: 'GET', url: `/api/inbox/${mail.id}`, headers: viewer.session })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/api/inbox/${mail.id}`, headers: owner.session })).statusCode).toBe(200);
  });
});

describe('the token and the logs', () => {
  it('never writes the invitation token to a log line, from invitation to sign-up', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const runtime = await createRuntime(testConfig({ LOG_LEVEL: 'trace' }), { db: t.db, clock, logger: createLogger('trace', stream) });
    const logged = await buildApp(runtime.deps);
    try {
      const owner = await signUp(logged);
      const email = freshEmail('logged');
      await logged.inject({ method: 'POST', url: '/api/invitations', headers: owner.session, payload: { email, role: 'member' } });
      const token = await invitationToken(t.db, owner.workspaceId, email);
      await logged.inject({ method: 'POST', url: '/api/invitations/accept-info', payload: { token } });
      await logged.inject({ method: 'GET', url: '/invite', headers: { accept: 'text/html' } });
      const joined = await logged.inject({ method: 'POST', url: '/api/invitations/signup', payload: { token, name: 'Logged', password: 'invitee password' } });
      expect(joined.statusCode).toBe(201);
      expect(lines.length).toBeGreaterThan(5);
      expect(lines.filter((line) => line.includes(token))).toEqual([]);
    } finally {
      await logged.close();
      await runtime.close();
    }
  });
});
