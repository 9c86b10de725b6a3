/**
 * The A/B split endpoints (docs/ab-testing.md) and their TanStack Query keys; shapes derived from
 * the server's leaf schemas (@server/campaigns/splits.schemas).
 */
import type { Static } from '@sinclair/typebox';
import type { SplitResult, SplitResultsAnswer } from '@server/campaigns/splits.schemas.js';
import { request } from '../http';

export type SplitResults = Static<typeof SplitResultsAnswer>;
export type Split = Static<typeof SplitResult>;
export type SplitVariant = Split['variants'][number];
export type SplitMetric = 'open' | 'click' | 'conversion';

export const splitKeys = { results: (campaignId: string) => ['campaigns', campaignId, 'splits'] as const };

export const splitApi = {
  results: (campaignId: string) => request<SplitResults>('GET', `/campaigns/${campaignId}/splits`),
  pick: (campaignId: string, nodeId: string, variant: string) => request<Split>('POST', `/campaigns/${campaignId}/splits/${encodeURIComponent(nodeId)}/winner`, { variant }),
  clear: (campaignId: string, nodeId: string) => request<Split>('DELETE', `/campaigns/${campaignId}/splits/${encodeURIComponent(nodeId)}/winner`),
};
