/**
 * Invitations: how someone joins a workspace. An owner invites an email with a role; the invitee
 * receives a link with a random token (only its SHA-256 is stored) and becomes a member only by
 * accepting it, signed in with that email, or by signing up through it. What the inviter sees never
 * depends on whether the address has an account (docs/access.md#invitations).
 */
import { hashPassword, createSession, type SessionGrant, type UserView, type WorkspaceView } from './identity.js';
import type { Database, Queryable } from '../db/database.js';
import { enqueueEmail } from '../email/outbox.js';
import { AppError, notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import { recordAudit, type Actor } from './audit.js';
import { invitationEmail } from './invitation-email.js';
import { roleWithin, type Role } from './permissions.js';
import { normalizeEmail, randomToken, sha256 } from './tokens.js';

export const INVITATION_DAYS = 7;
/** Invitation emails a workspace may send in 24 hours, and the pause before one is sent again: a free workspace must not become a way to mail strangers. */
export const INVITATIONS_PER_DAY = 100;
export const RESEND_PAUSE_MS = 60_000;

export interface InvitationView {
  id: string;
  email: string;
  role: Role;
  /** `expired` invitations stay listed until revoked or resent (a resend renews them). */
  status: 'pending' | 'expired';
  invitedBy: { id: string; name: string } | null;
  createdAt: string;
  sentAt: string;
  expiresAt: string;
}

/** What the holder of a valid link may see before accepting. */
export interface InvitationPreview {
  email: string;
  role: Role;
  workspace: { id: string; name: string };
  invitedBy: { name: string } | null;
  expiresAt: string;
}

export interface InvitationMailer {
  from: string;
  publicUrl: string;
}

/** What the invitation writes need: the database, the clock and the invitation mail's sender. */
export interface InvitationDeps {
  db: Database;
  clock: Clock;
  mailer: InvitationMailer;
}

interface InvitationRow {
  id: string;
  workspace_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  inviter_name: string | null;
  created_at: Date;
  sent_at: Date;
  send_count: number;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = `i.id, i.workspace_id, i.email, i.role, i.invited_by, u.name AS inviter_name, i.created_at, i.sent_at,
                 i.send_count, i.expires_at, i.accepted_at, i.revoked_at`;

const toView = (r: InvitationRow, now: Date): InvitationView => ({
  id: r.id,
  email: r.email,
  role: r.role,
  status: r.expires_at <= now ? 'expired' : 'pending',
  invitedBy: r.invited_by && r.inviter_name !== null ? { id: r.invited_by, name: r.inviter_name } : null,
  createdAt: new Date(r.created_at).toISOString(),
  sentAt: new Date(r.sent_at).toISOString(),
  expiresAt: new Date(r.expires_at).toISOString(),
});

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

const expiry = (now: Date): Date => new Date(now.getTime() + INVITATION_DAYS * 86_400_000);

async function assertDailyAllowance(tx: Queryable, workspaceId: string, now: Date): Promise<void> {
  const sent = await tx.query<{ n: string }>('SELECT count(*) AS n FROM invitations WHERE workspace_id = $1 AND sent_at > $2', [workspaceId, new Date(now.getTime() - 86_400_000)]);
  if (Number(sent.rows[0]!.n) >= INVITATIONS_PER_DAY) {
    throw new AppError('RATE_LIMITED', `This workspace sent ${INVITATIONS_PER_DAY} invitations in the last 24 hours; try again later`);
  }
}

async function loadInvitation(q: Queryable, workspaceId: string, id: string, lock: boolean): Promise<InvitationRow | undefined> {
  const result = await q.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
      WHERE i.workspace_id = $1 AND i.id = $2 ${lock ? 'FOR UPDATE OF i' : ''}`,
    [workspaceId, id],
  );
  return result.rows[0];
}

/** Queues the invitation email with a fresh token; the token leaves this function only inside the email. */
async function sendInvitation(q: Queryable, mailer: InvitationMailer, row: InvitationRow, token: string): Promise<void> {
  const workspace = await q.query<{ name: string }>('SELECT name FROM workspaces WHERE id = $1', [row.workspace_id]);
  const content = invitationEmail({
    // In the fragment, which browsers never send: the token stays out of server and proxy logs.
    link: `${mailer.publicUrl}/invite#token=${encodeURIComponent(token)}`,
    workspaceName: workspace.rows[0]!.name,
    inviterName: row.inviter_name,
    role: row.role,
    expiresAt: row.expires_at,
  });
  await enqueueEmail(q, {
    workspaceId: row.workspace_id,
    contactId: null,
    idempotencyKey: `invitation:${row.id}:${row.send_count}`,
    sourceType: 'invitation',
    sourceId: row.id,
    from: mailer.from,
    to: row.email,
    ...content,
    // By the injected clock, like the invitation's own times.
    notBefore: row.sent_at,
  });
}

/**
 * Invites an email. The answer is the same whether or not an account has this email; only an
 * existing member (whom the owner already sees) or a pending invitation is refused. An expired
 * pending invitation is renewed in place.
 */
export async function createInvitation(
  { db, clock, mailer }: InvitationDeps,
  workspaceId: string,
  inviter: { actor: Actor; role: Role },
  input: { email: string; role: Role },
): Promise<InvitationView> {
  if (!roleWithin(input.role, inviter.role)) throw new AppError('FORBIDDEN', `Your role (${inviter.role}) cannot invite an ${input.role}`);
  const email = normalizeEmail(input.email);
  const invitedBy = inviter.actor.type === 'user' ? inviter.actor.id : null;
  const token = randomToken();
  const now = clock.now();
  try {
    return await db.transaction(async (tx) => {
      const member = await tx.query(
        'SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND u.email = $2',
        [workspaceId, email],
      );
      if (member.rowCount > 0) throw new AppError('ALREADY_MEMBER', `${email} is already a member of this workspace`);
      const pending = await tx.query<{ id: string; expires_at: Date }>(
        `SELECT id, expires_at FROM invitations
          WHERE workspace_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL FOR UPDATE`,
        [workspaceId, email],
      );
      const existing = pending.rows[0];
      if (existing && existing.expires_at > now) {
        throw new AppError('INVITATION_EXISTS', `${email} already has a pending invitation; resend or revoke it`, { invitationId: existing.id });
      }
      await assertDailyAllowance(tx, workspaceId, now);
      const written = existing
        ? await tx.query<{ id: string }>(
            `UPDATE invitations SET role = $2, token_hash = $3, invited_by = $4, sent_at = $5, send_count = send_count + 1, expires_at = $6
              WHERE id = $1 RETURNING id`,
            [existing.id, input.role, sha256(token), invitedBy, now, expiry(now)],
          )
        : await tx.query<{ id: string }>(
            `INSERT INTO invitations (workspace_id, email, role, token_hash, invited_by, created_at, sent_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`,
            [workspaceId, email, input.role, sha256(token), invitedBy, now, expiry(now)],
          );
      const row = (await loadInvitation(tx, workspaceId, written.rows[0]!.id, false))!;
      await sendInvitation(tx, mailer, row, token);
      await recordAudit(tx, { workspaceId, actor: inviter.actor, action: 'invitation.create', resourceType: 'invitation', resourceId: row.id, after: { email, role: input.role, expiresAt: row.expires_at } });
      return toView(row, now);
    });
  } catch (error) {
    // Two owners inviting the same address at once: the pending-invitation index refuses one.
    if (isUniqueViolation(error)) throw new AppError('INVITATION_EXISTS', `${email} already has a pending invitation; resend or revoke it`);
    throw error;
  }
}

export async function listInvitations(q: Queryable, clock: Clock, workspaceId: string): Promise<InvitationView[]> {
  const result = await q.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
      WHERE i.workspace_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
      ORDER BY i.created_at DESC, i.id`,
    [workspaceId],
  );
  const now = clock.now();
  return result.rows.map((r) => toView(r, now));
}

/** A pending invitation of the workspace, locked; an accepted one is a conflict, anything else not found. */
async function pendingForUpdate(tx: Queryable, workspaceId: string, id: string): Promise<InvitationRow> {
  const row = await loadInvitation(tx, workspaceId, id, true);
  if (!row || row.revoked_at) throw notFound('Invitation');
  if (row.accepted_at) throw new AppError('INVITATION_ACCEPTED', `${row.email} already accepted this invitation; manage them under Members`);
  return row;
}

export async function revokeInvitation({ db, clock }: InvitationDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await pendingForUpdate(tx, workspaceId, id);
    await tx.query('UPDATE invitations SET revoked_at = $2 WHERE id = $1', [id, clock.now()]);
    await recordAudit(tx, { workspaceId, actor, action: 'invitation.revoke', resourceType: 'invitation', resourceId: id, before: { email: row.email, role: row.role } });
  });
}

/** Sends the invitation again with a new link (the old one stops working) and a new expiry. */
export async function resendInvitation({ db, clock, mailer }: InvitationDeps, workspaceId: string, actor: Actor, id: string): Promise<InvitationView> {
  const token = randomToken();
  const now = clock.now();
  return db.transaction(async (tx) => {
    const current = await pendingForUpdate(tx, workspaceId, id);
    if (now.getTime() - current.sent_at.getTime() < RESEND_PAUSE_MS) {
      throw new AppError('RATE_LIMITED', `An invitation was sent to ${current.email} less than a minute ago; wait before sending another`);
    }
    await assertDailyAllowance(tx, workspaceId, now);
    await tx.query('UPDATE invitations SET token_hash = $2, sent_at = $3, send_count = send_count + 1, expires_at = $4 WHERE id = $1', [id, sha256(token), now, expiry(now)]);
    const row = (await loadInvitation(tx, workspaceId, id, false))!;
    await sendInvitation(tx, mailer, row, token);
    await recordAudit(tx, { workspaceId, actor, action: 'invitation.resend', resourceType: 'invitation', resourceId: id, after: { email: row.email, sendCount: row.send_count, expiresAt: row.expires_at } });
    return toView(row, now);
  });
}

// ---- The invitee's side: everything below is reached with the token alone ----

/** The open invitation a token names, locked when `lock`; refuses unknown, revoked, used and expired links. */
async function openInvitation(q: Queryable, clock: Clock, token: string, lock: boolean): Promise<InvitationRow & { workspace_name: string }> {
  const result = await q.query<InvitationRow & { workspace_name: string }>(
    `SELECT ${COLUMNS}, w.name AS workspace_name
       FROM invitations i JOIN workspaces w ON w.id = i.workspace_id LEFT JOIN users u ON u.id = i.invited_by
      WHERE i.token_hash = $1 ${lock ? 'FOR UPDATE OF i' : ''}`,
    [sha256(token)],
  );
  const row = result.rows[0];
  if (!row || row.revoked_at) {
    throw new AppError('INVITATION_INVALID', 'This invitation link is no longer valid. Ask the person who invited you to send a new one.');
  }
  if (row.accepted_at) throw new AppError('INVITATION_ACCEPTED', 'This invitation was already accepted. Log in to open the workspace.');
  if (row.expires_at <= clock.now()) {
    throw new AppError('INVITATION_EXPIRED', 'This invitation has expired. Ask the person who invited you to send it again.');
  }
  return row;
}

export async function previewInvitation(q: Queryable, clock: Clock, token: string): Promise<InvitationPreview> {
  const row = await openInvitation(q, clock, token, false);
  return {
    email: row.email,
    role: row.role,
    workspace: { id: row.workspace_id, name: row.workspace_name },
    invitedBy: row.inviter_name !== null ? { name: row.inviter_name } : null,
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

/** Makes the user a member with the invited role and marks the invitation used, in the caller's transaction. */
async function join(tx: Queryable, clock: Clock, row: InvitationRow, user: { id: string; email: string }, meta: { ip?: string | undefined; requestId?: string | undefined }): Promise<Role> {
  const inserted = await tx.query(
    `INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, user_id) DO NOTHING`,
    [row.workspace_id, user.id, row.role],
  );
  await tx.query('UPDATE invitations SET accepted_at = $2, accepted_user_id = $3 WHERE id = $1', [row.id, clock.now(), user.id]);
  const actor: Actor = { type: 'user', id: user.id, ip: meta.ip, requestId: meta.requestId };
  await recordAudit(tx, { workspaceId: row.workspace_id, actor, action: 'invitation.accept', resourceType: 'invitation', resourceId: row.id, after: { email: user.email, role: row.role } });
  if (inserted.rowCount === 0) {
    // Already a member (added through another invitation meanwhile): the role they hold stays.
    const current = await tx.query<{ role: Role }>('SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2', [row.workspace_id, user.id]);
    return current.rows[0]!.role;
  }
  await recordAudit(tx, { workspaceId: row.workspace_id, actor, action: 'member.add', resourceType: 'member', resourceId: user.id, after: { email: user.email, role: row.role, invitationId: row.id, invitedBy: row.invited_by } });
  return row.role;
}

/** Accepts in the caller's transaction as an existing user, whose email must be the invited one. */
async function acceptAs(tx: Queryable, clock: Clock, token: string, userId: string, meta: { ip?: string | undefined; requestId?: string | undefined }): Promise<{ workspace: WorkspaceView; role: Role }> {
  const row = await openInvitation(tx, clock, token, true);
  const user = await tx.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]);
  if (user.rows[0]?.email !== row.email) {
    throw new AppError('INVITATION_EMAIL_MISMATCH', `This invitation is for ${row.email}. Log in with that email, or sign up through the link.`);
  }
  const role = await join(tx, clock, row, { id: userId, email: row.email }, meta);
  const workspace = await tx.query<{ organization_id: string }>('SELECT organization_id FROM workspaces WHERE id = $1', [row.workspace_id]);
  return { workspace: { id: row.workspace_id, name: row.workspace_name, organizationId: workspace.rows[0]!.organization_id }, role };
}

/**
 * A signed-in user accepts: their account's email must be the invited one, so a forwarded or
 * leaked link cannot add someone else. The session moves to the joined workspace.
 */
export async function acceptInvitation(
  db: Database,
  clock: Clock,
  token: string,
  caller: { userId: string; sessionToken: string },
  meta: { ip?: string | undefined; requestId?: string | undefined },
): Promise<{ workspace: WorkspaceView; role: Role }> {
  return db.transaction(async (tx) => {
    const accepted = await acceptAs(tx, clock, token, caller.userId, meta);
    await tx.query('UPDATE sessions SET workspace_id = $1 WHERE token_hash = $2 AND user_id = $3', [accepted.workspace.id, sha256(caller.sessionToken), caller.userId]);
    return accepted;
  });
}

/** Accepts while logging in (after the password was verified); returns the workspace the session opens in. */
export async function acceptInvitationAtLogIn(db: Database, clock: Clock, token: string, userId: string, meta: { ip?: string | undefined; requestId?: string | undefined }): Promise<string> {
  return db.transaction(async (tx) => (await acceptAs(tx, clock, token, userId, meta)).workspace.id);
}

/**
 * Signs up through an invitation: the account gets the invited email (the link proves the invitee
 * reads that mailbox) and joins the inviting workspace instead of creating an organization.
 */
export async function signUpWithInvitation(
  db: Database,
  clock: Clock,
  input: { token: string; name: string; password: string },
  meta: { ip?: string | undefined; userAgent?: string | undefined; requestId?: string | undefined },
): Promise<{ user: UserView; workspace: WorkspaceView; role: Role; session: SessionGrant }> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction(async (tx) => {
      const row = await openInvitation(tx, clock, input.token, true);
      const existing = await tx.query('SELECT 1 FROM users WHERE email = $1', [row.email]);
      if (existing.rowCount > 0) throw new AppError('EMAIL_TAKEN', 'An account with this email already exists: log in to accept the invitation');
      const user = (
        await tx.query<UserView>('INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name', [row.email, input.name, passwordHash])
      ).rows[0]!;
      const role = await join(tx, clock, row, user, meta);
      const session = await createSession(tx, clock, user.id, row.workspace_id, meta);
      const workspace = await tx.query<{ organization_id: string }>('SELECT organization_id FROM workspaces WHERE id = $1', [row.workspace_id]);
      return { user, workspace: { id: row.workspace_id, name: row.workspace_name, organizationId: workspace.rows[0]!.organization_id }, role, session };
    });
  } catch (error) {
    // A plain sign-up with the same email committed between our check and our insert.
    if (isUniqueViolation(error)) throw new AppError('EMAIL_TAKEN', 'An account with this email already exists: log in to accept the invitation');
    throw error;
  }
}
