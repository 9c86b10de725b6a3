/**
 * Request and response shapes of the per-message delivery status routes (messages.routes.ts), and the message statuses.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'failed', 'suppressed', 'uncertain'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
export const Status = Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('failed'), Type.Literal('suppressed'), Type.Literal('uncertain')]);
export const MessageSummary = Type.Object({
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
export const SendAttempt = Type.Object({
  provider: Type.String(),
  result: Type.String(),
  latencyMs: Type.Integer(),
  providerMessageId: Nullable(Type.String()),
  error: Nullable(Type.String()),
  attemptedAt: Type.String({ format: 'date-time' }),
});
export const EngagementEvent = Type.Object({ id: Type.String(), name: Type.String(), properties: Type.Record(Type.String(), Type.Unknown()), occurredAt: Type.String({ format: 'date-time' }) });
export const MessageDetail = Type.Object({ message: Type.Composite([MessageSummary, Type.Object({ from: Type.String() })]), attempts: Type.Array(SendAttempt), events: Type.Array(EngagementEvent) });
export const MessageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
    status: Type.Optional(Status),
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export const MessagePage = Type.Object({ messages: Type.Array(MessageSummary), nextCursor: Nullable(Type.String()) });
