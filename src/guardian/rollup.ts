/**
 * Emails sent per workspace, hour and campaign (guardian_send_hours, migration 098), so a rule over
 * a long window reads at most ~2 hours of messages plus one row per hour instead of a day's or a
 * month's messages every minute. An hour is rolled up once it closed at least 5 minutes ago (a
 * message marked sent later than that with an earlier sent_at would be missed by the rollup; the
 * sender stamps sent_at as it commits). The evaluator rolls up before evaluating; one process does
 * it at a time (the watermark row is claimed with SKIP LOCKED).
 */
import type { Database, Queryable } from '../db/database.js';

const HOUR = 3_600_000;
export const ROLLUP_DELAY_MS = 5 * 60_000;
/** The longest rule window: the first rollup starts this far back. */
const MAX_HISTORY_MS = 30 * 86_400_000;

export const floorHour = (ms: number): number => Math.floor(ms / HOUR) * HOUR;
export const ceilHour = (ms: number): number => Math.ceil(ms / HOUR) * HOUR;

/** Rolls up the closed hours not rolled up yet; returns the watermark afterwards. */
export async function rollUpSends(db: Database, now: Date): Promise<Date | null> {
  const target = new Date(floorHour(now.getTime() - ROLLUP_DELAY_MS));
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ rolled_until: Date | null }>(`SELECT rolled_until FROM guardian_rollup_watermark WHERE name = 'send_hours' FOR UPDATE SKIP LOCKED`);
    // Another process is rolling up right now: use what is there.
    if (rows.length === 0) return readWatermark(tx);
    const from = rows[0]!.rolled_until ?? new Date(floorHour(now.getTime() - MAX_HISTORY_MS));
    if (from.getTime() >= target.getTime()) return from;
    // name: guardian-rollup — messages_sent_at_idx per workspace over the hours being closed.
    await tx.query(
      `INSERT INTO guardian_send_hours (workspace_id, hour, campaign_id, sends)
       SELECT w.id, date_trunc('hour', m.sent_at), CASE WHEN m.source_type = 'campaign' THEN coalesce(m.source_id, '') ELSE '' END, count(*)
         FROM workspaces w JOIN messages m ON m.workspace_id = w.id AND m.sent_at IS NOT NULL AND m.sent_at >= $1 AND m.sent_at < $2
        GROUP BY 1, 2, 3
       ON CONFLICT (workspace_id, hour, campaign_id) DO UPDATE SET sends = EXCLUDED.sends`,
      [from, target],
    );
    await tx.query(`UPDATE guardian_rollup_watermark SET rolled_until = $1 WHERE name = 'send_hours'`, [target]);
    await tx.query(`DELETE FROM guardian_send_hours WHERE hour < $1`, [new Date(floorHour(now.getTime() - MAX_HISTORY_MS) - HOUR)]);
    return target;
  });
}

export async function readWatermark(q: Queryable): Promise<Date | null> {
  const { rows } = await q.query<{ rolled_until: Date | null }>(`SELECT rolled_until FROM guardian_rollup_watermark WHERE name = 'send_hours'`);
  return rows[0]?.rolled_until ?? null;
}

/**
 * How a window [from, to] splits: messages in [from, fullStart) and [rolledEnd, to], rollup hours
 * in [fullStart, rolledEnd). With nothing rolled up in the window, rolledEnd = fullStart and the
 * two message ranges cover it all.
 */
export function splitWindow(fromMs: number, toMs: number, watermark: Date | null): { fullStart: Date; rolledEnd: Date } {
  const fullStart = Math.min(ceilHour(fromMs), toMs);
  const rolled = watermark ? Math.min(watermark.getTime(), floorHour(toMs)) : fullStart;
  return { fullStart: new Date(fullStart), rolledEnd: new Date(Math.max(fullStart, rolled)) };
}
