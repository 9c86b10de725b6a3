/**
 * Request and response shapes of the subscription topic routes (topics.routes.ts).
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

export const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
export const TopicBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    isDefault: Type.Optional(Type.Boolean({ description: 'Email nodes without a topic use the default; at most one per workspace' })),
  },
  { additionalProperties: false },
);
export const TopicSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  isDefault: Type.Boolean(),
  optedOut: Type.Integer({ description: 'Contacts opted out of this topic' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const ContactTopic = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  isDefault: Type.Boolean(),
  subscribed: Type.Boolean(),
  optedOutAt: Nullable(Type.String({ format: 'date-time' })),
  source: Nullable(Type.String()),
});
export const ContactTopicsBody = Type.Object(
  { topics: Type.Array(Type.Object({ topicId: Type.String({ format: 'uuid' }), subscribed: Type.Boolean() }, { additionalProperties: false }), { minItems: 1, maxItems: 200 }) },
  { additionalProperties: false },
);
export const TopicList = Type.Object({ topics: Type.Array(TopicSchema) });
export const ContactTopicList = Type.Object({ topics: Type.Array(ContactTopic) });
