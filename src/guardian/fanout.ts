/**
 * Fan-out: alert events in the notification outbox (`fan_out AND fanned_out_at IS NULL`, written by
 * the evaluator) become one delivery per channel of the alert's rule. A batch of events is claimed
 * with FOR UPDATE SKIP LOCKED, and its deliveries are inserted and `fanned_out_at` set in that one
 * transaction, so an event is fanned out once whatever the number of processes. A channel the rule
 * names that no longer exists (deleted while the alert fired) or is disabled gets a delivery
 * logged `failed` with the reason, not a crash and not silence.
 */
import type { Database } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import type { AlertPayload } from './render.js';

export const GUARDIAN_DELIVERY_CHANNEL = 'guardian_deliveries_pending';

export interface FanOutDeps {
  db: Database;
  clock: Clock;
  publicUrl: string;
}

interface EventRow {
  id: string;
  workspace_id: string;
  alert_id: string;
  kind: AlertPayload['event'];
  value: number | null;
  volume: number | null;
  at: Date;
  rule_name: string;
  signal: string;
  scope: Record<string, unknown>;
  severity: string;
  status: string;
  comparison: string;
  threshold: number;
  alert_value: number;
  alert_volume: number | null;
  opened_at: Date;
  channel_ids: string[] | null;
}

export function alertLink(publicUrl: string, alertId: string): string {
  return `${publicUrl}/guardian/alerts/${alertId}`;
}

/** Fans out one batch of outbox events; returns how many events it took. */
export async function fanOutAlertEvents(deps: FanOutDeps, limit = 200): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const events = await tx.query<EventRow>(
      `SELECT e.id::text AS id, e.workspace_id, e.alert_id, e.kind, e.value, e.volume, e.at,
              a.rule_name, a.signal, a.scope, a.severity, a.status, a.comparison, a.threshold, a.value AS alert_value, a.volume AS alert_volume, a.opened_at,
              r.channel_ids
         FROM guardian_alert_events e
         JOIN guardian_alerts a ON a.id = e.alert_id
         LEFT JOIN guardian_rules r ON r.id = a.rule_id
        WHERE e.fan_out AND e.fanned_out_at IS NULL
        ORDER BY e.id
        LIMIT $1
          FOR UPDATE OF e SKIP LOCKED`,
      [limit],
    );
    if (events.rows.length === 0) return 0;
    const now = deps.clock.now();
    const deliveries = events.rows.flatMap((e) => {
      const payload: AlertPayload = {
        type: 'alert',
        event: e.kind,
        at: new Date(e.at).toISOString(),
        link: alertLink(deps.publicUrl, e.alert_id),
        alert: {
          id: e.alert_id,
          ruleName: e.rule_name,
          signal: e.signal,
          scope: e.scope,
          severity: e.severity,
          status: e.status,
          comparison: e.comparison,
          threshold: e.threshold,
          value: e.value ?? e.alert_value,
          volume: e.volume ?? e.alert_volume,
          openedAt: new Date(e.opened_at).toISOString(),
        },
      };
      return [...new Set(e.channel_ids ?? [])].map((channelId) => ({ workspace_id: e.workspace_id, channel_id: channelId, alert_id: e.alert_id, alert_event_id: Number(e.id), payload }));
    });
    if (deliveries.length > 0) {
      // The channel as it is now: missing (deleted, or another workspace's) or disabled → failed at once.
      await tx.query(
        `INSERT INTO guardian_deliveries (workspace_id, channel_id, channel_kind, channel_name, purpose, alert_id, alert_event_id, payload, status, next_attempt_at, last_error, created_at, failed_at)
         SELECT d.workspace_id, d.channel_id, c.kind, c.name, 'alert', d.alert_id, d.alert_event_id, d.payload,
                CASE WHEN c.id IS NULL OR NOT c.enabled THEN 'failed' ELSE 'pending' END, $2,
                CASE WHEN c.id IS NULL THEN 'the channel was deleted before this alert was sent' WHEN NOT c.enabled THEN 'the channel is disabled' END,
                $2, CASE WHEN c.id IS NULL OR NOT c.enabled THEN $2::timestamptz END
           FROM jsonb_to_recordset($1::jsonb) AS d(workspace_id uuid, channel_id uuid, alert_id uuid, alert_event_id bigint, payload jsonb)
           LEFT JOIN guardian_channels c ON c.id = d.channel_id AND c.workspace_id = d.workspace_id
         ON CONFLICT (alert_event_id, channel_id) WHERE alert_event_id IS NOT NULL DO NOTHING`,
        [JSON.stringify(deliveries), now],
      );
      await tx.query('SELECT pg_notify($1, $2)', [GUARDIAN_DELIVERY_CHANNEL, '']);
    }
    await tx.query('UPDATE guardian_alert_events SET fanned_out_at = $2 WHERE id = ANY($1::bigint[])', [events.rows.map((e) => e.id), now]);
    return events.rows.length;
  });
}
