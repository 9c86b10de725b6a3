import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf, CSRF_COOKIE, SESSION_COOKIE } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import { Email, IdParams, LiteralUnion } from '../http/schemas.js';
import { listAudit } from './audit.js';
import { AuditPage } from './audit.schemas.js';
import {
  changeMemberRole,
  createApiKey,
  getWorkspace,
  listApiKeys,
  listMembers,
  listUserWorkspaces,
  logIn,
  logOut,
  removeMember,
  revokeApiKey,
  signUp,
  switchWorkspace,
  type SessionGrant,
} from './identity.js';
import { acceptInvitationAtLogIn } from './invitations.js';
import { InvitationToken, invitationRoutes } from './invitations.routes.js';
import { permissionsOf, ROLES } from './permissions.js';

const DEVICE_COOKIE = 'uh_device';
const Password = Type.String({ minLength: 10, maxLength: 200, description: 'At least 10 characters' });
const RoleSchema = LiteralUnion(ROLES);
const KeyRole = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);

const SignUpBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    organizationName: Type.String({ minLength: 1, maxLength: 200 }),
    workspaceName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
const LogInBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 200 }),
    invitationToken: Type.Optional(InvitationToken),
  },
  { additionalProperties: false },
);
const User = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String() });
const Workspace = Type.Object({ id: Type.String(), name: Type.String(), organizationId: Type.String() });
const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  role: RoleSchema,
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const Member = Type.Object({ userId: Type.String(), email: Type.String(), name: Type.String(), role: RoleSchema, joinedAt: Type.String({ format: 'date-time' }) });
const Me = Type.Object({
  user: Type.Union([User, Type.Null()]),
  apiKeyId: Type.Union([Type.String(), Type.Null()]),
  workspace: Workspace,
  role: RoleSchema,
  permissions: Type.Array(Type.String()),
  workspaces: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), organizationId: Type.String(), role: RoleSchema })),
  csrfToken: Type.Union([Type.String(), Type.Null()]),
});

export function identityRoutes(app: ApiInstance, deps: AppDeps): void {
  const { db, clock, config } = deps;

  function setSessionCookies(reply: FastifyReply, session: SessionGrant): void {
    const common = { path: '/', sameSite: 'lax' as const, secure: config.secureCookies, expires: session.expiresAt };
    reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
    // Readable by the web app, which echoes it in the x-csrf-token header (double submit).
    reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
  }

  app.post(
    '/auth/signup',
    {
      config: { permission: 'public', rateLimit: { max: config.loginRateLimitPerMinute, timeWindow: 60_000 } },
      schema: { tags: ['auth'], summary: 'Create an organization, its first workspace and its owner', body: SignUpBody, response: { 201: Type.Object({ user: User, workspace: Workspace, csrfToken: Type.String() }), ...errors(400, 409, 429) } },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await signUp(db, clock, body, { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id });
      setSessionCookies(reply, result.session);
      return reply.code(201).send({ user: result.user, workspace: result.workspace, csrfToken: result.session.csrfToken });
    },
  );

  app.post(
    '/auth/login',
    {
      config: { permission: 'public', rateLimit: { max: config.loginRateLimitPerMinute, timeWindow: 60_000 } },
      schema: { tags: ['auth'], summary: 'Log in with email and password (rate-limited per address and throttled per email: docs/access.md); with invitationToken, accept that invitation (for this email) and open the session in its workspace', body: LogInBody, response: { 200: Type.Object({ user: User, csrfToken: Type.String() }), ...errors(400, 401, 403, 404, 409, 410, 429) } },
    },
    async (request, reply) => {
      const body = request.body;
      const meta = { ip: request.ip, userAgent: request.headers['user-agent'] };
      const { invitationToken } = body;
      const join = invitationToken ? (user: { id: string }) => acceptInvitationAtLogIn(db, clock, invitationToken, user.id, { ...meta, requestId: request.id }) : undefined;
      const result = await logIn(db, clock, { email: body.email, password: body.password }, { ...meta, deviceToken: request.cookies[DEVICE_COOKIE] }, join).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'LOGIN_THROTTLED') reply.header('retry-after', String((error.details as { retryAfterSeconds: number }).retryAfterSeconds));
        throw error;
      });
      setSessionCookies(reply, result.session);
      // Marks this browser as one the account's owner used (login-throttle.ts); only log-in reads it.
      reply.setCookie(DEVICE_COOKIE, result.deviceToken, { path: '/api/auth/login', sameSite: 'strict', secure: config.secureCookies, httpOnly: true, maxAge: 365 * 86_400 });
      return { user: result.user, csrfToken: result.session.csrfToken };
    },
  );

  app.post('/auth/logout', { config: { permission: 'authenticated' }, schema: { tags: ['auth'], response: { 204: Type.Null(), ...apiErrors() } } }, async (request, reply) => {
    const auth = authOf(request);
    if (auth.sessionToken) await logOut(db, auth.sessionToken);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    reply.clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  app.get('/auth/me', { config: { permission: 'authenticated' }, schema: { tags: ['auth'], summary: 'The caller, its workspace, role and permissions', response: { 200: Me, ...apiErrors() } } }, async (request) => {
    const auth = authOf(request);
    const workspace = await getWorkspace(db, auth.workspaceId);
    const workspaces = auth.userId ? await listUserWorkspaces(db, auth.userId) : [{ ...workspace, role: auth.role }];
    const user = auth.userId ? (await listMembers(db, auth.workspaceId)).find((m) => m.userId === auth.userId) : undefined;
    return {
      user: user ? { id: user.userId, email: user.email, name: user.name } : null,
      apiKeyId: auth.apiKeyId,
      workspace,
      role: auth.role,
      permissions: permissionsOf(auth.role),
      workspaces,
      csrfToken: request.cookies[CSRF_COOKIE] ?? null,
    };
  });

  app.post(
    '/auth/workspace',
    { config: { permission: 'authenticated' }, schema: { tags: ['auth'], summary: 'Switch the session to another workspace the user belongs to', body: Type.Object({ workspaceId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }), response: { 204: Type.Null(), ...apiErrors(400) } } },
    async (request, reply) => {
      const auth = authOf(request);
      if (!auth.sessionToken || !auth.userId) throw new AppError('FORBIDDEN', 'API keys are bound to one workspace');
      await switchWorkspace(db, auth.sessionToken, auth.userId, request.body.workspaceId);
      return reply.code(204).send(null);
    },
  );

  // ---- API keys (owners only) ----
  app.get('/api-keys', { config: { permission: 'api_keys:read' }, schema: { tags: ['api keys'], response: { 200: Type.Object({ apiKeys: Type.Array(ApiKey) }), ...apiErrors() } } }, async (request) => ({
    apiKeys: await listApiKeys(db, authOf(request).workspaceId),
  }));

  const CreateKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), role: Type.Optional(KeyRole) }, { additionalProperties: false });
  app.post(
    '/api-keys',
    { config: { permission: 'api_keys:write' }, schema: { tags: ['api keys'], summary: 'Create an API key; the key is shown once', body: CreateKeyBody, response: { 201: Type.Object({ apiKey: ApiKey, key: Type.String() }), ...apiErrors(400) } } },
    async (request, reply) => {
      const body = request.body;
      const created = await createApiKey(deps, authOf(request).workspaceId, actorOf(request), { name: body.name, role: body.role ?? 'admin' });
      return reply.code(201).send(created);
    },
  );

  app.delete('/api-keys/:id', { config: { permission: 'api_keys:write' }, schema: { tags: ['api keys'], summary: 'Revoke an API key', params: IdParams, response: { 204: Type.Null(), ...apiErrors(400, 404) } } }, async (request, reply) => {
    await revokeApiKey(deps, authOf(request).workspaceId, actorOf(request), request.params.id);
    // This process at once; the others when PostgreSQL's notification reaches them (migration 114).
    deps.apiKeys.drop(request.params.id);
    return reply.code(204).send(null);
  });

  // ---- Members (owners manage roles; people join through invitations) ----
  invitationRoutes(app, deps, setSessionCookies);
  app.get('/members', { config: { permission: 'members:read' }, schema: { tags: ['members'], response: { 200: Type.Object({ members: Type.Array(Member) }), ...apiErrors() } } }, async (request) => ({
    members: await listMembers(db, authOf(request).workspaceId),
  }));

  const UserParams = Type.Object({ userId: Type.String({ format: 'uuid' }) });
  app.patch(
    '/members/:userId',
    { config: { permission: 'members:write' }, schema: { tags: ['members'], params: UserParams, body: Type.Object({ role: RoleSchema }, { additionalProperties: false }), response: { 200: Member, ...apiErrors(400, 404, 409) } } },
    async (request) => changeMemberRole(deps, authOf(request).workspaceId, actorOf(request), request.params.userId, request.body.role),
  );

  app.delete('/members/:userId', { config: { permission: 'members:write' }, schema: { tags: ['members'], params: UserParams, response: { 204: Type.Null(), ...apiErrors(400, 404, 409) } } }, async (request, reply) => {
    await removeMember(deps, authOf(request).workspaceId, actorOf(request), request.params.userId);
    return reply.code(204).send(null);
  });

  // ---- Audit log ----
  const AuditQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })), before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })) }, { additionalProperties: false });
  app.get('/audit-log', { config: { permission: 'audit:read' }, schema: { tags: ['audit'], summary: 'The workspace\'s audit log, newest first', querystring: AuditQuery, response: { 200: AuditPage, ...apiErrors(400) } } }, async (request) => {
    const query = request.query;
    const entries = await listAudit(db, authOf(request).workspaceId, query.limit ?? 50, query.before);
    return { entries };
  });
}
