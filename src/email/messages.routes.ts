/** Per-message delivery status: the outbox list and one message with its attempts and engagement. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { apiErrors } from '../http/typed.js';
import { getMessage, listMessages, markMessageSent, resendMessage } from './messages.js';
import { MessageDetail, MessagePage, MessageQuery, MessageSummary } from './messages.schemas.js';

export function messageRoutes(app: FastifyInstance, deps: AppDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/messages',
    {
      config: { permission: 'messages:read' },
      schema: { tags: ['email'], summary: 'Outbox messages with their delivery status, newest first', querystring: MessageQuery, response: { ...apiErrors(400), 200: MessagePage, 400: ErrorResponse } },
    },
    async (request) => listMessages(deps.db, authOf(request).workspaceId, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  api.get(
    '/messages/:id',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'One message with its send attempts and engagement events', params: IdParams, response: { ...apiErrors(400), 200: MessageDetail, 404: ErrorResponse } } },
    async (request) => {
      const detail = await getMessage(deps.db, authOf(request).workspaceId, request.params.id);
      if (!detail) throw notFound('Message');
      return detail;
    },
  );

  api.post(
    '/messages/:id/resend',
    {
      config: { permission: 'messages:write' },
      schema: { tags: ['email'], summary: 'Queue an uncertain or failed message again (same idempotency key and Message-ID)', params: IdParams, response: { ...apiErrors(400), 200: MessageSummary, 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => resendMessage(deps, authOf(request).workspaceId, actorOf(request), request.params.id),
  );

  api.post(
    '/messages/:id/mark-sent',
    {
      config: { permission: 'messages:write' },
      schema: { tags: ['email'], summary: 'Record that an uncertain message was delivered', params: IdParams, response: { ...apiErrors(400), 200: MessageSummary, 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => markMessageSent(deps, authOf(request).workspaceId, actorOf(request), request.params.id),
  );
}
