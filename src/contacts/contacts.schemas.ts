/**
 * Contact request and page shapes: one schema per shape, shared by validation, OpenAPI and the web app
 * (leaf module: TypeBox and other schemas only; the contact itself is src/core/contact.schemas.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ContactSchema, ContactStatusSchema, SubscriptionStateSchema } from '../core/contact.schemas.js';

const NullableText = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()]);
const Tag = Type.String({ minLength: 1, maxLength: 64 });
const CustomFields = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Unknown(), { maxProperties: 100 });

const writable = {
  firstName: Type.Optional(NullableText(200)),
  lastName: Type.Optional(NullableText(200)),
  company: Type.Optional(NullableText(200)),
  jobTitle: Type.Optional(NullableText(200)),
  phone: Type.Optional(NullableText(50)),
  status: Type.Optional(ContactStatusSchema),
  tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
  customFields: Type.Optional(CustomFields),
  timezone: Type.Optional(NullableText(64)),
  subscriptionState: Type.Optional(SubscriptionStateSchema),
};

// Email is a plain string here: the domain trims, lower-cases and checks it (INVALID_EMAIL).
export const CreateContactBody = Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), ...writable }, { additionalProperties: false });
export const UpdateContactBody = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    ...writable,
    force: Type.Optional(Type.Boolean({ description: 'Allow moving status backwards' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ListContactsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Every word must start a word of the email, names or company; a complete email finds that contact' })),
    status: Type.Optional(ContactStatusSchema),
    tag: Type.Optional(Tag),
    minScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    maxScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    activeSince: Type.Optional(Type.String({ format: 'date-time', description: 'Last activity at or after this time' })),
    inactiveSince: Type.Optional(Type.String({ format: 'date-time', description: 'No activity at or after this time (contacts never active included)' })),
  },
  {
    additionalProperties: false,
    // Custom field equality: `cf.<key>=<value>`.
    patternProperties: { '^cf\\.[^\\u0000-\\u001f]{1,64}$': Type.String({ maxLength: 500 }) },
  },
);

export const ContactPage = Type.Object({ contacts: Type.Array(ContactSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const TagsBody = Type.Object({ tags: Type.Array(Tag, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false });
export const TagParams = Type.Object({ id: Type.String({ format: 'uuid' }), tag: Tag });

export const TimelineQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 300 })) },
  { additionalProperties: false },
);
/** Where a webhook action's call stands (campaign_webhooks); null on other steps. */
export const StepDeliverySchema = Type.Object({
  status: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: 'HTTP status of the last attempt' }),
  lastError: Type.Union([Type.String(), Type.Null()]),
  sentAt: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()], { description: 'While queued: when the next attempt is due' }),
});
export type StepDelivery = Static<typeof StepDeliverySchema>;

export const TimelineItemSchema = Type.Union([
  Type.Object({ kind: Type.Literal('event'), id: Type.String(), at: Type.String(), type: Type.String(), name: Type.String(), properties: Type.Record(Type.String(), Type.Unknown()) }),
  Type.Object({ kind: Type.Literal('message'), id: Type.String(), at: Type.String(), subject: Type.String(), status: Type.String(), toAddress: Type.String(), sentAt: Type.Union([Type.String(), Type.Null()]) }),
  Type.Object({
    kind: Type.Literal('step'),
    id: Type.String(),
    at: Type.String(),
    campaignId: Type.String(),
    campaignName: Type.String(),
    enrollmentId: Type.String(),
    nodeId: Type.String(),
    outcome: Type.String({ description: 'completed, skipped or failed' }),
    detail: Type.Record(Type.String(), Type.Unknown()),
    delivery: Type.Union([StepDeliverySchema, Type.Null()]),
  }),
]);
export const TimelinePage = Type.Object({ items: Type.Array(TimelineItemSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const MergeBody = Type.Object({ duplicateId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const EraseAnswer = Type.Object({ erasedAt: Type.String({ format: 'date-time' }) });
