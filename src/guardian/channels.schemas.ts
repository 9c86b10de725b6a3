/** Request and response shapes of the Guardian channels API (/api/guardian/channels). */
import { Type, type Static } from '@sinclair/typebox';

export const CHANNEL_KINDS = ['email', 'slack', 'webhook', 'in_app'] as const;
export const DIGEST_FREQUENCIES = ['daily', 'weekly'] as const;

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Url = Type.String({ minLength: 1, maxLength: 2000 });
const Recipients = Type.Array(Type.String({ maxLength: 254 }), { minItems: 1, maxItems: 50, description: 'Email addresses' });

export const CreateChannelBody = Type.Union([
  Type.Object({ kind: Type.Literal('email'), name: Name, enabled: Type.Optional(Type.Boolean()), recipients: Recipients }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('slack'), name: Name, enabled: Type.Optional(Type.Boolean()), url: Url }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('webhook'), name: Name, enabled: Type.Optional(Type.Boolean()), url: Url }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('in_app'), name: Name, enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
]);
export type CreateChannelInput = Static<typeof CreateChannelBody>;

/** Only the fields the channel's kind has may be sent; a new URL replaces the stored one. */
export const UpdateChannelBody = Type.Object(
  {
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean()),
    recipients: Type.Optional(Recipients),
    url: Type.Optional(Url),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateChannelInput = Static<typeof UpdateChannelBody>;

export const DigestBody = Type.Object(
  {
    frequency: Type.Union([Type.Literal('daily'), Type.Literal('weekly'), Type.Null()], { description: 'null turns the digest off' }),
    hour: Type.Optional(Type.Integer({ minimum: 0, maximum: 23, description: "Hour of the day in the workspace's time zone" })),
    weekday: Type.Optional(Type.Integer({ minimum: 0, maximum: 6, description: 'Weekly digests: 0 = Sunday … 6 = Saturday' })),
  },
  { additionalProperties: false },
);
export type DigestInput = Static<typeof DigestBody>;

export const Channel = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('webhook'), Type.Literal('in_app')]),
  name: Type.String(),
  enabled: Type.Boolean(),
  /** Shown parts only: email recipients, the webhook's or Slack URL's host. Never a secret. */
  recipients: Type.Optional(Type.Array(Type.String())),
  host: Type.Optional(Type.String()),
  consecutiveFailures: Type.Integer(),
  digest: Type.Union([
    Type.Object({ frequency: Type.Union([Type.Literal('daily'), Type.Literal('weekly')]), hour: Type.Integer(), weekday: Type.Union([Type.Integer(), Type.Null()]), timeZone: Type.String(), nextAt: Type.String({ format: 'date-time' }) }),
    Type.Null(),
  ]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type ChannelView = Static<typeof Channel>;

export const CreatedChannel = Type.Object({
  channel: Channel,
  signingSecret: Type.Optional(Type.String({ description: 'Webhook channels: the whsec_ signing secret, shown only in this answer' })),
});

export const ChannelList = Type.Object({ channels: Type.Array(Channel) });

export const TestSendResult = Type.Object({
  deliveryId: Type.String(),
  status: Type.Union([Type.Literal('sent'), Type.Literal('failed')]),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer(),
});
export type TestSendView = Static<typeof TestSendResult>;
