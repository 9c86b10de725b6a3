/**
 * The contact's answer shape, one schema per shape (leaf module: TypeBox only, importable by the
 * web app as `@server/core/contact.schemas.js`): its persisted status and subscription strings, the
 * explained parts of its score, and the contact itself as the API answers it.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Persisted strings: never rename. Order is the progression. */
export const CONTACT_STATUSES = ['prospect', 'lead', 'customer'] as const;
export const SUBSCRIPTION_STATES = ['subscribed', 'unsubscribed'] as const;

export const ContactStatusSchema = Type.Union([Type.Literal('prospect'), Type.Literal('lead'), Type.Literal('customer')]);
export const SubscriptionStateSchema = Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]);
export type ContactStatus = Static<typeof ContactStatusSchema>;
export type SubscriptionState = Static<typeof SubscriptionStateSchema>;

export const ScorePartSchema = Type.Object({
  /** `adjustment` appears only when campaign actions changed the score on purpose. */
  part: Type.Union([Type.Literal('engagement'), Type.Literal('sentiment'), Type.Literal('intent'), Type.Literal('role'), Type.Literal('status'), Type.Literal('adjustment')]),
  points: Type.Number(),
  max: Type.Number(),
  explanation: Type.String(),
});
export type ScorePart = Static<typeof ScorePartSchema>;

const NullableText = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()]);

export const ContactSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  firstName: NullableText(200),
  lastName: NullableText(200),
  company: NullableText(200),
  jobTitle: NullableText(200),
  phone: NullableText(50),
  status: ContactStatusSchema,
  tags: Type.Array(Type.String()),
  customFields: Type.Record(Type.String(), Type.Unknown()),
  timezone: NullableText(64),
  subscriptionState: SubscriptionStateSchema,
  score: Type.Integer({ minimum: 0, maximum: 100 }),
  scoreBreakdown: Type.Optional(Type.Array(ScorePartSchema)),
  lastActivityAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the contact last acted: a tracked event, a page or screen view, an email open, click or reply' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
/** A contact as the API answers it (camelCase; times ISO-8601 in UTC). */
export type Contact = Static<typeof ContactSchema>;
