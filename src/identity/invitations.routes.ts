/**
 * Invitation routes. Owners invite, list, resend and revoke (`members:write`); the invitee, holding
 * only the link's token, previews it and signs up through it (public, rate-limited), or accepts it
 * signed in with the invited email.
 */
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { Email, IdParams, LiteralUnion } from '../http/schemas.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import type { SessionGrant } from './identity.js';
import { acceptInvitation, createInvitation, listInvitations, previewInvitation, resendInvitation, revokeInvitation, signUpWithInvitation } from './invitations.js';
import { ROLES } from './permissions.js';

const RoleSchema = LiteralUnion(ROLES);
// randomToken(32): 43 base64url characters; a little slack, nothing else.
export const InvitationToken = Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' });
const Invitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  status: Type.Union([Type.Literal('pending'), Type.Literal('expired')]),
  invitedBy: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const Preview = Type.Object({
  email: Type.String(),
  role: RoleSchema,
  workspace: Type.Object({ id: Type.String(), name: Type.String() }),
  invitedBy: Type.Union([Type.Object({ name: Type.String() }), Type.Null()]),
  expiresAt: Type.String({ format: 'date-time' }),
});
const Workspace = Type.Object({ id: Type.String(), name: Type.String(), organizationId: Type.String() });
const User = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String() });
const InviteBody = Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false });
const TokenBody = Type.Object({ token: InvitationToken }, { additionalProperties: false });
const SignUpBody = Type.Object(
  { token: InvitationToken, name: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 10, maxLength: 200, description: 'At least 10 characters' }) },
  { additionalProperties: false },
);
/** What an invitation link that is not (or no longer) valid answers. */
const invalidLink = errors(403, 404, 409, 410);

export function invitationRoutes(app: ApiInstance, deps: AppDeps, setSessionCookies: (reply: FastifyReply, session: SessionGrant) => void): void {
  const { db, clock, config } = deps;
  const invitationDeps = { db, clock, mailer: { from: config.emailFrom, publicUrl: config.publicUrl } };
  const publicLimit = { max: config.loginRateLimitPerMinute, timeWindow: 60_000 };

  app.get('/invitations', { config: { permission: 'members:write' }, schema: { tags: ['members'], summary: 'Pending invitations (expired ones included until resent or revoked)', response: { 200: Type.Object({ invitations: Type.Array(Invitation) }), ...apiErrors() } } }, async (request) => ({
    invitations: await listInvitations(db, clock, authOf(request).workspaceId),
  }));

  app.post(
    '/invitations',
    {
      config: { permission: 'members:write' },
      schema: { tags: ['members'], summary: 'Invite an email to the workspace; the answer is the same whether or not it has an account', body: InviteBody, response: { 201: Invitation, ...apiErrors(400, 409, 429) } },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const invitation = await createInvitation(invitationDeps, auth.workspaceId, { actor: actorOf(request), role: auth.role }, request.body);
      return reply.code(201).send(invitation);
    },
  );

  app.post('/invitations/:id/resend', { config: { permission: 'members:write' }, schema: { tags: ['members'], summary: 'Send the invitation again with a new link and expiry (the old link stops working)', params: IdParams, response: { 200: Invitation, ...apiErrors(400, 404, 409, 429) } } }, async (request) =>
    resendInvitation(invitationDeps, authOf(request).workspaceId, actorOf(request), request.params.id),
  );

  app.delete('/invitations/:id', { config: { permission: 'members:write' }, schema: { tags: ['members'], summary: 'Revoke a pending invitation; its link stops working', params: IdParams, response: { 204: Type.Null(), ...apiErrors(400, 404, 409) } } }, async (request, reply) => {
    await revokeInvitation(invitationDeps, authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  // A POST although it reads: the token travels in the body, never in a URL that logs would keep.
  app.post(
    '/invitations/accept-info',
    { config: { permission: 'public', rateLimit: publicLimit }, schema: { tags: ['members'], summary: 'What a valid invitation link offers: workspace, inviter, role, email', body: TokenBody, response: { 200: Preview, ...errors(400, 429), ...invalidLink } } },
    async (request) => previewInvitation(db, clock, request.body.token),
  );

  app.post(
    '/invitations/accept',
    { config: { permission: 'authenticated' }, schema: { tags: ['members'], summary: 'Accept an invitation as the signed-in user (whose email must be the invited one); the session moves to that workspace', body: TokenBody, response: { 200: Type.Object({ workspace: Workspace, role: RoleSchema }), ...apiErrors(400), ...invalidLink } } },
    async (request) => {
      const auth = authOf(request);
      if (!auth.sessionToken || !auth.userId) throw new AppError('FORBIDDEN', 'Accept an invitation signed in as its invitee, not with an API key');
      return acceptInvitation(db, clock, request.body.token, { userId: auth.userId, sessionToken: auth.sessionToken }, { ip: request.ip, requestId: request.id });
    },
  );

  app.post(
    '/invitations/signup',
    { config: { permission: 'public', rateLimit: publicLimit }, schema: { tags: ['members'], summary: 'Create an account through an invitation: it gets the invited email and joins that workspace', body: SignUpBody, response: { 201: Type.Object({ user: User, workspace: Workspace, role: RoleSchema, csrfToken: Type.String() }), ...errors(400, 429), ...invalidLink } } },
    async (request, reply) => {
      const result = await signUpWithInvitation(db, clock, request.body, { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id });
      setSessionCookies(reply, result.session);
      return reply.code(201).send({ user: result.user, workspace: result.workspace, role: result.role, csrfToken: result.session.csrfToken });
    },
  );
}
