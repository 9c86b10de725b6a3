/**
 * Request and response shapes of the segment routes (segments.routes.ts): the segment, its
 * definition (conditions; kinds and operators are persisted strings: never rename) and the bodies.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LiteralUnion } from '../http/schemas.js';

const Text = Type.String({ maxLength: 500 });
export const FieldName = LiteralUnion(['email', 'firstName', 'lastName', 'company', 'jobTitle', 'phone', 'status', 'timezone', 'subscriptionState'] as const);
export const TextOp = LiteralUnion(['eq', 'neq', 'contains', 'exists', 'not_exists'] as const);
export const RangeOp = LiteralUnion(['gt', 'gte', 'lt', 'lte'] as const);
const Window = { withinDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) };
const Counts = { minCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })), maxCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })) };

export const ConditionSchema = Type.Union([
  Type.Object({ kind: Type.Literal('field'), field: FieldName, op: TextOp, value: Type.Optional(Text) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('custom_field'), key: Type.String({ minLength: 1, maxLength: 64 }), op: TextOp, value: Type.Optional(Text) }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('custom_field'),
      key: Type.String({ minLength: 1, maxLength: 64 }),
      op: RangeOp,
      value: Type.Union([Type.Number(), Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })]),
    },
    { additionalProperties: false, description: 'A number compares with number values; a YYYY-MM-DD date with date values (custom fields declared as number or date)' },
  ),
  Type.Object({ kind: Type.Literal('tag'), op: Type.Union([Type.Literal('has'), Type.Literal('not_has')]), tag: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('score'), op: LiteralUnion(['gte', 'gt', 'lte', 'lt', 'eq'] as const), value: Type.Integer({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('event'), name: Type.String({ minLength: 1, maxLength: 200 }), type: Type.Optional(Type.String({ maxLength: 20 })), ...Counts, ...Window }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('email'),
      action: LiteralUnion(['delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed'] as const),
      topicId: Type.Optional(Type.String({ format: 'uuid', description: "Only events about this subscription topic (see docs/email.md: 'unsubscribed' events carry topicId)" })),
      ...Counts,
      ...Window,
    },
    { additionalProperties: false },
  ),
]);
export type Condition = Static<typeof ConditionSchema>;

export const DefinitionSchema = Type.Object(
  { match: Type.Union([Type.Literal('all'), Type.Literal('any')]), conditions: Type.Array(ConditionSchema, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false },
);
export type SegmentDefinition = Static<typeof DefinitionSchema>;

export const SEGMENT_KINDS = ['dynamic', 'static'] as const;
export const SegmentSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: LiteralUnion(SEGMENT_KINDS),
  definition: Type.Union([DefinitionSchema, Type.Null()]),
  memberCount: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const SegmentList = Type.Object({ segments: Type.Array(SegmentSchema) });
export const CreateSegmentBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), kind: LiteralUnion(SEGMENT_KINDS), definition: Type.Optional(DefinitionSchema) },
  { additionalProperties: false },
);
export const UpdateSegmentBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), definition: Type.Optional(DefinitionSchema) }, { additionalProperties: false, minProperties: 1 });
export const MembersBody = Type.Object({ contactIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false });
export const MembersResult = Type.Object({ segment: SegmentSchema, changed: Type.Integer(), ignored: Type.Array(Type.String()) });
export const MembersQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }), cursor: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });
