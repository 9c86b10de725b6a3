/**
 * The alert moves of one evaluated batch of rules, set-based: given each rule's reading and its
 * open alert (if any), decide open / fold / auto-resolve in memory, then write them with a fixed
 * number of statements whatever the batch size — one INSERT of new alerts, one UPDATE of folded
 * alerts, one UPDATE of resolved alerts, one INSERT of their timeline rows (and one NOTIFY for the
 * notifier when any of them is to be fanned out). The evaluator (evaluator.ts) calls this inside
 * its batch transaction, under the claimed rules' row locks, and falls back to the per-rule path
 * (`applyOne`, one savepoint each) when the set-based statements fail, so one bad rule never costs
 * the batch.
 */
import type { Queryable } from '../db/database.js';
import { insertAlertEvent, type AlertEventKind } from './alerts.js';
import { GUARDIAN_DELIVERY_CHANNEL } from './fanout.js';
import type { SignalReading } from './signals.js';

/** The rule columns the evaluator claims (a subset of RULE_COLUMNS). */
export const EVAL_RULE_COLUMNS = 'r.id, r.workspace_id, r.name, r.signal, r.scope, r.comparison, r.threshold, r.window_seconds, r.min_volume, r.severity, r.cooldown_seconds';

export interface EvalRule {
  id: string;
  workspace_id: string;
  name: string;
  signal: string;
  scope: Record<string, unknown>;
  comparison: '>' | '>=' | '<' | '<=';
  threshold: number;
  window_seconds: number;
  min_volume: number;
  severity: string;
  cooldown_seconds: number;
}

export interface OpenAlert {
  id: string;
  rule_id: string;
  status: 'firing' | 'acknowledged';
  peak_value: number;
  last_notified_at: Date | null;
}

export type Move =
  | { kind: 'open'; rule: EvalRule; reading: SignalReading }
  | { kind: 'fold'; rule: EvalRule; alert: OpenAlert; reading: SignalReading; peak: number; notify: boolean }
  | { kind: 'resolve'; rule: EvalRule; alert: OpenAlert; reading: SignalReading };

export function holds(comparison: EvalRule['comparison'], value: number, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** Whether a rule's reading fires it: enough volume, a value, and the comparison true. */
export function firing(rule: Pick<EvalRule, 'signal' | 'comparison' | 'threshold' | 'min_volume'>, reading: SignalReading): boolean {
  if (reading.value === null) return false;
  if (reading.volume !== null && reading.volume < rule.min_volume) return false;
  return holds(rule.comparison, reading.value, rule.threshold);
}

/** What the reading does to the rule's alert, or null (quiet and nothing open). */
export function decide(rule: EvalRule, reading: SignalReading, alert: OpenAlert | undefined, now: Date): Move | null {
  const fires = firing(rule, reading);
  if (fires && !alert) return { kind: 'open', rule, reading };
  if (fires && alert) {
    const value = reading.value!;
    // "Worse" follows the comparison: the highest value for > and >=, the lowest for < and <=.
    const peak = rule.comparison === '>' || rule.comparison === '>=' ? Math.max(alert.peak_value, value) : Math.min(alert.peak_value, value);
    const cooledDown = alert.last_notified_at === null || now.getTime() - alert.last_notified_at.getTime() >= rule.cooldown_seconds * 1000;
    return { kind: 'fold', rule, alert, reading, peak, notify: alert.status === 'firing' && cooledDown };
  }
  if (alert) return { kind: 'resolve', rule, alert, reading };
  return null;
}

interface EventRow {
  workspaceId: string;
  alertId: string;
  kind: AlertEventKind;
  value: number | null;
  volume: number | null;
  fanOut: boolean;
}

/** Writes every move of a batch with four statements (plus a NOTIFY). */
export async function applyMoves(tx: Queryable, moves: Move[], now: Date): Promise<void> {
  if (moves.length === 0) return;
  const events: EventRow[] = [];
  const opens = moves.filter((m) => m.kind === 'open');
  if (opens.length > 0) {
    // name: guardian-open-alerts-batch — one row per rule; guardian_alerts_open_rule keeps it one open alert per rule.
    const { rows } = await tx.query<{ id: string; rule_id: string }>(
      `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, scope, severity, status, comparison, threshold, value, volume, peak_value,
                                    fire_count, opened_at, last_fired_at, last_notified_at)
       SELECT u.w, u.r, u.name, u.signal, u.scope, u.severity, 'firing', u.comparison, u.threshold, u.value, u.volume, u.value, 1, $9, $9, $9
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::float8[], $10::float8[], $11::float8[])
              AS u(w, r, name, signal, scope, severity, comparison, threshold, value, volume)
       RETURNING id, rule_id`,
      [
        opens.map((m) => m.rule.workspace_id),
        opens.map((m) => m.rule.id),
        opens.map((m) => m.rule.name),
        opens.map((m) => m.rule.signal),
        opens.map((m) => JSON.stringify(m.rule.scope)),
        opens.map((m) => m.rule.severity),
        opens.map((m) => m.rule.comparison),
        opens.map((m) => m.rule.threshold),
        now,
        opens.map((m) => m.reading.value),
        opens.map((m) => m.reading.volume),
      ],
    );
    const alertOfRule = new Map(rows.map((r) => [r.rule_id, r.id]));
    for (const m of opens) events.push({ workspaceId: m.rule.workspace_id, alertId: alertOfRule.get(m.rule.id)!, kind: 'fired', value: m.reading.value, volume: m.reading.volume, fanOut: true });
  }
  const folds = moves.filter((m) => m.kind === 'fold');
  if (folds.length > 0) {
    await tx.query(
      `UPDATE guardian_alerts a SET fire_count = a.fire_count + 1, value = u.value, volume = u.volume, peak_value = u.peak, last_fired_at = $1,
              last_notified_at = CASE WHEN u.notify THEN $1 ELSE a.last_notified_at END
         FROM unnest($2::uuid[], $3::float8[], $4::float8[], $5::float8[], $6::boolean[]) AS u(id, value, volume, peak, notify)
        WHERE a.id = u.id`,
      [now, folds.map((m) => m.alert.id), folds.map((m) => m.reading.value), folds.map((m) => m.reading.volume), folds.map((m) => m.peak), folds.map((m) => m.notify)],
    );
    for (const m of folds) events.push({ workspaceId: m.rule.workspace_id, alertId: m.alert.id, kind: 'refired', value: m.reading.value, volume: m.reading.volume, fanOut: m.notify });
  }
  const resolves = moves.filter((m) => m.kind === 'resolve');
  if (resolves.length > 0) {
    await tx.query(`UPDATE guardian_alerts SET status = 'resolved', resolved_at = $1, resolved_by = NULL WHERE id = ANY($2::uuid[])`, [now, resolves.map((m) => m.alert.id)]);
    for (const m of resolves) events.push({ workspaceId: m.rule.workspace_id, alertId: m.alert.id, kind: 'auto_resolved', value: m.reading.value, volume: m.reading.volume, fanOut: true });
  }
  await tx.query(
    `INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, volume, actor_id, at, fan_out)
     SELECT u.w, u.a, u.kind, u.value, u.volume, NULL, $1, u.fan_out
       FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::float8[], $6::float8[], $7::boolean[]) WITH ORDINALITY AS u(w, a, kind, value, volume, fan_out, n)
      ORDER BY u.n`,
    [now, events.map((e) => e.workspaceId), events.map((e) => e.alertId), events.map((e) => e.kind), events.map((e) => e.value), events.map((e) => e.volume), events.map((e) => e.fanOut)],
  );
  // Delivered at commit: the notifier fans out at once instead of at its next poll.
  if (events.some((e) => e.fanOut)) await tx.query('SELECT pg_notify($1, $2)', [GUARDIAN_DELIVERY_CHANNEL, '']);
}

/** One move with one statement per row (the fallback when the batch statements fail). */
export async function applyOne(tx: Queryable, move: Move, now: Date): Promise<void> {
  const { rule, reading } = move;
  if (move.kind === 'open') {
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, scope, severity, status, comparison, threshold, value, volume, peak_value,
                                    fire_count, opened_at, last_fired_at, last_notified_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'firing', $7, $8, $9, $10, $9, 1, $11, $11, $11) RETURNING id`,
      [rule.workspace_id, rule.id, rule.name, rule.signal, JSON.stringify(rule.scope), rule.severity, rule.comparison, rule.threshold, reading.value, reading.volume, now],
    );
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: rows[0]!.id, kind: 'fired', value: reading.value, volume: reading.volume, actorId: null, at: now, fanOut: true });
  } else if (move.kind === 'fold') {
    await tx.query(
      `UPDATE guardian_alerts SET fire_count = fire_count + 1, value = $2, volume = $3, peak_value = $4, last_fired_at = $5,
              last_notified_at = CASE WHEN $6 THEN $5 ELSE last_notified_at END
        WHERE id = $1`,
      [move.alert.id, reading.value, reading.volume, move.peak, now, move.notify],
    );
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: move.alert.id, kind: 'refired', value: reading.value, volume: reading.volume, actorId: null, at: now, fanOut: move.notify });
  } else {
    await tx.query(`UPDATE guardian_alerts SET status = 'resolved', resolved_at = $2, resolved_by = NULL WHERE id = $1`, [move.alert.id, now]);
    await insertAlertEvent(tx, { workspaceId: rule.workspace_id, alertId: move.alert.id, kind: 'auto_resolved', value: reading.value, volume: reading.volume, actorId: null, at: now, fanOut: true });
  }
}
