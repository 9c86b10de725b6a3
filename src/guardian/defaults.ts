/**
 * The rules every workspace starts with (docs/guardian.md#default-rules), created at sign-up in
 * the transaction that creates the workspace. Migration 098 created the same list for the
 * workspaces that existed before it: keep the two identical.
 */
import type { Queryable } from '../db/database.js';
import type { SignalKey } from './signal-catalog.schemas.js';

export interface DefaultRule {
  key: string;
  name: string;
  signal: SignalKey;
  comparison: '>' | '>=' | '<' | '<=';
  threshold: number;
  windowSeconds: number;
  minVolume: number;
  severity: 'low' | 'medium' | 'high' | 'critical';
  cooldownSeconds: number;
}

export const DEFAULT_RULES: readonly DefaultRule[] = [
  { key: 'bounce_rate', name: 'Bounce rate above 5 %', signal: 'bounce_rate', comparison: '>', threshold: 5, windowSeconds: 3600, minVolume: 100, severity: 'high', cooldownSeconds: 3600 },
  { key: 'complaint_rate', name: 'Complaint rate above 0.1 % (bulk-sender line)', signal: 'complaint_rate', comparison: '>', threshold: 0.1, windowSeconds: 86_400, minVolume: 1000, severity: 'critical', cooldownSeconds: 3600 },
  { key: 'engine_lag', name: 'Campaign steps running late', signal: 'engine_lag', comparison: '>', threshold: 300, windowSeconds: 300, minVolume: 0, severity: 'high', cooldownSeconds: 3600 },
  { key: 'outbox_age', name: 'Outbox waiting too long', signal: 'outbox_age', comparison: '>', threshold: 600, windowSeconds: 300, minVolume: 0, severity: 'high', cooldownSeconds: 3600 },
  { key: 'worker_heartbeat', name: 'A worker stopped reporting', signal: 'worker_heartbeat', comparison: '>', threshold: 120, windowSeconds: 300, minVolume: 0, severity: 'critical', cooldownSeconds: 3600 },
  { key: 'provider_circuit_open', name: "A provider's circuit is open", signal: 'provider_circuit_open', comparison: '>=', threshold: 1, windowSeconds: 300, minVolume: 0, severity: 'high', cooldownSeconds: 3600 },
  { key: 'ai_budget_spent', name: 'AI budget nearly spent', signal: 'ai_budget_spent', comparison: '>=', threshold: 80, windowSeconds: 3600, minVolume: 0, severity: 'medium', cooldownSeconds: 86_400 },
];

/** Creates the default rules of a workspace (idempotent: a default already there is kept). */
export async function createDefaultRules(q: Queryable, workspaceId: string, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, min_volume, severity, cooldown_seconds, default_key, next_eval_at, created_at, updated_at)
     SELECT $1, d.name, d.signal, d.comparison, d.threshold, d.window_seconds, d.min_volume, d.severity, d.cooldown_seconds, d.key, $2, $2, $2
       FROM jsonb_to_recordset($3::jsonb) AS d(key text, name text, signal text, comparison text, threshold float8, window_seconds int, min_volume int, severity text, cooldown_seconds int)
     ON CONFLICT DO NOTHING`,
    [workspaceId, now, JSON.stringify(DEFAULT_RULES.map((r) => ({ key: r.key, name: r.name, signal: r.signal, comparison: r.comparison, threshold: r.threshold, window_seconds: r.windowSeconds, min_volume: r.minVolume, severity: r.severity, cooldown_seconds: r.cooldownSeconds })))],
  );
}
