/**
 * Request and response shapes of the Guardian core API (rules, alerts, health, roles). A leaf
 * module: only TypeBox, so the web app can import it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, SIGNAL_KEYS } from './signal-catalog.schemas.js';

export const Severity = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]);
export const Comparison = Type.Union([Type.Literal('>'), Type.Literal('>='), Type.Literal('<'), Type.Literal('<=')]);
export const AlertStatus = Type.Union([Type.Literal('firing'), Type.Literal('acknowledged'), Type.Literal('resolved')]);
export const GuardianRoleSchema = Type.Union([Type.Literal('guardian_admin'), Type.Literal('analyst'), Type.Literal('viewer')]);

const Scope = Type.Object({ campaignId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false });

export const RuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    // The signal key is checked by the domain (RULE_SIGNAL_UNKNOWN), so it is a string here.
    signal: Type.String({ minLength: 1, maxLength: 100 }),
    scope: Type.Optional(Scope),
    comparison: Comparison,
    threshold: Type.Number(),
    windowSeconds: Type.Integer({ description: `${MIN_WINDOW_SECONDS} s to ${MAX_WINDOW_SECONDS} s (30 days)` }),
    minVolume: Type.Optional(Type.Integer({ description: 'Below this volume in the window the rule stays quiet; default 0' })),
    severity: Severity,
    channelIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 20 })),
    cooldownSeconds: Type.Optional(Type.Integer({ description: '0 to 7 days; default 3600' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RuleInput = Static<typeof RuleBody>;

export const RulePatch = Type.Partial(RuleBody, { additionalProperties: false });
export type RulePatchInput = Static<typeof RulePatch>;

export const Rule = Type.Object({
  id: Type.String(),
  name: Type.String(),
  signal: Type.String(),
  scope: Type.Record(Type.String(), Type.Unknown()),
  comparison: Comparison,
  threshold: Type.Number(),
  windowSeconds: Type.Integer(),
  minVolume: Type.Integer(),
  severity: Severity,
  channelIds: Type.Array(Type.String()),
  cooldownSeconds: Type.Integer(),
  enabled: Type.Boolean(),
  defaultKey: Type.Union([Type.String(), Type.Null()]),
  nextEvalAt: Type.String(),
  lastEvaluatedAt: Type.Union([Type.String(), Type.Null()]),
  lastValue: Type.Union([Type.Number(), Type.Null()]),
  lastVolume: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type RuleView = Static<typeof Rule>;
export const RuleList = Type.Object({ rules: Type.Array(Rule) });

export const SignalInfoSchema = Type.Object({
  key: Type.String(),
  label: Type.String(),
  unit: Type.Union([Type.Literal('percent'), Type.Literal('count'), Type.Literal('seconds')]),
  family: Type.String(),
  volume: Type.Union([Type.String(), Type.Null()]),
  windowed: Type.Boolean(),
  scopeKeys: Type.Array(Type.String()),
  description: Type.String(),
});
export const SignalList = Type.Object({ signals: Type.Array(SignalInfoSchema) });

export const Alert = Type.Object({
  id: Type.String(),
  ruleId: Type.Union([Type.String(), Type.Null()]),
  ruleName: Type.String(),
  signal: Type.String(),
  scope: Type.Record(Type.String(), Type.Unknown()),
  severity: Severity,
  status: AlertStatus,
  comparison: Comparison,
  threshold: Type.Number(),
  value: Type.Number(),
  volume: Type.Union([Type.Number(), Type.Null()]),
  peakValue: Type.Number(),
  fireCount: Type.Integer(),
  openedAt: Type.String(),
  lastFiredAt: Type.String(),
  lastNotifiedAt: Type.Union([Type.String(), Type.Null()]),
  acknowledgedAt: Type.Union([Type.String(), Type.Null()]),
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
  resolvedBy: Type.Union([Type.String(), Type.Null()]),
});
export type AlertView = Static<typeof Alert>;

export const AlertEvent = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('fired'), Type.Literal('refired'), Type.Literal('acknowledged'), Type.Literal('resolved'), Type.Literal('auto_resolved')]),
  value: Type.Union([Type.Number(), Type.Null()]),
  volume: Type.Union([Type.Number(), Type.Null()]),
  actorId: Type.Union([Type.String(), Type.Null()]),
  at: Type.String(),
  fanOut: Type.Boolean(),
});
export const AlertList = Type.Object({ alerts: Type.Array(Alert), nextBefore: Type.Union([Type.String(), Type.Null()]) });
export const AlertDetail = Type.Object({ alert: Alert, timeline: Type.Array(AlertEvent) });

export const AlertQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([AlertStatus, Type.Literal('open')], { description: 'open: firing or acknowledged' })),
    severity: Type.Optional(Severity),
    signal: Type.Optional(Type.String({ maxLength: 100 })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Opened at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Opened before' })),
    before: Type.Optional(Type.String({ format: 'date-time', description: 'Page: alerts opened before this (nextBefore of the previous page)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type AlertFilters = Static<typeof AlertQuery>;

export const HealthQuery = Type.Object(
  { range: Type.Optional(Type.Union([Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')], { description: 'default 24h (hourly points); 7d and 30d have daily points' })) },
  { additionalProperties: false },
);
export const HealthPoint = Type.Object({
  at: Type.String(),
  provider: Type.String(),
  sends: Type.Integer(),
  bounces: Type.Integer(),
  complaints: Type.Integer(),
  bounceRate: Type.Union([Type.Number(), Type.Null()]),
  complaintRate: Type.Union([Type.Number(), Type.Null()]),
});
export const HealthSeries = Type.Object({ range: Type.String(), bucketSeconds: Type.Integer(), from: Type.String(), to: Type.String(), providers: Type.Array(Type.String()), points: Type.Array(HealthPoint) });
export type HealthSeriesView = Static<typeof HealthSeries>;

export const GuardianMe = Type.Object({ role: GuardianRoleSchema, workspaceRole: Type.String(), overridden: Type.Boolean(), capabilities: Type.Array(Type.String()) });
export const MemberRoleBody = Type.Object({ role: Type.Union([GuardianRoleSchema, Type.Null()], { description: 'null: back to the default mapping from the workspace role' }) }, { additionalProperties: false });
export const MemberRole = Type.Object({ userId: Type.String(), workspaceRole: Type.String(), guardianRole: GuardianRoleSchema, defaultRole: GuardianRoleSchema, overridden: Type.Boolean() });
/** `GET /api/guardian/members`: every member's effective Guardian role (`overridden`: an owner set it). */
export const MemberRoleList = Type.Object({ members: Type.Array(MemberRole) });
export const UserIdParams = Type.Object({ userId: Type.String({ format: 'uuid' }) });

export { SIGNAL_KEYS };
