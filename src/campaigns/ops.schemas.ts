/**
 * Request and response shapes of the campaign operations routes (ops.routes.ts): duplicate, the
 * publish preview (the draft against the running version, in words, and the in-flight enrollments
 * by version), enrolling an audience (a segment or a filtered contact list, counted first),
 * enrollments listed and exited in bulk, and scheduled broadcasts listed and cancelled. Importable
 * by the web app: this module imports only TypeBox.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ContactStatusSchema } from '../core/contact.schemas.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Count = Type.Integer({ minimum: 0 });
const Uuid = Type.String({ format: 'uuid' });

export const DuplicateBody = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false });

export const NodeChangeSchema = Type.Object({
  nodeId: Type.String(),
  name: Type.String({ description: 'The node name (or its id when unnamed)' }),
  type: Type.String(),
  change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed')]),
  summary: Type.String({ description: 'The change in words, e.g. "Subject changed" or "Now waits 2 days (was 3 days)"' }),
});
export const PublishPreviewAnswer = Type.Object({
  currentVersion: Nullable(Type.Integer({ description: 'The running version; null when never published' })),
  nextVersion: Type.Integer(),
  changes: Type.Array(NodeChangeSchema),
  settingsChanges: Type.Array(Type.String(), { description: 'Changes to goal, re-entry or priority, in words' }),
  edgesChanged: Type.Boolean({ description: 'Connections were added or removed' }),
  inFlight: Type.Array(
    Type.Object({ version: Type.Integer(), running: Count, movable: Count }, { description: 'movable: at a node the draft keeps with the same type, so migrate would move them' }),
  ),
});

export const AudienceFilter = Type.Object(
  {
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(ContactStatusSchema),
    minScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    maxScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false, minProperties: 1, description: 'Contacts with this tag, status and score range (all given parts must hold)' },
);
export const AudienceBody = Type.Object(
  {
    segmentId: Type.Optional(Uuid),
    filter: Type.Optional(AudienceFilter),
    dryRun: Type.Optional(Type.Boolean({ description: 'Count only: who matches and who could enter now; nothing is enrolled' })),
  },
  { additionalProperties: false, description: 'Exactly one of segmentId or filter' },
);
export const AudienceAnswer = Type.Object({
  matched: Count,
  eligible: Type.Integer({ minimum: 0, description: 'Matched contacts not already in the campaign and allowed by the re-entry rule' }),
  enrolled: Type.Integer({ minimum: 0, description: '0 on a dry run' }),
  dryRun: Type.Boolean(),
});

const EnrollmentStatus = Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('completed'), Type.Literal('exited'), Type.Literal('failed')]);
export const EnrollmentListQuery = Type.Object({
  contactId: Type.Optional(Uuid),
  status: Type.Optional(EnrollmentStatus),
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});
export const EnrollmentSummarySchema = Type.Object({
  id: Type.String(),
  contactId: Type.String(),
  contactEmail: Type.String(),
  contactName: Nullable(Type.String()),
  version: Type.Integer(),
  status: EnrollmentStatus,
  currentNodeId: Type.String(),
  nextRunAt: Type.String({ format: 'date-time' }),
  exitReason: Nullable(Type.String()),
  enrolledAt: Type.String({ format: 'date-time' }),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});
export const EnrollmentListAnswer = Type.Object({ enrollments: Type.Array(EnrollmentSummarySchema), total: Count });

export const BulkExitBody = Type.Object(
  {
    enrollmentIds: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 1000 })),
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Every running enrollment at this node' })),
    all: Type.Optional(Type.Literal(true, { description: 'Every running enrollment of the campaign' })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Stored as the exit reason; default "operator"' })),
  },
  { additionalProperties: false, description: 'Exactly one of enrollmentIds, nodeId or all' },
);
export const BulkExitAnswer = Type.Object({ exited: Count });

const BroadcastStatus = Type.Union([Type.Literal('scheduled'), Type.Literal('done'), Type.Literal('superseded'), Type.Literal('cancelled')]);
export const BroadcastSchema = Type.Object({
  campaignId: Type.String(),
  campaignName: Type.String(),
  version: Type.Integer(),
  segmentId: Type.String(),
  segmentName: Nullable(Type.String({ description: 'null when the segment was deleted' })),
  segmentSize: Count,
  runAt: Type.String({ format: 'date-time' }),
  status: BroadcastStatus,
  enrolled: Nullable(Type.Integer()),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});
export const BroadcastListQuery = Type.Object({
  status: Type.Optional(BroadcastStatus),
  campaignId: Type.Optional(Uuid),
});
export const BroadcastListAnswer = Type.Object({ broadcasts: Type.Array(BroadcastSchema), timeZone: Type.String({ description: "The workspace's time zone, for showing times" }) });
export const BroadcastParams = Type.Object({ id: Uuid, version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
export const BroadcastAnswer = Type.Object({ broadcast: BroadcastSchema });
