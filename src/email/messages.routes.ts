/** Per-message delivery status: the outbox list and one message with its attempts and engagement. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { ErrorResponse, IdParams } from '../http/schemas.js';
import { getMessage, listMessages, markMessageSent, MESSAGE_STATUSES, resendMessage, type MessageStatus } from './messages.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Status = Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s)));
const MessageSummary = Type.Object({
  id: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  status: Status,
  attempts: Type.Integer(),
  provider: Nullable(Type.String()),
  providerMessageId: Nullable(Type.String()),
  lastError: Nullable(Type.String()),
  sourceType: Type.String(),
  sourceId: Nullable(Type.String()),
  contactId: Nullable(Type.String()),
  topicId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Nullable(Type.String({ format: 'date-time' })),
});
const SendAttempt = Type.Object({
  provider: Type.String(),
  result: Type.String(),
  latencyMs: Type.Integer(),
  providerMessageId: Nullable(Type.String()),
  error: Nullable(Type.String()),
  attemptedAt: Type.String({ format: 'date-time' }),
});
const EngagementEvent = Type.Object({ id: Type.String(), name: Type.String(), properties: Type.Record(Type.String(), Type.Unknown()), occurredAt: Type.String({ format: 'date-time' }) });
const MessageDetail = Type.Object({ message: Type.Composite([MessageSummary, Type.Object({ from: Type.String() })]), attempts: Type.Array(SendAttempt), events: Type.Array(EngagementEvent) });
const MessageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
    status: Type.Optional(Status),
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);

export function messageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { limit?: number; cursor?: string; status?: MessageStatus; contactId?: string } }>(
    '/messages',
    {
      config: { permission: 'messages:read' },
      schema: { tags: ['email'], summary: 'Outbox messages with their delivery status, newest first', querystring: MessageQuery, response: { 200: Type.Object({ messages: Type.Array(MessageSummary), nextCursor: Nullable(Type.String()) }), 400: ErrorResponse } },
    },
    async (request) => listMessages(deps.db, authOf(request).workspaceId, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get<{ Params: { id: string } }>(
    '/messages/:id',
    { config: { permission: 'messages:read' }, schema: { tags: ['email'], summary: 'One message with its send attempts and engagement events', params: IdParams, response: { 200: MessageDetail, 404: ErrorResponse } } },
    async (request) => {
      const detail = await getMessage(deps.db, authOf(request).workspaceId, request.params.id);
      if (!detail) throw notFound('Message');
      return detail;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/messages/:id/resend',
    {
      config: { permission: 'messages:write' },
      schema: { tags: ['email'], summary: 'Queue an uncertain or failed message again (same idempotency key and Message-ID)', params: IdParams, response: { 200: MessageSummary, 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => resendMessage(deps.db, authOf(request).workspaceId, request.params.id, actorOf(request), deps.clock.now()),
  );

  app.post<{ Params: { id: string } }>(
    '/messages/:id/mark-sent',
    {
      config: { permission: 'messages:write' },
      schema: { tags: ['email'], summary: 'Record that an uncertain message was delivered', params: IdParams, response: { 200: MessageSummary, 404: ErrorResponse, 409: ErrorResponse } },
    },
    async (request) => markMessageSent(deps.db, deps.eventSink, authOf(request).workspaceId, request.params.id, actorOf(request), deps.clock.now()),
  );
}
