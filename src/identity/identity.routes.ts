/**
 * Identity routes: sign-up, log-in and -out, the caller (`/auth/me`), switching workspace, API keys,
 * members and the audit log. Shapes live in identity.schemas.ts (and audit.schemas.ts).
 */
import type { FastifyReply } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf, CSRF_COOKIE, SESSION_COOKIE } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import { IdParams, NoContent } from '../http/schemas.js';
import { listAudit } from './audit.js';
import { AuditPage, AuditQuery } from './audit.schemas.js';
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
import { ApiKeyList, CreatedKey, CreateKeyBody, LogInAnswer, LogInBody, Me, Member, MemberList, MemberRoleBody, SignUpAnswer, SignUpBody, SwitchWorkspaceBody, UserParams } from './identity.schemas.js';
import { acceptInvitationAtLogIn } from './invitations.js';
import { invitationRoutes } from './invitations.routes.js';
import { permissionsOf } from './permissions.js';

const DEVICE_COOKIE = 'uh_device';

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
      schema: { tags: ['auth'], summary: 'Create an organization, its first workspace and its owner', body: SignUpBody, response: { 201: SignUpAnswer, ...errors(400, 409, 429) } },
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
      schema: { tags: ['auth'], summary: 'Log in with email and password (rate-limited per address and throttled per email: docs/access.md); with invitationToken, accept that invitation (for this email) and open the session in its workspace', body: LogInBody, response: { 200: LogInAnswer, ...errors(400, 401, 403, 404, 409, 410, 429) } },
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

  app.post('/auth/logout', { config: { permission: 'authenticated' }, schema: { tags: ['auth'], response: { 204: NoContent, ...apiErrors() } } }, async (request, reply) => {
    const auth = authOf(request);
    if (auth.sessionToken) await logOut(db, auth.sessionToken, deps.sessions);
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
    { config: { permission: 'authenticated' }, schema: { tags: ['auth'], summary: 'Switch the session to another workspace the user belongs to', body: SwitchWorkspaceBody, response: { 204: NoContent, ...apiErrors(400) } } },
    async (request, reply) => {
      const auth = authOf(request);
      if (!auth.sessionToken || !auth.userId) throw new AppError('FORBIDDEN', 'API keys are bound to one workspace');
      await switchWorkspace(db, auth.sessionToken, auth.userId, request.body.workspaceId);
      // This process at once (the caller's next request must see the new workspace); the others
      // when PostgreSQL's notification reaches them (migration 127).
      deps.sessions.drop(auth.userId);
      return reply.code(204).send(null);
    },
  );

  // ---- API keys (owners only) ----
  app.get('/api-keys', { config: { permission: 'api_keys:read' }, schema: { tags: ['api keys'], response: { 200: ApiKeyList, ...apiErrors() } } }, async (request) => ({
    apiKeys: await listApiKeys(db, authOf(request).workspaceId),
  }));

  app.post(
    '/api-keys',
    { config: { permission: 'api_keys:write' }, schema: { tags: ['api keys'], summary: 'Create an API key; the key is shown once', body: CreateKeyBody, response: { 201: CreatedKey, ...apiErrors(400) } } },
    async (request, reply) => {
      const body = request.body;
      const created = await createApiKey(deps, authOf(request).workspaceId, actorOf(request), { name: body.name, role: body.role ?? 'admin' });
      return reply.code(201).send(created);
    },
  );

  app.delete('/api-keys/:id', { config: { permission: 'api_keys:write' }, schema: { tags: ['api keys'], summary: 'Revoke an API key', params: IdParams, response: { 204: NoContent, ...apiErrors(400, 404) } } }, async (request, reply) => {
    await revokeApiKey(deps, authOf(request).workspaceId, actorOf(request), request.params.id);
    // This process at once; the others when PostgreSQL's notification reaches them (migration 114).
    deps.apiKeys.drop(request.params.id);
    return reply.code(204).send(null);
  });

  // ---- Members (owners manage roles; people join through invitations) ----
  invitationRoutes(app, deps, setSessionCookies);
  app.get('/members', { config: { permission: 'members:read' }, schema: { tags: ['members'], response: { 200: MemberList, ...apiErrors() } } }, async (request) => ({
    members: await listMembers(db, authOf(request).workspaceId),
  }));

  app.patch(
    '/members/:userId',
    { config: { permission: 'members:write' }, schema: { tags: ['members'], params: UserParams, body: MemberRoleBody, response: { 200: Member, ...apiErrors(400, 404, 409) } } },
    async (request) => {
      const member = await changeMemberRole(deps, authOf(request).workspaceId, actorOf(request), request.params.userId, request.body.role);
      deps.sessions.drop(request.params.userId);
      return member;
    },
  );

  app.delete('/members/:userId', { config: { permission: 'members:write' }, schema: { tags: ['members'], params: UserParams, response: { 204: NoContent, ...apiErrors(400, 404, 409) } } }, async (request, reply) => {
    await removeMember(deps, authOf(request).workspaceId, actorOf(request), request.params.userId);
    deps.sessions.drop(request.params.userId);
    return reply.code(204).send(null);
  });

  // ---- Audit log ----
  app.get('/audit-log', { config: { permission: 'audit:read' }, schema: { tags: ['audit'], summary: 'The workspace\'s audit log, newest first, with each actor\'s name; filters: actorType, actorId, entity (e.g. contact, campaign), from, to', querystring: AuditQuery, response: { 200: AuditPage, ...apiErrors(400) } } }, async (request) => {
    const query = request.query;
    const { limit, before, ...filters } = query;
    const entries = await listAudit(db, authOf(request).workspaceId, limit ?? 50, before, filters);
    return { entries };
  });
}
