/** The Guardian core API for the web pages (types from the server's leaf schema module). */
import type { Static } from '@sinclair/typebox';
import type { AlertDetail, AlertEvent, AlertList, AlertView, GuardianMe as GuardianMeSchema, HealthSeriesView, MemberRole, MemberRoleBody, MemberRoleList, RuleInput, RuleList, RulePatchInput, RuleView, SignalInfoSchema, SignalList } from '@server/guardian/guardian.schemas.js';
import { query, request } from '../../api';

export type { AlertView, HealthSeriesView, RuleInput, RuleView };
export type SignalInfo = Static<typeof SignalInfoSchema>;
export type AlertEventView = Static<typeof AlertEvent>;
/** `GET /api/guardian/me`: the caller's Guardian role (default from the workspace role, or an owner's override). */
export type GuardianMe = Static<typeof GuardianMeSchema>;
export type GuardianRole = GuardianMe['role'];
/** A member's Guardian role as `PUT /api/guardian/members/:userId/role` answers it. */
export type MemberGuardianRole = Static<typeof MemberRole>;

const id = (value: string): string => encodeURIComponent(value);

export const guardianApi = {
  me: () => request<GuardianMe>('GET', '/guardian/me'),
  signals: () => request<Static<typeof SignalList>>('GET', '/guardian/signals'),
  rules: () => request<Static<typeof RuleList>>('GET', '/guardian/rules'),
  rule: (ruleId: string) => request<RuleView>('GET', `/guardian/rules/${id(ruleId)}`),
  createRule: (input: RuleInput) => request<RuleView>('POST', '/guardian/rules', input),
  updateRule: (ruleId: string, patch: RulePatchInput) => request<RuleView>('PATCH', `/guardian/rules/${id(ruleId)}`, patch),
  deleteRule: (ruleId: string) => request<void>('DELETE', `/guardian/rules/${id(ruleId)}`),
  alerts: (params: { status?: string; severity?: string; signal?: string; before?: string; limit?: number }) =>
    request<Static<typeof AlertList>>('GET', `/guardian/alerts${query(params)}`),
  alert: (alertId: string) => request<Static<typeof AlertDetail>>('GET', `/guardian/alerts/${id(alertId)}`),
  acknowledge: (alertId: string) => request<AlertView>('POST', `/guardian/alerts/${id(alertId)}/acknowledge`),
  resolve: (alertId: string) => request<AlertView>('POST', `/guardian/alerts/${id(alertId)}/resolve`),
  /** Every member's effective Guardian role (`overridden`: an owner set it). */
  members: () => request<Static<typeof MemberRoleList>>('GET', '/guardian/members'),
  /** Override a member's Guardian role (owners); `null` returns to the default from the workspace role. */
  setMemberRole: (userId: string, role: Static<typeof MemberRoleBody>['role']) => request<MemberGuardianRole>('PUT', `/guardian/members/${id(userId)}/role`, { role }),
  health: (range: '24h' | '7d' | '30d') => request<HealthSeriesView>('GET', `/guardian/health?range=${range}`),
};

/** A signal value in its unit, for people. */
export function formatValue(value: number | null | undefined, unit: string | undefined): string {
  if (value === null || value === undefined) return '—';
  if (unit === 'percent') return `${value.toLocaleString(undefined, { maximumFractionDigits: 3 })} %`;
  if (unit === 'seconds') return value >= 120 ? `${(value / 60).toLocaleString(undefined, { maximumFractionDigits: 1 })} min` : `${Math.round(value)} s`;
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

export function formatWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
