/**
 * Invitation routes. Owners invite, list, resend and revoke (`members:write`); the invitee, holding
 * only the link's token, previews it and signs up through it (public, rate-limited), or accepts it
 * signed in with the invited email.
 */
import type { FastifyReply } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { AppError } from '../http/errors.js';
import { IdParams, NoContent } from '../http/schemas.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import type { SessionGrant } from './identity.js';
import { acceptInvitation, createInvitation, listInvitations, previewInvitation, resendInvitation, revokeInvitation, signUpWithInvitation } from './invitations.js';
import { AcceptAnswer, Invitation, InvitationList, InvitationPreview, InvitationSignUpAnswer, InvitationSignUpBody, InviteBody, TokenBody } from './invitations.schemas.js';

/** What an invitation link that is not (or no longer) valid answers. */
const invalidLink = errors(403, 404, 409, 410);

export function invitationRoutes(app: ApiInstance, deps: AppDeps, setSessionCookies: (reply: FastifyReply, session: SessionGrant) => void): void {
  const { db, clock, config } = deps;
  const invitationDeps = { db, clock, mailer: { from: config.emailFrom, publicUrl: config.publicUrl } };
  const publicLimit = { max: config.loginRateLimitPerMinute, timeWindow: 60_000 };

  app.get('/invitations', { config: { permission: 'members:write' }, schema: { tags: ['members'], summary: 'Pending invitations (expired ones included until resent or revoked)', response: { 200: InvitationList, ...apiErrors() } } }, async (request) => ({
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

  app.delete('/invitations/:id', { config: { permission: 'members:write' }, schema: { tags: ['members'], summary: 'Revoke a pending invitation; its link stops working', params: IdParams, response: { 204: NoContent, ...apiErrors(400, 404, 409) } } }, async (request, reply) => {
    await revokeInvitation(invitationDeps, authOf(request).workspaceId, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  // A POST although it reads: the token travels in the body, never in a URL that logs would keep.
  app.post(
    '/invitations/accept-info',
    { config: { permission: 'public', rateLimit: publicLimit }, schema: { tags: ['members'], summary: 'What a valid invitation link offers: workspace, inviter, role, email', body: TokenBody, response: { 200: InvitationPreview, ...errors(400, 429), ...invalidLink } } },
    async (request) => previewInvitation(db, clock, request.body.token),
  );

  app.post(
    '/invitations/accept',
    { config: { permission: 'authenticated' }, schema: { tags: ['members'], summary: 'Accept an invitation as the signed-in user (whose email must be the invited one); the session moves to that workspace', body: TokenBody, response: { 200: AcceptAnswer, ...apiErrors(400), ...invalidLink } } },
    async (request) => {
      const auth = authOf(request);
      if (!auth.sessionToken || !auth.userId) throw new AppError('FORBIDDEN', 'Accept an invitation signed in as its invitee, not with an API key');
      const accepted = await acceptInvitation(db, clock, request.body.token, { userId: auth.userId, sessionToken: auth.sessionToken }, { ip: request.ip, requestId: request.id });
      // The session moved to the invitation's workspace: this process at once, the others by notification.
      deps.sessions.drop(auth.userId);
      return accepted;
    },
  );

  app.post(
    '/invitations/signup',
    { config: { permission: 'public', rateLimit: publicLimit }, schema: { tags: ['members'], summary: 'Create an account through an invitation: it gets the invited email and joins that workspace', body: InvitationSignUpBody, response: { 201: InvitationSignUpAnswer, ...errors(400, 429), ...invalidLink } } },
    async (request, reply) => {
      const result = await signUpWithInvitation(db, clock, request.body, { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id });
      setSessionCookies(reply, result.session);
      return reply.code(201).send({ user: result.user, workspace: result.workspace, role: result.role, csrfToken: result.session.csrfToken });
    },
  );
}
