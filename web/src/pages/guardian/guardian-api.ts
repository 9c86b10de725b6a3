/** The Guardian core API for the web pages (types from the server's leaf schema module). */
import type { AlertView, HealthSeriesView, RuleInput, RulePatchInput, RuleView } from '../../../../src/guardian/guardian.schemas';
import { query, request } from '../../api';

export type { AlertView, HealthSeriesView, RuleInput, RuleView };

export interface SignalInfo {
  key: string;
  label: string;
  unit: 'percent' | 'count' | 'seconds';
  family: string;
  volume: string | null;
  windowed: boolean;
  scopeKeys: string[];
  description: string;
}

export interface AlertEventView {
  id: number;
  kind: 'fired' | 'refired' | 'acknowledged' | 'resolved' | 'auto_resolved';
  value: number | null;
  volume: number | null;
  actorId: string | null;
  at: string;
  fanOut: boolean;
}

export interface GuardianMe {
  role: 'guardian_admin' | 'analyst' | 'viewer';
  workspaceRole: string;
  overridden: boolean;
  capabilities: string[];
}

const id = (value: string): string => encodeURIComponent(value);

export const guardianApi = {
  me: () => request<GuardianMe>('GET', '/guardian/me'),
  signals: () => request<{ signals: SignalInfo[] }>('GET', '/guardian/signals'),
  rules: () => request<{ rules: RuleView[] }>('GET', '/guardian/rules'),
  rule: (ruleId: string) => request<RuleView>('GET', `/guardian/rules/${id(ruleId)}`),
  createRule: (input: RuleInput) => request<RuleView>('POST', '/guardian/rules', input),
  updateRule: (ruleId: string, patch: RulePatchInput) => request<RuleView>('PATCH', `/guardian/rules/${id(ruleId)}`, patch),
  deleteRule: (ruleId: string) => request<void>('DELETE', `/guardian/rules/${id(ruleId)}`),
  alerts: (params: { status?: string; severity?: string; signal?: string; before?: string; limit?: number }) =>
    request<{ alerts: AlertView[]; nextBefore: string | null }>('GET', `/guardian/alerts${query(params)}`),
  alert: (alertId: string) => request<{ alert: AlertView; timeline: AlertEventView[] }>('GET', `/guardian/alerts/${id(alertId)}`),
  acknowledge: (alertId: string) => request<AlertView>('POST', `/guardian/alerts/${id(alertId)}/acknowledge`),
  resolve: (alertId: string) => request<AlertView>('POST', `/guardian/alerts/${id(alertId)}/resolve`),
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
