/**
 * Digests: per channel, a daily or weekly summary at an hour of the workspace's time zone — sends,
 * bounce and complaint rates, alerts fired and resolved, the top campaigns by sends. A due channel
 * (next_digest_at <= now) is claimed with FOR UPDATE SKIP LOCKED; its digest delivery is inserted
 * and next_digest_at moved on in that one transaction, so each digest is made once whatever the
 * number of processes, and delivered through the same path as alerts (delivery.ts).
 */
import type { Database, Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import { CHANNEL_COLUMNS, getChannelRow, toChannelView, type ChannelRow } from './channels.js';
import { workspaceTimeZone } from '../core/workspace.js';
import type { ChannelView, DigestInput } from './channels.schemas.js';
import { nextDigestAt } from './digest-schedule.js';
import { GUARDIAN_DELIVERY_CHANNEL } from './fanout.js';
import type { DigestPayload } from './render.js';

const DAY_MS = 86_400_000;

export async function setDigest(deps: { db: Database; clock: Clock }, workspaceId: string, actor: Actor, channelId: string, input: DigestInput): Promise<ChannelView> {
  if (input.frequency !== null && input.hour === undefined) throw new AppError('VALIDATION_FAILED', 'Say at which hour the digest is sent (0–23)', { field: 'hour' });
  if (input.frequency === 'weekly' && input.weekday === undefined) throw new AppError('VALIDATION_FAILED', 'Say on which weekday the weekly digest is sent (0 = Sunday … 6 = Saturday)', { field: 'weekday' });
  const zone = await workspaceTimeZone(deps.db, workspaceId);
  const row = await deps.db.transaction(async (tx) => {
    const before = await getChannelRow(tx, workspaceId, channelId);
    const schedule = input.frequency === null ? null : { frequency: input.frequency, hour: input.hour!, weekday: input.frequency === 'weekly' ? input.weekday! : null };
    const next = schedule ? nextDigestAt(schedule, deps.clock.now(), zone) : null;
    const { rows } = await tx.query<ChannelRow>(
      `UPDATE guardian_channels SET digest_frequency = $3, digest_hour = $4, digest_weekday = $5, next_digest_at = $6, updated_at = $7
        WHERE workspace_id = $1 AND id = $2 RETURNING ${CHANNEL_COLUMNS}`,
      [workspaceId, channelId, schedule?.frequency ?? null, schedule?.hour ?? null, schedule?.weekday ?? null, next, deps.clock.now()],
    );
    await recordAudit(tx, {
      workspaceId,
      actor,
      action: 'guardian.channel.digest',
      resourceType: 'guardian_channel',
      resourceId: channelId,
      before: { frequency: before.digest_frequency, hour: before.digest_hour, weekday: before.digest_weekday },
      after: schedule ?? { frequency: null },
    });
    return rows[0]!;
  });
  return toChannelView(row, zone);
}

/** The digest's figures over [from, to). */
export async function digestFigures(q: Queryable, workspaceId: string, from: Date, to: Date): Promise<Omit<DigestPayload, 'type' | 'at' | 'link' | 'frequency'>> {
  const { rows } = await q.query<{ sends: number; bounces: number; complaints: number; fired: number; resolved: number }>(
    `SELECT (SELECT count(*) FROM messages WHERE workspace_id = $1 AND status = 'sent' AND sent_at >= $2 AND sent_at < $3)::integer AS sends,
            (SELECT count(*) FROM events WHERE workspace_id = $1 AND type = 'email' AND name = 'bounced' AND occurred_at >= $2 AND occurred_at < $3)::integer AS bounces,
            (SELECT count(*) FROM events WHERE workspace_id = $1 AND type = 'email' AND name = 'complained' AND occurred_at >= $2 AND occurred_at < $3)::integer AS complaints,
            (SELECT count(*) FROM guardian_alert_events WHERE workspace_id = $1 AND kind = 'fired' AND at >= $2 AND at < $3)::integer AS fired,
            (SELECT count(*) FROM guardian_alert_events WHERE workspace_id = $1 AND kind IN ('resolved', 'auto_resolved') AND at >= $2 AND at < $3)::integer AS resolved`,
    [workspaceId, from, to],
  );
  const top = await q.query<{ id: string; name: string; sends: number }>(
    `SELECT c.id, c.name, count(*)::integer AS sends
       FROM messages m JOIN campaigns c ON c.workspace_id = m.workspace_id AND c.id::text = m.source_id
      WHERE m.workspace_id = $1 AND m.source_type = 'campaign' AND m.status = 'sent' AND m.sent_at >= $2 AND m.sent_at < $3
      GROUP BY c.id, c.name ORDER BY sends DESC, c.name LIMIT 5`,
    [workspaceId, from, to],
  );
  const f = rows[0]!;
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    sends: f.sends,
    bounces: f.bounces,
    complaints: f.complaints,
    bounceRate: f.sends > 0 ? f.bounces / f.sends : null,
    complaintRate: f.sends > 0 ? f.complaints / f.sends : null,
    alertsFired: f.fired,
    alertsResolved: f.resolved,
    topCampaigns: top.rows,
  };
}

/** Makes the digests that are due (one batch); returns how many. */
export async function makeDueDigests(deps: { db: Database; clock: Clock; publicUrl: string }, limit = 50): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const due = await tx.query<ChannelRow & { last_digest_at: Date | null }>(
      `SELECT ${CHANNEL_COLUMNS}, last_digest_at FROM guardian_channels
        WHERE next_digest_at IS NOT NULL AND next_digest_at <= $1 ORDER BY next_digest_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    for (const channel of due.rows) {
      const zone = await workspaceTimeZone(tx, channel.workspace_id);
      const frequency = channel.digest_frequency!;
      const to = new Date(channel.next_digest_at!);
      const from = new Date(to.getTime() - (frequency === 'daily' ? DAY_MS : 7 * DAY_MS));
      const payload: DigestPayload = { type: 'digest', at: now.toISOString(), link: `${deps.publicUrl}/guardian`, frequency, ...(await digestFigures(tx, channel.workspace_id, from, to)) };
      await tx.query(
        `INSERT INTO guardian_deliveries (workspace_id, channel_id, channel_kind, channel_name, purpose, payload, status, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, 'digest', $5, 'pending', $6, $6)`,
        [channel.workspace_id, channel.id, channel.kind, channel.name, JSON.stringify(payload), now],
      );
      // The next one after now: a process that was down for days sends one digest, not a backlog.
      const next = nextDigestAt({ frequency, hour: channel.digest_hour!, weekday: channel.digest_weekday }, now, zone);
      await tx.query('UPDATE guardian_channels SET next_digest_at = $2, last_digest_at = $3 WHERE id = $1', [channel.id, next, now]);
    }
    if (due.rows.length > 0) await tx.query('SELECT pg_notify($1, $2)', [GUARDIAN_DELIVERY_CHANNEL, '']);
    return due.rows.length;
  });
}
