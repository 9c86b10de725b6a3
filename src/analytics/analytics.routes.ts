/**
 * The analytics routes under /api/analytics: the workspace overview, the home dashboard, the
 * campaign list's statistics, a campaign's report (JSON and CSV) and its per-variant counts.
 * Reading any of them is campaigns:read. Shapes in analytics.schemas.ts; numbers in docs/analytics.md.
 */
import type { AppDeps } from '../app.js';
import { authOf } from '../http/auth.js';
import { IdParams } from '../http/schemas.js';
import { apiErrors, type ApiInstance } from '../http/typed.js';
import { CampaignStatsAnswer, DashboardAnswer, MachineOpensQuery, OverviewAnswer, RangeQuery, ReportAnswer, ReportCsv, VariantsAnswer } from './analytics.schemas.js';
import { campaignReport, reportCsv } from './campaign-report.js';
import { campaignList, campaignVariants } from './campaign-stats.js';
import { dashboard, overview } from './overview.js';

const tags = ['analytics'];
const READ = { permission: 'campaigns:read' as const };

export function analyticsRoutes(app: ApiInstance, deps: AppDeps): void {
  const { db, clock } = deps;

  app.get(
    '/analytics/overview',
    { config: READ, schema: { tags, summary: 'Email outcomes, events, new contacts, enrolments and conversions per day or hour of the workspace time zone', querystring: RangeQuery, response: { 200: OverviewAnswer, ...apiErrors(400) } } },
    async (request) => overview(db, authOf(request).workspaceId, request.query, clock.now()),
  );

  app.get(
    '/analytics/dashboard',
    { config: READ, schema: { tags, summary: 'The home dashboard: the overview, contacts, hot leads, band crossings, active campaigns and sending health', querystring: RangeQuery, response: { 200: DashboardAnswer, ...apiErrors(400) } } },
    async (request) => dashboard(db, authOf(request).workspaceId, request.query, clock.now()),
  );

  app.get(
    '/analytics/campaigns',
    { config: READ, schema: { tags, summary: "Every campaign with its sends, rates, active enrollments and 14 days of sends", querystring: MachineOpensQuery, response: { 200: CampaignStatsAnswer, ...apiErrors(400) } } },
    async (request) => campaignList(db, authOf(request).workspaceId, clock.now(), request.query.includeMachineOpens ?? false),
  );

  app.get(
    '/analytics/campaigns/:id/report',
    { config: READ, schema: { tags, summary: "A campaign's funnel, emails, goal, versions and split variants (series over the range)", params: IdParams, querystring: RangeQuery, response: { 200: ReportAnswer, ...apiErrors(400, 404) } } },
    async (request) => campaignReport(db, authOf(request).workspaceId, request.params.id, request.query, clock.now()),
  );

  app.get(
    '/analytics/campaigns/:id/report.csv',
    { config: READ, schema: { tags, summary: 'The campaign report as CSV', params: IdParams, querystring: RangeQuery, produces: ['text/csv'], response: { 200: ReportCsv, ...apiErrors(400, 404) } } },
    async (request, reply) => {
      const report = await campaignReport(db, authOf(request).workspaceId, request.params.id, request.query, clock.now());
      const name = report.campaign.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'campaign';
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}-report.csv"`)
        .send(reportCsv(report));
    },
  );

  app.get(
    '/analytics/campaigns/:id/variants',
    { config: READ, schema: { tags, summary: 'Per split node and variant: enrollments assigned, their emails, opens, clicks and goal conversions (all time)', params: IdParams, querystring: MachineOpensQuery, response: { 200: VariantsAnswer, ...apiErrors(400, 404) } } },
    async (request) => campaignVariants(db, authOf(request).workspaceId, request.params.id, request.query.includeMachineOpens ?? false),
  );
}
