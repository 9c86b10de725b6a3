/** Authenticated email routes: the dev inbox, the suppression list and per-message delivery status. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams, NoContent } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { can } from '../identity/permissions.js';
import { getInboxEmail, listInbox } from './dev-inbox.js';
import { messageRoutes } from './messages.routes.js';
import { topicRoutes } from './topics.routes.js';
import { getSuppression, listSuppressions, suppressAddress, unsuppressAddress } from './suppressions.js';
import { EmailParams, InboxEmail, InboxList, InboxQuery, Suppression, SuppressionPage, SuppressionBody, SuppressionQuery } from './email.schemas.js';

export function emailRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  messageRoutes(app, deps);
  topicRoutes(app, deps);

  api.get(
    '/inbox',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'Emails captured by the dev inbox, newest first', querystring: InboxQuery, response: { ...apiErrors(400), 200: InboxList } } },
    async (request) => ({ messages: await listInbox(deps.db, authOf(request).workspaceId, request.query.limit ?? 100, { showInvitations: can(authOf(request).role, 'members:write') }) }),
  );

  api.get(
    '/inbox/:id',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'One captured email with its HTML, text and headers', params: IdParams, response: { ...apiErrors(400), 200: InboxEmail, 404: ErrorResponse } } },
    async (request) => {
      const email = await getInboxEmail(deps.db, authOf(request).workspaceId, request.params.id, { showInvitations: can(authOf(request).role, 'members:write') });
      if (!email) throw notFound('Email');
      return email;
    },
  );

  api.get(
    '/suppressions',
    { config: { permission: 'contacts:read' }, schema: { tags: ['email'], summary: 'The suppression list in address order; `email` looks up one address', querystring: SuppressionQuery, response: { ...apiErrors(400), 200: SuppressionPage } } },
    async (request) => {
      const { workspaceId } = authOf(request);
      if (request.query.email !== undefined) {
        const one = await getSuppression(deps.db, workspaceId, request.query.email);
        return { suppressions: one ? [one] : [], nextCursor: null };
      }
      const limit = request.query.limit ?? 100;
      const suppressions = await listSuppressions(deps.db, workspaceId, limit, request.query.after);
      return { suppressions, nextCursor: suppressions.length === limit ? suppressions[suppressions.length - 1]!.email : null };
    },
  );

  api.post(
    '/suppressions',
    { config: { permission: 'contacts:write' }, schema: { tags: ['email'], summary: 'Suppress an address (reason defaults to manual); an existing entry is kept', body: SuppressionBody, response: { ...apiErrors(400), 200: Suppression, 201: Suppression } } },
    async (request, reply) => {
      const { suppression, created } = await suppressAddress(deps, authOf(request).workspaceId, actorOf(request), request.body.email, request.body.reason ?? 'manual');
      return reply.code(created ? 201 : 200).send(suppression);
    },
  );

  api.delete(
    '/suppressions/:email',
    { config: { permission: 'contacts:write' }, schema: { tags: ['email'], summary: 'Remove an address from the suppression list', params: EmailParams, response: { ...apiErrors(400), 204: NoContent, 404: ErrorResponse } } },
    async (request, reply) => {
      const removed = await unsuppressAddress(deps, authOf(request).workspaceId, actorOf(request), request.params.email);
      if (!removed) throw notFound('Suppression');
      return reply.code(204).send(null);
    },
  );
}
