/** Shapes of the Guardian delivery log (/api/guardian/deliveries) and the in-app notification centre. */
import { Type, type Static } from '@sinclair/typebox';

export const DELIVERY_STATUSES = ['pending', 'sending', 'sent', 'retrying', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
const Status = Type.Union([Type.Literal('pending'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('retrying'), Type.Literal('failed')]);

export const DeliveryQuery = Type.Object(
  {
    channelId: Type.Optional(Type.String({ format: 'uuid' })),
    status: Type.Optional(Status),
    alertId: Type.Optional(Type.String({ format: 'uuid' })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type DeliveryFilter = Static<typeof DeliveryQuery>;

export const Attempt = Type.Object({
  attempt: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Integer(),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('sent'), Type.Literal('retry'), Type.Literal('failed')]),
});

export const Delivery = Type.Object({
  id: Type.String({ description: 'Also the idempotency key sent as webhook-id' }),
  channelId: Type.String(),
  channelKind: Type.Union([Type.String(), Type.Null()]),
  channelName: Type.Union([Type.String(), Type.Null()]),
  purpose: Type.Union([Type.Literal('alert'), Type.Literal('test'), Type.Literal('digest')]),
  alertId: Type.Union([Type.String(), Type.Null()]),
  summary: Type.String(),
  status: Status,
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastResponseStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  failedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type DeliveryView = Static<typeof Delivery>;

export const DeliveryPage = Type.Object({ deliveries: Type.Array(Delivery), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const DeliveryDetail = Type.Composite([Delivery, Type.Object({ attemptLog: Type.Array(Attempt) })]);

export const Notification = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('alert'), Type.Literal('test'), Type.Literal('digest'), Type.Literal('channel_failing')]),
  severity: Type.Union([Type.String(), Type.Null()]),
  title: Type.String(),
  body: Type.String(),
  link: Type.Union([Type.String(), Type.Null()]),
  alertId: Type.Union([Type.String(), Type.Null()]),
  channelId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  read: Type.Boolean(),
});
export type NotificationView = Static<typeof Notification>;

export const NotificationQuery = Type.Object(
  { unread: Type.Optional(Type.Boolean()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 30 })) },
  { additionalProperties: false },
);
export const NotificationList = Type.Object({ notifications: Type.Array(Notification), unreadCount: Type.Integer() });
export const UnreadCount = Type.Object({ unreadCount: Type.Integer() });
export const MarkedRead = Type.Object({ marked: Type.Integer(), unreadCount: Type.Integer() });
