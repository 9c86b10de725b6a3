/**
 * Identity: sign-up (organization + first workspace + owner), log-in sessions, workspace API keys
 * and members (who join through invitations.ts). Every function that touches tenant rows takes the workspace id.
 */
import { hash, verify } from '@node-rs/argon2';
import { preparedStatement, type Database, type Queryable } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError, notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import type { ApiKeyCache } from './api-key-cache.js';
import type { SessionCache } from './session-cache.js';
import { recordAudit, type Actor } from './audit.js';
import { clearLoginAttempts, countLoginAttempt, isKnownDevice, rememberDevice } from './login-throttle.js';
import type { Role } from './permissions.js';
import { newApiKey, normalizeEmail, randomToken, sha256 } from './tokens.js';
import { createDefaultRules } from '../guardian/defaults.js';

const SESSION_DAYS = 14;
// A real hash computed once, so an unknown email costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;

export interface UserView {
  id: string;
  email: string;
  name: string;
}
export interface WorkspaceView {
  id: string;
  name: string;
  organizationId: string;
}
export interface SessionGrant {
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

/** What identity's workspace writes (API keys, members) need. */
export interface IdentityDeps {
  db: Database;
  clock: Clock;
}

export async function hashPassword(password: string): Promise<string> {
  // argon2id with the OWASP-recommended minimum (19 MiB, t=2, p=1); the library defaults match it.
  return hash(password);
}

export async function signUp(
  db: Database,
  clock: Clock,
  input: { email: string; password: string; name: string; organizationName: string; workspaceName?: string | undefined },
  meta: { ip?: string | undefined; userAgent?: string | undefined; requestId?: string | undefined },
): Promise<{ user: UserView; workspace: WorkspaceView; session: SessionGrant }> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const taken = () => new AppError('EMAIL_TAKEN', 'An account with this email already exists');
  // The check below answers the common case; two sign-ups racing for one email both pass it, and
  // the unique index refuses the second at INSERT: the same answer, not a 500.
  return db.transaction(async (tx) => {
    const existing = await tx.query('SELECT 1 FROM users WHERE email = $1', [email]);
    if (existing.rowCount > 0) throw taken();
    const org = await tx.query<{ id: string }>('INSERT INTO organizations (name) VALUES ($1) RETURNING id', [input.organizationName]);
    const orgId = org.rows[0]!.id;
    const ws = await tx.query<{ id: string; name: string }>(
      'INSERT INTO workspaces (organization_id, name) VALUES ($1, $2) RETURNING id, name',
      [orgId, input.workspaceName ?? input.organizationName],
    );
    const workspace = { id: ws.rows[0]!.id, name: ws.rows[0]!.name, organizationId: orgId };
    const user = await tx.query<UserView>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name',
      [email, input.name, passwordHash],
    );
    const userView = user.rows[0]!;
    await tx.query(`INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')`, [workspace.id, userView.id]);
    await createDefaultRules(tx, workspace.id, clock.now());
    await recordAudit(tx, {
      workspaceId: workspace.id,
      actor: { type: 'user', id: userView.id, ip: meta.ip, requestId: meta.requestId },
      action: 'workspace.create',
      resourceType: 'workspace',
      resourceId: workspace.id,
      after: { workspace: workspace.name, owner: email },
    });
    const session = await createSession(tx, clock, userView.id, workspace.id, meta);
    return { user: userView, workspace, session };
  }).catch((error: unknown) => {
    throw isUniqueViolation(error, 'users_email_key') ? taken() : error;
  });
}

export async function createSession(
  q: Queryable,
  clock: Clock,
  userId: string,
  workspaceId: string,
  meta: { ip?: string | undefined; userAgent?: string | undefined },
): Promise<SessionGrant> {
  const token = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(clock.now().getTime() + SESSION_DAYS * 86_400_000);
  await q.query(
    `INSERT INTO sessions (token_hash, user_id, workspace_id, csrf_token, expires_at, ip, user_agent, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [sha256(token), userId, workspaceId, csrfToken, expiresAt, meta.ip ?? null, meta.userAgent?.slice(0, 500) ?? null, clock.now()],
  );
  return { token, csrfToken, expiresAt };
}

/**
 * Checks the password under the per-account throttle (login-throttle.ts) and opens a session.
 * `deviceToken` is the known-device cookie, if the browser sent one; the answer carries the token
 * to (re)set it. `join`, given the user once the password is verified, makes them a member
 * somewhere (an invitation accepted at log-in) and names the workspace the session opens in — which
 * also lets an account that belongs to no workspace any more come back through an invitation.
 */
export async function logIn(
  db: Database,
  clock: Clock,
  input: { email: string; password: string },
  meta: { ip?: string | undefined; userAgent?: string | undefined; deviceToken?: string | undefined },
  join?: (user: UserView) => Promise<string>,
): Promise<{ user: UserView; session: SessionGrant; deviceToken: string }> {
  const email = normalizeEmail(input.email);
  const knownDevice = await isKnownDevice(db, email, meta.deviceToken);
  if (!knownDevice) await countLoginAttempt(db, email, clock.now());
  const found = await db.query<UserView & { password_hash: string }>(
    'SELECT id, email, name, password_hash FROM users WHERE email = $1',
    [email],
  );
  const row = found.rows[0];
  if (!row) {
    dummyHash ??= hashPassword(randomToken());
    await verify(await dummyHash, input.password).catch(() => false);
    throw new AppError('INVALID_CREDENTIALS', 'Email or password is incorrect');
  }
  const ok = await verify(row.password_hash, input.password).catch(() => false);
  if (!ok) throw new AppError('INVALID_CREDENTIALS', 'Email or password is incorrect');
  const user = { id: row.id, email: row.email, name: row.name };
  const workspaceId = join ? await join(user) : await firstWorkspaceOf(db, row.id);
  const session = await createSession(db, clock, row.id, workspaceId, meta);
  await clearLoginAttempts(db, email);
  const deviceToken = knownDevice && meta.deviceToken ? meta.deviceToken : await rememberDevice(db, email, clock.now());
  return { user, session, deviceToken };
}

async function firstWorkspaceOf(q: Queryable, userId: string): Promise<string> {
  const membership = await q.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM memberships WHERE user_id = $1 ORDER BY created_at LIMIT 1',
    [userId],
  );
  const workspaceId = membership.rows[0]?.workspace_id;
  if (!workspaceId) throw new AppError('FORBIDDEN', 'This account is not a member of any workspace');
  return workspaceId;
}

export async function logOut(q: Queryable, token: string, cache?: SessionCache): Promise<void> {
  await q.query('DELETE FROM sessions WHERE token_hash = $1', [sha256(token)]);
  // This process at once; the others when PostgreSQL's notification reaches them (migration 127).
  cache?.forget(sha256(token));
}

export interface SessionAuth {
  userId: string;
  email: string;
  name: string;
  workspaceId: string;
  role: Role;
  csrfToken: string;
}

const RESOLVE_SESSION = preparedStatement(
  'resolve-session',
  `SELECT s.user_id, u.email, u.name, s.workspace_id, m.role, s.csrf_token, s.expires_at
     FROM sessions s
     JOIN users u ON u.id = s.user_id
     JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id
    WHERE s.token_hash = $1 AND s.expires_at > $2`,
);

/**
 * Resolves a session token to the user and the role in the session's current workspace: a read,
 * or none when the process's cache (session-cache.ts) has it, until the session expires or
 * PostgreSQL announces a change of it (migration 127).
 */
export async function resolveSession(q: Queryable, clock: Clock, token: string, cache?: SessionCache): Promise<SessionAuth | null> {
  const tokenHash = sha256(token);
  const now = clock.now().getTime();
  const cached = cache?.get(tokenHash, now);
  if (cached) return cached;
  const generation = cache?.generation ?? 0;
  const result = await q.query<{ user_id: string; email: string; name: string; workspace_id: string; role: Role; csrf_token: string; expires_at: Date }>(
    RESOLVE_SESSION,
    [tokenHash, new Date(now)],
  );
  const row = result.rows[0];
  if (!row) return null;
  const session = { userId: row.user_id, email: row.email, name: row.name, workspaceId: row.workspace_id, role: row.role, csrfToken: row.csrf_token };
  cache?.set(tokenHash, session, now, generation, row.expires_at.getTime());
  return session;
}

export async function switchWorkspace(q: Queryable, token: string, userId: string, workspaceId: string): Promise<void> {
  const member = await q.query('SELECT 1 FROM memberships WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
  if (member.rowCount === 0) throw notFound('Workspace');
  await q.query('UPDATE sessions SET workspace_id = $1 WHERE token_hash = $2', [workspaceId, sha256(token)]);
}

export async function listUserWorkspaces(q: Queryable, userId: string): Promise<Array<WorkspaceView & { role: Role }>> {
  const result = await q.query<{ id: string; name: string; organization_id: string; role: Role }>(
    `SELECT w.id, w.name, w.organization_id, m.role
       FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
      WHERE m.user_id = $1 ORDER BY m.created_at`,
    [userId],
  );
  return result.rows.map((r) => ({ id: r.id, name: r.name, organizationId: r.organization_id, role: r.role }));
}

export async function getWorkspace(q: Queryable, workspaceId: string): Promise<WorkspaceView> {
  const result = await q.query<{ id: string; name: string; organization_id: string }>(
    'SELECT id, name, organization_id FROM workspaces WHERE id = $1',
    [workspaceId],
  );
  const row = result.rows[0];
  if (!row) throw notFound('Workspace');
  return { id: row.id, name: row.name, organizationId: row.organization_id };
}

// ---- API keys ----

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toApiKeyView = (r: ApiKeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  createdAt: new Date(r.created_at).toISOString(),
  lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
  revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
});

export async function createApiKey(
  { db }: IdentityDeps,
  workspaceId: string,
  actor: Actor,
  input: { name: string; role: Exclude<Role, 'owner'> },
): Promise<{ apiKey: ApiKeyView; key: string }> {
  const generated = newApiKey();
  return db.transaction(async (tx) => {
    const result = await tx.query<ApiKeyRow>(
      `INSERT INTO api_keys (workspace_id, name, prefix, key_hash, role, created_by)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, name, prefix, role, created_at, last_used_at, revoked_at`,
      [workspaceId, input.name, generated.prefix, generated.hash, input.role, actor.type === 'user' ? actor.id : null],
    );
    const apiKey = toApiKeyView(result.rows[0]!);
    await recordAudit(tx, { workspaceId, actor, action: 'api_key.create', resourceType: 'api_key', resourceId: apiKey.id, after: { name: apiKey.name, role: apiKey.role, prefix: apiKey.prefix } });
    return { apiKey, key: generated.key };
  });
}

export async function listApiKeys(q: Queryable, workspaceId: string): Promise<ApiKeyView[]> {
  const result = await q.query<ApiKeyRow>(
    `SELECT id, name, prefix, role, created_at, last_used_at, revoked_at
       FROM api_keys WHERE workspace_id = $1 ORDER BY created_at DESC`,
    [workspaceId],
  );
  return result.rows.map(toApiKeyView);
}

export async function revokeApiKey({ db, clock }: IdentityDeps, workspaceId: string, actor: Actor, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const result = await tx.query<ApiKeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3)
        WHERE workspace_id = $1 AND id = $2
        RETURNING id, name, prefix, role, created_at, last_used_at, revoked_at`,
      [workspaceId, id, clock.now()],
    );
    if (result.rowCount === 0) throw notFound('API key');
    await recordAudit(tx, { workspaceId, actor, action: 'api_key.revoke', resourceType: 'api_key', resourceId: id, before: { name: result.rows[0]!.name, prefix: result.rows[0]!.prefix } });
  });
}

export interface ApiKeyAuth {
  keyId: string;
  workspaceId: string;
  role: Role;
}

const RESOLVE_API_KEY = preparedStatement('resolve-api-key', 'SELECT id, workspace_id, role, last_used_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL');

/** How stale `api_keys.last_used_at` may get before a request using the key writes it again. */
export const API_KEY_TOUCH_INTERVAL_MS = 60_000;

/**
 * The key's workspace and role, or null for an unknown or revoked key. A read, or none when the
 * process's cache (api-key-cache.ts, emptied of a key when it is revoked) has it: `last_used_at`
 * is written only when it is older than a minute, by a conditional UPDATE (so of many concurrent
 * requests at most one rewrites the row), instead of every request committing an UPDATE.
 */
export async function resolveApiKey(q: Queryable, clock: Clock, key: string, cache?: ApiKeyCache): Promise<ApiKeyAuth | null> {
  const keyHash = sha256(key);
  const now = clock.now();
  let found = cache?.get(keyHash, now.getTime());
  if (!found) {
    const generation = cache?.generation ?? 0;
    const result = await q.query<{ id: string; workspace_id: string; role: Role; last_used_at: Date | null }>(RESOLVE_API_KEY, [keyHash]);
    const row = result.rows[0];
    if (!row) return null;
    found = { keyId: row.id, workspaceId: row.workspace_id, role: row.role, lastUsedAt: row.last_used_at?.getTime() ?? null };
    cache?.set(keyHash, found, now.getTime(), generation);
  }
  if (found.lastUsedAt === null || now.getTime() - found.lastUsedAt >= API_KEY_TOUCH_INTERVAL_MS) {
    found.lastUsedAt = now.getTime();
    await q.query(
      `UPDATE api_keys SET last_used_at = $2
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - make_interval(secs => $3::float8 / 1000))`,
      [found.keyId, now, API_KEY_TOUCH_INTERVAL_MS],
    );
  }
  return { keyId: found.keyId, workspaceId: found.workspaceId, role: found.role };
}

// ---- Members ----

export interface MemberView {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

export async function listMembers(q: Queryable, workspaceId: string): Promise<MemberView[]> {
  const result = await q.query<{ user_id: string; email: string; name: string; role: Role; created_at: Date }>(
    `SELECT m.user_id, u.email, u.name, m.role, m.created_at
       FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE m.workspace_id = $1 ORDER BY m.created_at`,
    [workspaceId],
  );
  return result.rows.map((r) => ({ userId: r.user_id, email: r.email, name: r.name, role: r.role, joinedAt: new Date(r.created_at).toISOString() }));
}

async function assertNotLastOwner(tx: Queryable, workspaceId: string, userId: string): Promise<void> {
  const owners = await tx.query<{ user_id: string }>(
    `SELECT user_id FROM memberships WHERE workspace_id = $1 AND role = 'owner' FOR UPDATE`,
    [workspaceId],
  );
  if (owners.rows.length === 1 && owners.rows[0]!.user_id === userId) {
    throw new AppError('LAST_OWNER', 'A workspace must keep at least one owner');
  }
}

export async function changeMemberRole({ db }: IdentityDeps, workspaceId: string, actor: Actor, userId: string, role: Role): Promise<MemberView> {
  return db.transaction(async (tx) => {
    const current = await tx.query<{ role: Role; name: string }>('SELECT m.role, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2', [workspaceId, userId]);
    const before = current.rows[0];
    if (!before) throw notFound('Member');
    if (before.role === 'owner' && role !== 'owner') await assertNotLastOwner(tx, workspaceId, userId);
    await tx.query('UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId, role]);
    await recordAudit(tx, { workspaceId, actor, action: 'member.role', resourceType: 'member', resourceId: userId, before: { name: before.name, role: before.role }, after: { name: before.name, role } });
    const members = await listMembers(tx, workspaceId);
    return members.find((m) => m.userId === userId)!;
  });
}

export async function removeMember({ db }: IdentityDeps, workspaceId: string, actor: Actor, userId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const current = await tx.query<{ role: Role; name: string }>('SELECT m.role, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2', [workspaceId, userId]);
    const before = current.rows[0];
    if (!before) throw notFound('Member');
    if (before.role === 'owner') await assertNotLastOwner(tx, workspaceId, userId);
    await tx.query('DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
    await tx.query('DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2', [workspaceId, userId]);
    await recordAudit(tx, { workspaceId, actor, action: 'member.remove', resourceType: 'member', resourceId: userId, before: { name: before.name, role: before.role } });
  });
}
