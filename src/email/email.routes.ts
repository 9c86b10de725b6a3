/** Authenticated email routes: the dev inbox, the suppression list and per-message delivery status. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { Email, ErrorResponse, IdParams } from '../http/schemas.js';
import { can } from '../identity/permissions.js';
import { getInboxEmail, listInbox } from './dev-inbox.js';
import { messageRoutes } from './messages.routes.js';
import { topicRoutes } from './topics.routes.js';
import { getSuppression, listSuppressions, SUPPRESSION_REASONS, suppressAddress, unsuppressAddress, type SuppressionReason } from './suppressions.js';

const InboxSummary = Type.Object({ id: Type.String(), from: Type.String(), to: Type.String(), subject: Type.String(), createdAt: Type.String({ format: 'date-time' }) });
const InboxEmail = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  html: Type.String(),
  text: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});
const InboxQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false });

const Reason = Type.Union(SUPPRESSION_REASONS.map((r) => Type.Literal(r)));
const Suppression = Type.Object({ email: Type.String(), reason: Reason, source: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String({ format: 'date-time' }) });
const SuppressionQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    after: Type.Optional(Type.String({ maxLength: 254 })),
    email: Type.Optional(Type.String({ maxLength: 254 })),
  },
  { additionalProperties: false },
);
const SuppressionBody = Type.Object({ email: Email, reason: Type.Optional(Reason) }, { additionalProperties: false });
const EmailParams = Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }) });

export function emailRoutes(app: FastifyInstance, deps: AppDeps): void {
  messageRoutes(app, deps);
  topicRoutes(app, deps);

  app.get<{ Querystring: { limit?: number } }>(
    '/inbox',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'Emails captured by the dev inbox, newest first', querystring: InboxQuery, response: { 200: Type.Object({ messages: Type.Array(InboxSummary) }) } } },
    async (request) => ({ messages: await listInbox(deps.db, authOf(request).workspaceId, request.query.limit ?? 100, { showInvitations: can(authOf(request).role, 'members:write') }) }),
  );

  app.get<{ Params: { id: string } }>(
    '/inbox/:id',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'One captured email with its HTML, text and headers', params: IdParams, response: { 200: InboxEmail, 404: ErrorResponse } } },
    async (request) => {
      const email = await getInboxEmail(deps.db, authOf(request).workspaceId, request.params.id, { showInvitations: can(authOf(request).role, 'members:write') });
      if (!email) throw notFound('Email');
      return email;
    },
  );

  app.get<{ Querystring: { limit?: number; after?: string; email?: string } }>(
    '/suppressions',
    { config: { permission: 'contacts:read' }, schema: { tags: ['email'], summary: 'The suppression list in address order; `email` looks up one address', querystring: SuppressionQuery, response: { 200: Type.Object({ suppressions: Type.Array(Suppression), nextCursor: Type.Union([Type.String(), Type.Null()]) }) } } },
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

  app.post<{ Body: { email: string; reason?: SuppressionReason } }>(
    '/suppressions',
    { config: { permission: 'contacts:write' }, schema: { tags: ['email'], summary: 'Suppress an address (reason defaults to manual); an existing entry is kept', body: SuppressionBody, response: { 200: Suppression, 201: Suppression } } },
    async (request, reply) => {
      const { suppression, created } = await suppressAddress(deps.db, authOf(request).workspaceId, request.body.email, request.body.reason ?? 'manual', actorOf(request));
      return reply.code(created ? 201 : 200).send(suppression);
    },
  );

  app.delete<{ Params: { email: string } }>(
    '/suppressions/:email',
    { config: { permission: 'contacts:write' }, schema: { tags: ['email'], summary: 'Remove an address from the suppression list', params: EmailParams, response: { 404: ErrorResponse } } },
    async (request, reply) => {
      const removed = await unsuppressAddress(deps.db, authOf(request).workspaceId, request.params.email, actorOf(request));
      if (!removed) throw notFound('Suppression');
      return reply.code(204).send();
    },
  );
}
