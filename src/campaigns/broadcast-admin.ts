/**
 * Scheduled broadcasts for the operator: the workspace's broadcasts (scheduled, sent, superseded,
 * cancelled) with their campaign, segment and its current size, and cancelling one not yet sent.
 */
import type { Static } from '@sinclair/typebox';
import type { Queryable } from '../db/database.js';
import { workspaceTimeZone } from '../core/workspace.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { CampaignDeps } from './campaign-rows.js';
import type { BroadcastListQuery, BroadcastSchema } from './ops.schemas.js';

type Broadcast = Static<typeof BroadcastSchema>;

interface BroadcastRow {
  campaign_id: string;
  campaign_name: string;
  version: number;
  segment_id: string;
  segment_name: string | null;
  segment_size: number;
  run_at: Date;
  status: Broadcast['status'];
  enrolled: number | null;
  created_at: Date;
  finished_at: Date | null;
}

const SELECT_BROADCASTS = `
  SELECT b.campaign_id, c.name AS campaign_name, b.version, b.segment_id, s.name AS segment_name,
         (SELECT count(*)::int FROM segment_members m WHERE m.segment_id = b.segment_id AND m.workspace_id = b.workspace_id) AS segment_size,
         b.run_at, b.status, b.enrolled, b.created_at, b.finished_at
    FROM campaign_broadcasts b
    JOIN campaigns c ON c.id = b.campaign_id
    LEFT JOIN segments s ON s.id = b.segment_id AND s.workspace_id = b.workspace_id`;

function toBroadcast(r: BroadcastRow): Broadcast {
  return {
    campaignId: r.campaign_id,
    campaignName: r.campaign_name,
    version: r.version,
    segmentId: r.segment_id,
    segmentName: r.segment_name,
    segmentSize: r.segment_size,
    runAt: r.run_at.toISOString(),
    status: r.status,
    enrolled: r.enrolled,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

/** The workspace's broadcasts, the next to run first among scheduled ones, then newest; at most 200. */
export async function listBroadcasts(q: Queryable, workspaceId: string, query: Static<typeof BroadcastListQuery>): Promise<{ broadcasts: Broadcast[]; timeZone: string }> {
  const params: unknown[] = [workspaceId];
  const where = ['b.workspace_id = $1'];
  if (query.status) where.push(`b.status = $${params.push(query.status)}`);
  if (query.campaignId) where.push(`b.campaign_id = $${params.push(query.campaignId)}`);
  const rows = await q.query<BroadcastRow>(`${SELECT_BROADCASTS} WHERE ${where.join(' AND ')} ORDER BY (b.status = 'scheduled') DESC, CASE WHEN b.status = 'scheduled' THEN b.run_at END ASC, b.run_at DESC LIMIT 200`, params);
  return { broadcasts: rows.rows.map(toBroadcast), timeZone: await workspaceTimeZone(q, workspaceId) };
}

/** Cancels a scheduled broadcast; one already sent, superseded or cancelled answers BROADCAST_NOT_SCHEDULED. */
export async function cancelBroadcast(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, version: number): Promise<Broadcast> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    // Locks the row, so the worker's claim (FOR UPDATE SKIP LOCKED) cannot start it meanwhile.
    const current = await tx.query<{ status: Broadcast['status'] }>('SELECT status FROM campaign_broadcasts WHERE workspace_id = $1 AND campaign_id = $2 AND version = $3 FOR UPDATE', [workspaceId, campaignId, version]);
    const row = current.rows[0];
    if (!row) throw notFound('Broadcast');
    if (row.status !== 'scheduled') throw new AppError('BROADCAST_NOT_SCHEDULED', `Only a scheduled broadcast can be cancelled; this one is ${row.status}`, { status: row.status });
    await tx.query(`UPDATE campaign_broadcasts SET status = 'cancelled', finished_at = $4 WHERE workspace_id = $1 AND campaign_id = $2 AND version = $3`, [workspaceId, campaignId, version, now]);
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.broadcast.cancel', resourceType: 'campaign', resourceId: campaignId, before: { version, status: 'scheduled' }, after: { version, status: 'cancelled' } });
    const result = await tx.query<BroadcastRow>(`${SELECT_BROADCASTS} WHERE b.workspace_id = $1 AND b.campaign_id = $2 AND b.version = $3`, [workspaceId, campaignId, version]);
    return toBroadcast(result.rows[0]!);
  });
}
