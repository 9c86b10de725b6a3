/**
 * The campaign operations client: one function per endpoint (pause, resume, archive, duplicate,
 * publish preview and publish, migrate, audiences, enrollments, bulk exit, broadcasts, simulation,
 * journeys, frequency cap) and the TanStack Query keys and hooks the operations panels read
 * through. Shapes come from the server's schema modules via `@server/…`.
 */
import { useQuery } from '@tanstack/react-query';
import type { Static } from '@sinclair/typebox';
import type {
  AudienceAnswer,
  AudienceBody,
  BroadcastAnswer,
  BroadcastListAnswer,
  BulkExitAnswer,
  BulkExitBody,
  EnrollmentListAnswer,
  EnrollmentListQuery,
  PublishPreviewAnswer,
} from '@server/campaigns/ops.schemas.js';
import type { CampaignAnswer, FrequencyCapAnswer, JourneyAnswer, MigrateAnswer, SimulateDraftBody, SimulationAnswer } from '@server/campaigns/campaigns.schemas.js';
import { query, request } from '../../http';
import { api } from '../../api';

export type PublishPreview = Static<typeof PublishPreviewAnswer>;
export type Audience = Static<typeof AudienceBody>;
export type AudienceCount = Static<typeof AudienceAnswer>;
export type EnrollmentList = Static<typeof EnrollmentListAnswer>;
export type EnrollmentSummary = EnrollmentList['enrollments'][number];
export type EnrollmentFilter = Static<typeof EnrollmentListQuery>;
export type Broadcast = Static<typeof BroadcastListAnswer>['broadcasts'][number];
export type BroadcastList = Static<typeof BroadcastListAnswer>;
export type Simulation = Static<typeof SimulationAnswer>;
export type SimulationInput = Static<typeof SimulateDraftBody>;
export type Journey = Static<typeof JourneyAnswer>;
export type FrequencyCap = Static<typeof FrequencyCapAnswer>['frequencyCap'];
type CampaignResult = Static<typeof CampaignAnswer>;

const path = (campaignId: string, rest = '') => `/campaigns/${encodeURIComponent(campaignId)}${rest}`;

export const opsApi = {
  setStatus: (campaignId: string, action: 'pause' | 'resume' | 'archive') => request<CampaignResult>('POST', path(campaignId, `/${action}`)),
  duplicate: (campaignId: string, name?: string) => request<CampaignResult>('POST', path(campaignId, '/duplicate'), name ? { name } : {}),
  publishPreview: (campaignId: string) => request<PublishPreview>('GET', path(campaignId, '/publish-preview')),
  publish: (campaignId: string) => request<CampaignResult>('POST', path(campaignId, '/publish')),
  migrate: (campaignId: string, fromVersion: number) => request<Static<typeof MigrateAnswer>>('POST', path(campaignId, '/migrate'), { fromVersion }),
  enrollAudience: (campaignId: string, audience: Audience) => request<AudienceCount>('POST', path(campaignId, '/enroll-audience'), audience),
  enrollments: (campaignId: string, filter: EnrollmentFilter) => request<EnrollmentList>('GET', path(campaignId, `/enrollments${query({ ...filter })}`)),
  exit: (campaignId: string, body: Static<typeof BulkExitBody>) => request<Static<typeof BulkExitAnswer>>('POST', path(campaignId, '/enrollments/exit'), body),
  journey: (campaignId: string, enrollmentId: string) => request<Journey>('GET', path(campaignId, `/enrollments/${encodeURIComponent(enrollmentId)}`)),
  simulate: (campaignId: string, input: SimulationInput) => request<Simulation>('POST', path(campaignId, '/simulate'), input),
  broadcasts: (filter: { status?: Broadcast['status']; campaignId?: string } = {}) => request<BroadcastList>('GET', `/campaigns/broadcasts${query(filter)}`),
  cancelBroadcast: (campaignId: string, version: number) => request<Static<typeof BroadcastAnswer>>('POST', path(campaignId, `/broadcasts/${version}/cancel`)),
  frequencyCap: () => request<Static<typeof FrequencyCapAnswer>>('GET', '/campaigns/frequency-cap'),
  setFrequencyCap: (frequencyCap: FrequencyCap) => request<Static<typeof FrequencyCapAnswer>>('PUT', '/campaigns/frequency-cap', { frequencyCap }),
};

/** Query keys: every campaign query starts with ['campaign', id] so one invalidation refreshes them. */
export const keys = {
  campaign: (campaignId: string) => ['campaign', campaignId] as const,
  enrollments: (campaignId: string, filter: EnrollmentFilter) => ['campaign', campaignId, 'enrollments', filter] as const,
  journey: (campaignId: string, enrollmentId: string) => ['campaign', campaignId, 'journey', enrollmentId] as const,
  broadcasts: (campaignId?: string) => ['broadcasts', campaignId ?? 'all'] as const,
};

/**
 * The workspace lookups node forms choose from, cached across forms and refreshed each time a form
 * mounts: segments, templates and topics may have changed in another page meanwhile.
 */
const FRESH = { staleTime: 0 } as const;
export const useSegments = () => useQuery({ ...FRESH, queryKey: ['segments'], queryFn: () => api.segments.list().then((r) => r.segments) });
export const useTemplates = () => useQuery({ ...FRESH, queryKey: ['templates'], queryFn: () => api.templates.list().then((r) => r.templates) });
export const useMembers = () => useQuery({ ...FRESH, queryKey: ['members'], queryFn: () => api.members.list().then((r) => r.members) });
export const useTopics = () => useQuery({ ...FRESH, queryKey: ['topics'], queryFn: () => api.topics.list().then((r) => r.topics) });
/** The workspace time zone (answered with the broadcast list), for broadcast times. */
export const useWorkspaceTimeZone = () => useQuery({ queryKey: keys.broadcasts(), queryFn: () => opsApi.broadcasts(), select: (r) => r.timeZone });
