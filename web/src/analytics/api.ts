/**
 * The analytics client (/api/analytics/…): the dashboard, the campaign list's statistics, a
 * campaign's report and its CSV. Shapes come from the server's leaf schema module.
 */
import type { Static } from '@sinclair/typebox';
import type { CampaignStatsAnswer, DashboardAnswer, ReportAnswer, VariantsAnswer } from '@server/analytics/analytics.schemas.js';
import { query, request } from '../http';

export type Dashboard = Static<typeof DashboardAnswer>;
export type CampaignStats = Static<typeof CampaignStatsAnswer>;
export type CampaignStatsRow = CampaignStats['campaigns'][number];
export type Report = Static<typeof ReportAnswer>;
export type Variants = Static<typeof VariantsAnswer>;

export interface RangeInput {
  from?: string;
  to?: string;
  includeMachineOpens?: boolean;
}

const id = (value: string): string => encodeURIComponent(value);
const range = (input: RangeInput) => query({ from: input.from, to: input.to, includeMachineOpens: input.includeMachineOpens ? 'true' : undefined });

export const analyticsApi = {
  dashboard: (input: RangeInput = {}) => request<Dashboard>('GET', `/analytics/dashboard${range(input)}`),
  campaigns: () => request<CampaignStats>('GET', '/analytics/campaigns'),
  report: (campaignId: string, input: RangeInput = {}) => request<Report>('GET', `/analytics/campaigns/${id(campaignId)}/report${range(input)}`),
  /** Same-origin URL of the CSV (a link downloads it with the session cookie). */
  reportCsvUrl: (campaignId: string, input: RangeInput = {}) => `/api/analytics/campaigns/${id(campaignId)}/report.csv${range(input)}`,
  variants: (campaignId: string) => request<Variants>('GET', `/analytics/campaigns/${id(campaignId)}/variants`),
};
