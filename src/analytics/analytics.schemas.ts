/**
 * Request and response shapes of the analytics API (/api/analytics/…): the home dashboard, the
 * campaign list's statistics, a campaign's report and its per-variant counts. A leaf module (only
 * TypeBox) so the web app derives its types from it. What each number means: docs/analytics.md.
 */
import { Type, type Static } from '@sinclair/typebox';

const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A day in the workspace time zone, YYYY-MM-DD' });
const Rate = Type.Union([Type.Number(), Type.Null()], { description: 'A fraction 0–1; null when its denominator is 0' });

export const RangeQuery = Type.Object(
  {
    from: Type.Optional(LocalDate),
    to: Type.Optional(Type.Intersect([LocalDate], { description: 'Inclusive; default today in the workspace time zone' })),
    granularity: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('hour')], { description: 'day (default) or hour (ranges up to 31 days)' })),
    includeMachineOpens: Type.Optional(Type.Boolean({ description: 'Count opens and clicks by mail-privacy proxies and link scanners too; default false' })),
  },
  { additionalProperties: false },
);
export type RangeInput = Static<typeof RangeQuery>;

/** Email outcomes: each counts emails (one message to one contact) that had the event at least once. */
export const EmailCounts = Type.Object({
  sent: Type.Integer(),
  delivered: Type.Integer(),
  opened: Type.Integer(),
  clicked: Type.Integer(),
  replied: Type.Integer(),
  bounced: Type.Integer(),
  complained: Type.Integer(),
  unsubscribed: Type.Integer(),
  machineOpens: Type.Integer({ description: 'Open events flagged as machine opens (privacy proxies, prefetch), counted apart' }),
});
export type EmailCountsView = Static<typeof EmailCounts>;

export const EmailRates = Type.Object({
  openRate: Rate,
  clickRate: Rate,
  bounceRate: Rate,
  complaintRate: Rate,
  unsubscribeRate: Rate,
});

export const JourneyCounts = Type.Object({
  enrolled: Type.Integer(),
  converted: Type.Integer({ description: 'Enrollments that reached the goal' }),
  conversionRate: Rate,
  avgSecondsToConvert: Type.Union([Type.Number(), Type.Null()]),
});

export const Counts = Type.Intersect([EmailCounts, EmailRates, JourneyCounts]);
export type CountsView = Static<typeof Counts>;

export const SeriesPoint = Type.Intersect([Type.Object({ at: Type.String({ description: 'YYYY-MM-DD or YYYY-MM-DDTHH:00, local to the workspace' }) }), EmailCounts, Type.Object({ events: Type.Integer(), contactsCreated: Type.Integer(), enrolled: Type.Integer(), converted: Type.Integer() })]);
export type SeriesPointView = Static<typeof SeriesPoint>;

const Range = Type.Object({ from: LocalDate, to: LocalDate, timeZone: Type.String(), granularity: Type.Union([Type.Literal('day'), Type.Literal('hour')]), includeMachineOpens: Type.Boolean() });

export const OverviewAnswer = Type.Object({
  range: Range,
  totals: Type.Intersect([Counts, Type.Object({ events: Type.Integer(), contactsCreated: Type.Integer() })]),
  series: Type.Array(SeriesPoint),
});
export type OverviewView = Static<typeof OverviewAnswer>;

export const CampaignStatsRow = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  currentVersion: Type.Union([Type.Integer(), Type.Null()]),
  updatedAt: Type.String(),
  sent: Type.Integer(),
  opened: Type.Integer(),
  clicked: Type.Integer(),
  openRate: Rate,
  clickRate: Rate,
  enrolled: Type.Integer(),
  converted: Type.Integer(),
  conversionRate: Rate,
  activeEnrollments: Type.Integer(),
  sparkline: Type.Array(Type.Object({ at: LocalDate, sent: Type.Integer() }), { description: 'Emails sent per day over the last 14 days' }),
});
export type CampaignStatsRowView = Static<typeof CampaignStatsRow>;
export const CampaignStatsAnswer = Type.Object({ timeZone: Type.String(), campaigns: Type.Array(CampaignStatsRow) });

export const HotLead = Type.Object({ id: Type.String(), email: Type.String(), name: Type.Union([Type.String(), Type.Null()]), score: Type.Integer(), lastActivityAt: Type.Union([Type.String(), Type.Null()]) });
export const BandCrossing = Type.Object({
  contactId: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  from: Type.String(),
  to: Type.String(),
  score: Type.Union([Type.Integer(), Type.Null()]),
  at: Type.String(),
});

export const DashboardAnswer = Type.Object({
  overview: OverviewAnswer,
  contacts: Type.Object({ total: Type.Integer(), createdInRange: Type.Integer(), hotLeads: Type.Integer() }),
  activeCampaigns: Type.Array(CampaignStatsRow),
  hotLeads: Type.Array(HotLead),
  recentCrossings: Type.Array(BandCrossing),
  health: Type.Object({
    sentLast7Days: Type.Integer(),
    bounceRate7d: Rate,
    complaintRate7d: Rate,
    openAlerts: Type.Integer(),
    outboxQueued: Type.Integer(),
    status: Type.Union([Type.Literal('good'), Type.Literal('watch'), Type.Literal('act')], { description: 'act: an open critical/high alert, bounces ≥ 5 % or complaints ≥ 0.1 %; watch: bounces ≥ 2 %, complaints ≥ 0.05 % or any open alert' }),
  }),
});
export type DashboardView = Static<typeof DashboardAnswer>;

export const FunnelNode = Type.Object({
  nodeId: Type.String(),
  type: Type.String(),
  label: Type.String(),
  depth: Type.Integer({ description: 'Steps from the entry node along the shortest path' }),
  entered: Type.Integer(),
  completed: Type.Integer(),
  waiting: Type.Integer(),
  failed: Type.Integer(),
  converted: Type.Integer({ description: 'Reached the goal while at this node' }),
  fromPrevious: Rate,
  fromEntry: Rate,
});
export type FunnelNodeView = Static<typeof FunnelNode>;

export const EmailNodeStats = Type.Intersect([
  Type.Object({ nodeId: Type.String(), subject: Type.String() }),
  EmailCounts,
  EmailRates,
  Type.Object({ series: Type.Array(Type.Object({ at: LocalDate, sent: Type.Integer(), opened: Type.Integer(), clicked: Type.Integer(), bounced: Type.Integer() })) }),
]);

export const VersionStats = Type.Intersect([Type.Object({ version: Type.Integer(), publishedAt: Type.Union([Type.String(), Type.Null()]) }), Counts]);

export const VariantStats = Type.Intersect([
  Type.Object({ variant: Type.String(), weight: Type.Union([Type.Integer(), Type.Null()]), assigned: Type.Integer({ description: 'Enrollments the split sent this way' }) }),
  Counts,
]);
export type VariantStatsView = Static<typeof VariantStats>;
export const SplitStats = Type.Object({ nodeId: Type.String(), variants: Type.Array(VariantStats) });
export type SplitStatsView = Static<typeof SplitStats>;
export const VariantsAnswer = Type.Object({ campaignId: Type.String(), includeMachineOpens: Type.Boolean(), splits: Type.Array(SplitStats) });
export type VariantsView = Static<typeof VariantsAnswer>;

export const ReportAnswer = Type.Object({
  campaign: Type.Object({ id: Type.String(), name: Type.String(), status: Type.String(), currentVersion: Type.Union([Type.Integer(), Type.Null()]), goal: Type.Union([Type.String(), Type.Null()]) }),
  range: Range,
  totals: Counts,
  funnel: Type.Array(FunnelNode),
  emails: Type.Array(EmailNodeStats),
  goals: Type.Object({
    converted: Type.Integer(),
    conversionRate: Rate,
    avgSecondsToConvert: Type.Union([Type.Number(), Type.Null()]),
    series: Type.Array(Type.Object({ at: LocalDate, enrolled: Type.Integer(), converted: Type.Integer() })),
  }),
  versions: Type.Array(VersionStats),
  splits: Type.Array(SplitStats),
});
export type ReportView = Static<typeof ReportAnswer>;

export const MachineOpensQuery = Type.Object({ includeMachineOpens: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** The campaign report as CSV text (one table per section). */
export const ReportCsv = Type.String({ description: 'text/csv' });
