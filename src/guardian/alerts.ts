/**
 * Guardian alerts (incidents): list with filters, one alert with its timeline, acknowledge,
 * resolve — always within one workspace. Every change is a row in guardian_alert_events (the
 * timeline and the notification outbox: fan_out = true asks the notifier to tell the rule's
 * channels) and an audit entry. Opening, folding and auto-resolving is the evaluator's
 * (evaluator.ts).
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { GUARDIAN_DELIVERY_CHANNEL } from './fanout.js';
import type { AlertFilters, AlertView } from './guardian.schemas.js';
import type { GuardianDeps } from './rules.js';

export type AlertEventKind = 'fired' | 'refired' | 'acknowledged' | 'resolved' | 'auto_resolved';

interface AlertRow {
  id: string;
  rule_id: string | null;
  rule_name: string;
  signal: string;
  scope: Record<string, unknown>;
  severity: AlertView['severity'];
  status: AlertView['status'];
  comparison: AlertView['comparison'];
  threshold: number;
  value: number;
  volume: number | null;
  peak_value: number;
  fire_count: number;
  opened_at: Date;
  last_fired_at: Date;
  last_notified_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
}

const COLUMNS = `id, rule_id, rule_name, signal, scope, severity, status, comparison, threshold, value, volume, peak_value, fire_count,
  opened_at, last_fired_at, last_notified_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function alertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    signal: row.signal,
    scope: row.scope,
    severity: row.severity,
    status: row.status,
    comparison: row.comparison,
    threshold: row.threshold,
    value: row.value,
    volume: row.volume,
    peakValue: row.peak_value,
    fireCount: row.fire_count,
    openedAt: row.opened_at.toISOString(),
    lastFiredAt: row.last_fired_at.toISOString(),
    lastNotifiedAt: iso(row.last_notified_at),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: iso(row.resolved_at),
    resolvedBy: row.resolved_by,
  };
}

export interface AlertEventInput {
  workspaceId: string;
  alertId: string;
  kind: AlertEventKind;
  value: number | null;
  volume: number | null;
  actorId: string | null;
  at: Date;
  /** Whether the rule's channels must hear of it (the notifier's outbox). */
  fanOut: boolean;
}

export async function insertAlertEvent(q: Queryable, e: AlertEventInput): Promise<void> {
  await q.query(
    `INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, volume, actor_id, at, fan_out) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [e.workspaceId, e.alertId, e.kind, e.value, e.volume, e.actorId, e.at, e.fanOut],
  );
  // Delivered at commit: the notifier fans the event out at once instead of at its next poll.
  if (e.fanOut) await q.query('SELECT pg_notify($1, $2)', [GUARDIAN_DELIVERY_CHANNEL, '']);
}

/** A user actor's id for the *_by columns (API keys are not users; the audit log names them). */
const userOf = (actor: Actor): string | null => (actor.type === 'user' ? actor.id : null);

export async function listAlerts(q: Queryable, workspaceId: string, filters: AlertFilters): Promise<{ alerts: AlertView[]; nextBefore: string | null }> {
  const limit = filters.limit ?? 50;
  const status = filters.status === 'open' ? null : (filters.status ?? null);
  // name: guardian-alert-list — guardian_alerts_workspace_idx (workspace_id, opened_at DESC).
  const { rows } = await q.query<AlertRow>(
    `SELECT ${COLUMNS} FROM guardian_alerts
      WHERE workspace_id = $1
        AND ($2::text IS NULL OR status = $2) AND ($3::boolean IS FALSE OR status <> 'resolved')
        AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR signal = $5)
        AND ($6::timestamptz IS NULL OR opened_at >= $6) AND ($7::timestamptz IS NULL OR opened_at < $7)
        AND ($8::timestamptz IS NULL OR opened_at < $8)
      ORDER BY opened_at DESC, id DESC LIMIT $9`,
    [workspaceId, status, filters.status === 'open', filters.severity ?? null, filters.signal ?? null, filters.from ?? null, filters.to ?? null, filters.before ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return { alerts: page.map(alertView), nextBefore: rows.length > limit ? page[page.length - 1]!.opened_at.toISOString() : null };
}

export async function getAlert(q: Queryable, workspaceId: string, id: string) {
  const { rows } = await q.query<AlertRow>(`SELECT ${COLUMNS} FROM guardian_alerts WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  if (!rows[0]) throw notFound('Alert');
  const events = await q.query<{ id: string; kind: AlertEventKind; value: number | null; volume: number | null; actor_id: string | null; at: Date; fan_out: boolean }>(
    `SELECT id, kind, value, volume, actor_id, at, fan_out FROM guardian_alert_events WHERE workspace_id = $1 AND alert_id = $2 ORDER BY id`,
    [workspaceId, id],
  );
  return {
    alert: alertView(rows[0]),
    timeline: events.rows.map((e) => ({ id: Number(e.id), kind: e.kind, value: e.value, volume: e.volume, actorId: e.actor_id, at: e.at.toISOString(), fanOut: e.fan_out })),
  };
}

async function lockAlert(q: Queryable, workspaceId: string, id: string): Promise<AlertRow> {
  const { rows } = await q.query<AlertRow>(`SELECT ${COLUMNS} FROM guardian_alerts WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, [workspaceId, id]);
  if (!rows[0]) throw notFound('Alert');
  return rows[0];
}

/** firing → acknowledged (acknowledging an acknowledged alert changes nothing). */
export async function acknowledgeAlert(deps: GuardianDeps, workspaceId: string, actor: Actor, id: string): Promise<AlertView> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const alert = await lockAlert(tx, workspaceId, id);
    if (alert.status === 'resolved') throw new AppError('ALERT_RESOLVED', 'This alert is already resolved');
    if (alert.status === 'acknowledged') return alertView(alert);
    const { rows } = await tx.query<AlertRow>(
      `UPDATE guardian_alerts SET status = 'acknowledged', acknowledged_at = $3, acknowledged_by = $4 WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [workspaceId, id, now, userOf(actor)],
    );
    await insertAlertEvent(tx, { workspaceId, alertId: id, kind: 'acknowledged', value: null, volume: null, actorId: userOf(actor), at: now, fanOut: false });
    await recordAudit(tx, { workspaceId, actor, action: 'guardian_alert.acknowledge', resourceType: 'guardian_alert', resourceId: id, before: { status: alert.status }, after: { status: 'acknowledged' } });
    return alertView(rows[0]!);
  });
}

async function resolveLocked(tx: Queryable, workspaceId: string, alert: AlertRow, actor: Actor, now: Date): Promise<AlertRow> {
  const { rows } = await tx.query<AlertRow>(
    `UPDATE guardian_alerts SET status = 'resolved', resolved_at = $3, resolved_by = $4 WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [workspaceId, alert.id, now, userOf(actor)],
  );
  // A resolution by hand is news for whoever was told the alert fired.
  await insertAlertEvent(tx, { workspaceId, alertId: alert.id, kind: 'resolved', value: null, volume: null, actorId: userOf(actor), at: now, fanOut: true });
  await recordAudit(tx, { workspaceId, actor, action: 'guardian_alert.resolve', resourceType: 'guardian_alert', resourceId: alert.id, before: { status: alert.status }, after: { status: 'resolved' } });
  return rows[0]!;
}

/** firing or acknowledged → resolved, by a person; the rule may open a new alert at its next evaluation. */
export async function resolveAlert(deps: GuardianDeps, workspaceId: string, actor: Actor, id: string): Promise<AlertView> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const alert = await lockAlert(tx, workspaceId, id);
    if (alert.status === 'resolved') throw new AppError('ALERT_RESOLVED', 'This alert is already resolved');
    return alertView(await resolveLocked(tx, workspaceId, alert, actor, now));
  });
}

/** Resolves the open alert of a rule being disabled or deleted (inside the caller's transaction). */
export async function resolveOpenAlertOfRule(tx: Queryable, workspaceId: string, ruleId: string, actor: Actor, now: Date): Promise<void> {
  const { rows } = await tx.query<AlertRow>(`SELECT ${COLUMNS} FROM guardian_alerts WHERE workspace_id = $1 AND rule_id = $2 AND status <> 'resolved' FOR UPDATE`, [workspaceId, ruleId]);
  if (rows[0]) await resolveLocked(tx, workspaceId, rows[0], actor, now);
}
