/**
 * The campaign definition's schema: versioned JSON drawn by the builder — nodes, edges and
 * settings. One TypeBox schema per shape, served at GET /api/campaigns/schema, used by the
 * validator, and importable by the web app (this module imports only TypeBox). Node types, config
 * kinds and handles are persisted strings: never rename them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const DEFINITION_SCHEMA_VERSION = 1;

export const NODE_TYPES = ['trigger', 'email', 'wait', 'condition', 'split', 'action', 'exit'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' });

const FILTER_OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'not_exists'] as const;
const TRIGGER_EMAIL_EVENTS = ['opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;

export const PropertyFilter = Type.Object(
  { property: Type.String({ minLength: 1, maxLength: 200 }), op: Type.Union(FILTER_OPERATORS.map((o) => Type.Literal(o))), value: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Type.Null()])) },
  { additionalProperties: false },
);

export const TriggerConfig = Type.Union(
  [
    Type.Object({ kind: Type.Literal('manual') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('contact_created') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('tag_added'), tag: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
    Type.Object(
      { kind: Type.Literal('score_threshold'), threshold: Type.Integer({ minimum: 1, maximum: 100 }) },
      { additionalProperties: false, description: 'A score_threshold_crossed event upwards through this threshold' },
    ),
    Type.Object(
      { kind: Type.Literal('event'), name: Type.String({ minLength: 1, maxLength: 200 }), filters: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20 })) },
      { additionalProperties: false, description: 'A tracked event with this name whose properties pass every filter' },
    ),
    Type.Object(
      {
        kind: Type.Literal('email_event'),
        event: Type.Union(TRIGGER_EMAIL_EVENTS.map((o) => Type.Literal(o))),
        topicId: Type.Optional(Type.String({ format: 'uuid', description: "Only events about this subscription topic (an 'unsubscribed' from the topic, or from all after an email of it)" })),
      },
      { additionalProperties: false },
    ),
    Type.Object({ kind: Type.Literal('segment_entered'), segmentId: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('broadcast'),
        segmentId: Type.String({ format: 'uuid' }),
        at: Type.Optional(Type.String({ format: 'date-time', description: 'When to send; absent or past: on publish' })),
      },
      { additionalProperties: false, description: 'Enrolls every current member of the segment once, when published and `at` has passed' },
    ),
    Type.Object(
      { kind: Type.Literal('inbound_webhook') },
      { additionalProperties: false, description: 'POST /hooks/campaigns/:id with the campaign secret (Authorization: Bearer) and {email | contactId, properties?}' },
    ),
  ],
  { description: 'How contacts enter the campaign' },
);

export const EmailConfig = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 998 }),
    html: Type.String({ minLength: 1, maxLength: 500_000, description: 'HTML or an MJML document; Liquid variables contact, workspace, campaign, event' }),
    text: Type.Optional(Type.String({ maxLength: 500_000 })),
    from: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
    templateId: Type.Optional(
      Type.String({ format: 'uuid', description: 'The saved template (GET /api/templates) the subject and body were copied from; the builder offers to copy it again after it changes. Sending uses subject and html.' }),
    ),
    topicId: Type.Optional(
      Type.String({ format: 'uuid', description: "The subscription topic (GET /api/topics); absent: the workspace's default topic. Not allowed in a transactional campaign." }),
    ),
    personalization: Type.Optional(
      Type.Union([Type.Literal('off'), Type.Literal('offline'), Type.Literal('provider')], { description: "AI personalization at send time (docs/ai.md): off (default), offline rules, or the workspace's provider; any failure sends the original" }),
    ),
  },
  { additionalProperties: false },
);

const Hour = Type.Integer({ minimum: 0, maximum: 23 });
export const WaitConfig = Type.Union([
  Type.Object({ kind: Type.Literal('duration'), seconds: Type.Integer({ minimum: 0, maximum: 366 * 86_400 }) }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('until_time'),
      weekdays: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, description: '0 = Sunday' })),
      hour: Type.Optional(Hour),
      minute: Type.Optional(Type.Integer({ minimum: 0, maximum: 59 })),
      quietHours: Type.Optional(Type.Object({ start: Hour, end: Hour }, { additionalProperties: false, description: 'Local hours [start, end) never chosen; may wrap midnight' })),
      defaultTimezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'For contacts without a time zone; UTC when absent' })),
    },
    { additionalProperties: false, description: 'Until the next local time (contact time zone) on an allowed weekday, outside quiet hours' },
  ),
  Type.Object(
    {
      kind: Type.Literal('event'),
      name: Type.String({ minLength: 1, maxLength: 200 }),
      timeoutSeconds: Type.Integer({ minimum: 1, maximum: 366 * 86_400 }),
      correlationKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only an event whose property has the same value as in the entry event' })),
    },
    { additionalProperties: false, description: 'Leaves by `next` when the event arrives, by `timeout` otherwise' },
  ),
]);

export const COMPARE_OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'not_exists'] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];
const CompareOp = Type.Union(COMPARE_OPERATORS.map((o) => Type.Literal(o)));
const Scalar = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Type.Null()]);
const EMAIL_ENGAGEMENTS = ['delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;
const EmailEngagement = Type.Union(EMAIL_ENGAGEMENTS.map((o) => Type.Literal(o)));

export const ConditionRule = Type.Union([
  Type.Object({ kind: Type.Literal('field'), field: Type.String({ minLength: 1, maxLength: 200 }), op: CompareOp, value: Type.Optional(Scalar) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('score'), op: CompareOp, value: Type.Number() }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('tag'), tag: Type.String({ minLength: 1, maxLength: 100 }), present: Type.Boolean() }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('event'),
      name: Type.String({ minLength: 1, maxLength: 200 }),
      withinSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 * 86_400 })),
      present: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('email'), nodeId: Id, event: EmailEngagement, present: Type.Boolean() },
    { additionalProperties: false, description: 'Engagement with an email this enrollment received at an earlier node' },
  ),
]);

export interface RuleGroup {
  operator: 'and' | 'or';
  rules: Array<Static<typeof ConditionRule> | RuleGroup>;
}

export const RuleGroupSchema = Type.Recursive(
  (Self) =>
    Type.Object(
      {
        operator: Type.Union([Type.Literal('and'), Type.Literal('or')]),
        rules: Type.Array(Type.Union([ConditionRule, Self]), { minItems: 1, maxItems: 50 }),
      },
      { additionalProperties: false },
    ),
  { $id: 'RuleGroup' },
);

export const ConditionConfig = Type.Object(
  {
    branches: Type.Array(Type.Object({ id: Id, name: Type.Optional(Type.String({ maxLength: 200 })), match: RuleGroupSchema }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 20,
    }),
  },
  { additionalProperties: false, description: 'Branches are tried in order; the first match wins, else the `default` edge' },
);

export const SPLIT_METRICS = ['open', 'click', 'conversion'] as const;
export type SplitMetric = (typeof SPLIT_METRICS)[number];

export const AutoWinnerConfig = Type.Object(
  {
    metric: Type.Union([Type.Literal('open'), Type.Literal('click'), Type.Literal('conversion')], { description: 'Rate compared per contact assigned: human opens, human clicks, or the campaign goal (needs settings.goal)' }),
    minSamplePerVariant: Type.Integer({ minimum: 50, maximum: 10_000_000, description: 'Contacts each variant needs before the first look; looks at 1×, 2×, 3×, 4× this' }),
    minHours: Type.Integer({ minimum: 0, maximum: 8760, description: 'Hours since the first contact reached the split before any look' }),
    alpha: Type.Optional(Type.Number({ minimum: 0.001, maximum: 0.2, description: 'Significance level: the false-winner rate of the whole test (default 0.05)' })),
  },
  { additionalProperties: false, description: 'Pick a winner by itself when one variant is significantly better (docs/ab-testing.md); later contacts then all go to it' },
);

export const SplitConfig = Type.Object(
  {
    variants: Type.Array(Type.Object({ id: Id, weight: Type.Integer({ minimum: 0, maximum: 100 }) }, { additionalProperties: false }), { minItems: 2, maxItems: 10 }),
    autoWinner: Type.Optional(AutoWinnerConfig),
  },
  { additionalProperties: false, description: 'Weights add up to 100; a contact always lands in the same variant' },
);

export const ActionConfig = Type.Union([
  Type.Object({ kind: Type.Literal('tag_add'), tag: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('tag_remove'), tag: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('score_change'), delta: Type.Integer({ minimum: -100, maximum: 100 }) }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('field_update'), field: Type.String({ minLength: 1, maxLength: 200 }), value: Scalar },
    { additionalProperties: false, description: 'Built-in fields firstName, lastName, company, jobTitle, phone, status, timezone (the snake_case spellings first_name, last_name, job_title are still accepted); anything else is a custom field' },
  ),
  Type.Object(
    {
      kind: Type.Literal('webhook'),
      url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://' }),
      secret: Type.String({ minLength: 16, maxLength: 200, description: 'Signs each call: x-unitehub-signature = v1=HMAC-SHA256(secret, "<x-unitehub-timestamp>.<body>")' }),
    },
    { additionalProperties: false, description: 'POSTs the contact and step as JSON; never to private, loopback or link-local addresses' },
  ),
  Type.Object(
    {
      kind: Type.Literal('notify'),
      userId: Type.String({ format: 'uuid' }),
      subject: Type.String({ minLength: 1, maxLength: 998 }),
      text: Type.String({ minLength: 1, maxLength: 100_000 }),
    },
    { additionalProperties: false, description: 'Emails a workspace member (through the outbox)' },
  ),
]);

export const ExitConfig = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });

export const NODE_CONFIG_SCHEMAS: Record<NodeType, TSchema> = {
  trigger: TriggerConfig,
  email: EmailConfig,
  wait: WaitConfig,
  condition: ConditionConfig,
  split: SplitConfig,
  action: ActionConfig,
  exit: ExitConfig,
};

export const CampaignNode = Type.Object(
  {
    id: Id,
    type: Type.Union(NODE_TYPES.map((t) => Type.Literal(t))),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    position: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number() }, { additionalProperties: false })),
    notes: Type.Optional(Type.String({ maxLength: 5000, description: 'Free text for the team; the engine ignores it' })),
    config: Type.Unknown({ description: 'Per type: see TriggerConfig, EmailConfig, WaitConfig, ConditionConfig, SplitConfig, ActionConfig, ExitConfig' }),
  },
  { additionalProperties: false },
);

export const CampaignEdge = Type.Object(
  {
    from: Id,
    to: Id,
    handle: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'next (default), a condition branch id or default, a split variant id' })),
  },
  { additionalProperties: false },
);

export const CampaignSettings = Type.Object(
  {
    priority: Type.Optional(
      Type.Union([Type.Literal('transactional'), Type.Literal('lifecycle'), Type.Literal('promotional')], {
        description: 'For frequency caps: transactional is never capped; promotional keeps one slot free for lifecycle. Default lifecycle.',
      }),
    ),
    goal: Type.Optional(
      Type.Union(
        [
          Type.Object({ eventName: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false, description: 'An event with this name' }),
          Type.Object({ kind: Type.Literal('segment'), segmentId: Type.String({ format: 'uuid' }) }, { additionalProperties: false, description: 'Entering this segment' }),
        ],
        { description: 'Reaching it exits the contact and counts a conversion' },
      ),
    ),
    reentry: Type.Optional(
      Type.Object(
        { mode: Type.Union([Type.Literal('never'), Type.Literal('after'), Type.Literal('always')]), days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CampaignDefinitionSchema = Type.Object(
  {
    entryNodeId: Id,
    nodes: Type.Array(CampaignNode, { maxItems: 500 }),
    edges: Type.Array(CampaignEdge, { maxItems: 2000 }),
    settings: Type.Optional(CampaignSettings),
  },
  { additionalProperties: false, $id: 'CampaignDefinition' },
);

export type TriggerNodeConfig = Static<typeof TriggerConfig>;
export type EmailNodeConfig = Static<typeof EmailConfig>;
export type WaitNodeConfig = Static<typeof WaitConfig>;
export type ConditionNodeConfig = Static<typeof ConditionConfig>;
export type ConditionRuleValue = Static<typeof ConditionRule>;
export type SplitNodeConfig = Static<typeof SplitConfig>;
export type AutoWinnerValue = Static<typeof AutoWinnerConfig>;
export type ActionNodeConfig = Static<typeof ActionConfig>;
export type ExitNodeConfig = Static<typeof ExitConfig>;
export type CampaignSettingsValue = Static<typeof CampaignSettings>;

interface NodeBase<T extends NodeType, C> {
  id: string;
  type: T;
  name?: string;
  position?: { x: number; y: number };
  notes?: string;
  config: C;
}

export type DefinitionNode =
  | NodeBase<'trigger', TriggerNodeConfig>
  | NodeBase<'email', EmailNodeConfig>
  | NodeBase<'wait', WaitNodeConfig>
  | NodeBase<'condition', ConditionNodeConfig>
  | NodeBase<'split', SplitNodeConfig>
  | NodeBase<'action', ActionNodeConfig>
  | NodeBase<'exit', ExitNodeConfig>;

export interface DefinitionEdge {
  from: string;
  to: string;
  handle?: string;
}

export interface CampaignDefinition {
  entryNodeId: string;
  nodes: DefinitionNode[];
  edges: DefinitionEdge[];
  settings?: CampaignSettingsValue;
}
