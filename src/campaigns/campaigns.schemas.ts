/**
 * Request and response shapes of the campaign routes (routes.ts), importable by the web app: this
 * module imports only TypeBox and other schema modules. The definition itself is
 * definition.schemas.ts.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { StepDeliverySchema } from '../contacts/contacts.schemas.js';


export const CampaignSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')]),
  currentVersion: Type.Union([Type.Integer(), Type.Null()]),
  draftRevision: Type.Integer({ description: 'Bumped by every save of the draft; send it back with the next save to detect edit conflicts' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const CampaignAnswer = Type.Object({ campaign: CampaignSchema });

// The definition is checked by the campaign validator, which names node and field for every problem.
export const DefinitionBody = Type.Unknown({ description: 'A campaign definition; see GET /api/campaigns/schema' });
export const CreateCampaignBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), definition: DefinitionBody }, { additionalProperties: false });
export const UpdateCampaignBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    definition: DefinitionBody,
    draftRevision: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'The draft revision this edit started from; another save since answers 409 CAMPAIGN_EDIT_CONFLICT' })),
  },
  { additionalProperties: false },
);
/** A problem of a definition: the sentence a marketer reads, and the machine fields. */
export const DefinitionProblemSchema = Type.Object({
  nodeId: Type.Union([Type.String(), Type.Null()], { description: 'The node the problem is on; null for the campaign as a whole' }),
  field: Type.String({ description: 'The path of the field, e.g. config.subject or edges.next' }),
  code: Type.String({ description: 'A stable problem code (docs/campaigns.md, “Problems”)' }),
  message: Type.String(),
});
export const SaveDraftAnswer = Type.Object({ campaign: CampaignSchema, problems: Type.Array(DefinitionProblemSchema, { description: 'Empty when the draft can be published' }) });
export const EnrollBody = Type.Object({ contactIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });
export const EnrollmentParams = Type.Object({ id: Type.String({ format: 'uuid' }), enrollmentId: Type.String({ format: 'uuid' }) });
export const MigrateBody = Type.Object({ fromVersion: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false });
export const MigrateAnswer = Type.Object({ toVersion: Type.Integer(), moved: Type.Integer(), stayed: Type.Integer() });

export const EnrollResultSchema = Type.Object({
  contactId: Type.String(),
  status: Type.String({ description: 'enrolled, already_enrolled, reentry_refused or contact_not_found' }),
  enrollmentId: Type.Optional(Type.String()),
});
export const EnrollAnswer = Type.Object({ results: Type.Array(EnrollResultSchema) });

export const FrequencyCapSchema = Type.Union([
  Type.Object({ maxEmails: Type.Integer({ minimum: 1, maximum: 100 }), windowHours: Type.Integer({ minimum: 1, maximum: 24 * 31 }) }, { additionalProperties: false }),
  Type.Null(),
]);
export const FrequencyCapBody = Type.Object({ frequencyCap: FrequencyCapSchema }, { additionalProperties: false });
export const FrequencyCapAnswer = Type.Object({ frequencyCap: FrequencyCapSchema });

export const DefinitionSchemaAnswer = Type.Object({
  version: Type.Integer(),
  definition: Type.Unknown({ description: 'The JSON schema of a campaign definition' }),
  nodeConfigs: Type.Record(Type.String(), Type.Unknown(), { description: 'The JSON schema of each node type’s config' }),
});

const Count = Type.Integer({ minimum: 0 });
export const NodeMetricsSchema = Type.Object({ entered: Count, completed: Count, waiting: Count, failed: Count });
export const EmailMetricsSchema = Type.Object({
  queued: Count,
  sent: Count,
  failed: Count,
  suppressed: Count,
  delivered: Count,
  opened: Count,
  clicked: Count,
  replied: Count,
  bounced: Count,
  unsubscribed: Count,
});
export const CampaignMetricsSchema = Type.Object({
  nodes: Type.Record(Type.String(), NodeMetricsSchema, { description: 'Per node id' }),
  emails: Type.Record(Type.String(), EmailMetricsSchema, { description: 'Per email node id' }),
  enrollments: Type.Object({ active: Count, paused: Count, completed: Count, exited: Count, failed: Count }),
  conversions: Count,
});
export const CampaignDetailAnswer = Type.Object({
  campaign: CampaignSchema,
  definition: Type.Unknown({ description: 'The draft definition' }),
  problems: Type.Array(DefinitionProblemSchema, { description: 'The draft’s problems as of its last save; empty when it can be published' }),
  metrics: CampaignMetricsSchema,
});

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const JourneyAnswer = Type.Object({
  enrollment: Type.Object({
    id: Type.String(),
    campaignId: Type.String(),
    contactId: Type.String(),
    version: Type.Integer(),
    status: Type.String({ description: 'active, paused, completed, exited or failed' }),
    currentNodeId: Type.String(),
    nextRunAt: Type.String({ format: 'date-time' }),
    attempts: Type.Integer(),
    lastError: Nullable(Type.String()),
    exitReason: Nullable(Type.String()),
    enrolledAt: Type.String({ format: 'date-time' }),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
  }),
  steps: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      outcome: Type.String({ description: 'completed, skipped or failed' }),
      handle: Nullable(Type.String()),
      detail: Type.Record(Type.String(), Type.Unknown()),
      at: Type.String({ format: 'date-time' }),
      delivery: Nullable(StepDeliverySchema),
    }),
  ),
});

/**
 * A hypothetical contact for a simulation. Fields are camelCase like the rest of the API; the
 * snake_case spellings this body took before (first_name, last_name, job_title, custom_fields)
 * are still accepted.
 */
export const SimulatedContact = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    firstName: Type.Optional(Type.String({ maxLength: 200 })),
    lastName: Type.Optional(Type.String({ maxLength: 200 })),
    company: Type.Optional(Type.String({ maxLength: 200 })),
    jobTitle: Type.Optional(Type.String({ maxLength: 200 })),
    timezone: Type.Optional(Type.String({ maxLength: 64 })),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
    score: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    customFields: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    first_name: Type.Optional(Type.String({ maxLength: 200, description: 'Old spelling of firstName' })),
    last_name: Type.Optional(Type.String({ maxLength: 200, description: 'Old spelling of lastName' })),
    job_title: Type.Optional(Type.String({ maxLength: 200, description: 'Old spelling of jobTitle' })),
    custom_fields: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Old spelling of customFields' })),
  },
  { additionalProperties: false, description: 'A hypothetical contact' },
);

const SimulationOptions = {
  contactId: Type.Optional(Type.String({ format: 'uuid', description: 'A real contact (nothing about it is changed)' })),
  contact: Type.Optional(SimulatedContact),
  entryEvent: Type.Optional(Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: false })),
  events: Type.Optional(
    Type.Array(
      Type.Object(
        {
          afterSeconds: Type.Integer({ minimum: 0, maximum: 3650 * 86_400 }),
          type: Type.Optional(Type.Union([Type.Literal('track'), Type.Literal('system'), Type.Literal('email')])),
          name: Type.String({ minLength: 1, maxLength: 200 }),
          properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  ),
  horizonDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
};
export const SimulateBody = Type.Object({ definition: DefinitionBody, ...SimulationOptions }, { additionalProperties: false });
/** A campaign's simulation: its stored draft, or the draft as the builder shows it (edits not saved yet) when `definition` is given. */
export const SimulateDraftBody = Type.Object(
  { definition: Type.Optional(Type.Unknown({ description: 'The draft as shown in the builder, saved or not; the stored draft when left out' })), ...SimulationOptions },
  { additionalProperties: false },
);

export const SimulationAnswer = Type.Object({
  status: Type.String({ description: 'The enrollment status the journey ended in' }),
  exitReason: Nullable(Type.String()),
  error: Nullable(Type.String()),
  path: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      type: Nullable(Type.String()),
      outcome: Type.String(),
      handle: Nullable(Type.String()),
      at: Type.String({ format: 'date-time' }),
      detail: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  emails: Type.Array(Type.Object({ nodeId: Type.String(), to: Type.String(), from: Type.String(), subject: Type.String(), html: Type.String(), text: Type.String(), at: Type.String({ format: 'date-time' }) })),
  waits: Type.Array(Type.Object({ nodeId: Type.String(), from: Type.String({ format: 'date-time' }), until: Type.String({ format: 'date-time' }) })),
  endedAt: Type.String({ format: 'date-time' }),
});

export const InboundBody = Type.Object(
  {
    email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    contactId: Type.Optional(Type.String({ format: 'uuid' })),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const InboundSecretAnswer = Type.Object({ secret: Type.String(), url: Type.String() });

/** GET /api/campaigns: every campaign of the workspace, newest first. */
export const CampaignList = Type.Object({ campaigns: Type.Array(CampaignSchema) });
