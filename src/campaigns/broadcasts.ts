/**
 * Broadcasts: a published broadcast trigger enrolls every current member of its segment, once,
 * now or at its scheduled time (claimed by the engine's batch loop).
 */
import type { Queryable } from '../db/database.js';
import { ENROLLMENTS_CHANNEL } from './campaign-rows.js';
import type { CampaignDefinition } from './definition.js';

/**
 * Sends one broadcast: every current member of its segment enters the campaign version, in one
 * INSERT … SELECT under the same re-entry rule as enrollContacts, and the broadcast row becomes
 * 'done' in the same transaction — so it enrolls each member once even across crashes.
 */
export async function runBroadcast(
  q: Queryable,
  broadcast: { workspaceId: string; campaignId: string; version: number; segmentId: string },
  definition: CampaignDefinition,
  now: Date,
): Promise<number> {
  const reentry = definition.settings?.reentry ?? { mode: 'never' as const };
  const entryEvent = { id: null, type: 'system', name: 'broadcast', properties: { segmentId: broadcast.segmentId }, occurredAt: now.toISOString() };
  // name: broadcastEnrollments — segment_members' primary key (segment_id, contact_id) yields the
  // audience; the NOT EXISTS is the re-entry rule, ON CONFLICT a concurrent trigger enrollment.
  const inserted = await q.query<{ n: number }>(
    `WITH inserted AS (
       INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, entry_event, enrolled_at, updated_at)
       SELECT $1, $2, $3, m.contact_id, $4, $5, $6::jsonb, $5, $5
         FROM segment_members m
        WHERE m.segment_id = $7 AND m.workspace_id = $1
          AND NOT EXISTS (
              SELECT 1 FROM enrollments e
               WHERE e.campaign_id = $2 AND e.contact_id = m.contact_id
                 AND (e.status IN ('active', 'paused', 'failed')
                      OR $8 = 'never'
                      OR ($8 = 'after' AND e.enrolled_at > $5::timestamptz - make_interval(days => $9::int))))
       ON CONFLICT (campaign_id, contact_id) WHERE status IN ('active', 'paused', 'failed') DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM inserted`,
    [broadcast.workspaceId, broadcast.campaignId, broadcast.version, definition.entryNodeId, now, JSON.stringify(entryEvent), broadcast.segmentId, reentry.mode, reentry.days ?? 0],
  );
  const enrolled = inserted.rows[0]!.n;
  await q.query(`UPDATE campaign_broadcasts SET status = 'done', enrolled = $3, finished_at = $4 WHERE campaign_id = $1 AND version = $2`, [broadcast.campaignId, broadcast.version, enrolled, now]);
  if (enrolled > 0) await q.query('SELECT pg_notify($1, $2)', [ENROLLMENTS_CHANNEL, broadcast.campaignId]);
  return enrolled;
}

/**
 * Starts the scheduled broadcasts whose time has come, for active campaigns still on the version
 * they were published with (a paused campaign's broadcast waits for resume). Rows are claimed
 * FOR UPDATE SKIP LOCKED (campaign_broadcasts_due_idx), so two workers never send one twice.
 */
export async function runDueBroadcasts(q: Queryable, now: Date, limit = 10): Promise<number> {
  const due = await q.query<{ workspace_id: string; campaign_id: string; version: number; segment_id: string; definition: CampaignDefinition }>(
    `SELECT b.workspace_id, b.campaign_id, b.version, b.segment_id, v.definition
       FROM campaign_broadcasts b
       JOIN campaigns c ON c.id = b.campaign_id AND c.status = 'active' AND c.current_version = b.version
       JOIN campaign_versions v ON v.campaign_id = b.campaign_id AND v.version = b.version
      WHERE b.status = 'scheduled' AND b.run_at <= $1
      ORDER BY b.run_at LIMIT $2
      FOR UPDATE OF b SKIP LOCKED`,
    [now, limit],
  );
  for (const b of due.rows) await runBroadcast(q, { workspaceId: b.workspace_id, campaignId: b.campaign_id, version: b.version, segmentId: b.segment_id }, b.definition, now);
  return due.rows.length;
}
