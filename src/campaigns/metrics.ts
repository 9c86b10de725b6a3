/**
 * A campaign's metrics: per node (entered, completed, waiting, failed, from the journey log and
 * the enrollments' current nodes), per email node (delivery and engagement), enrollments by
 * status, and goal conversions.
 */
import { readCounts } from '../analytics/rollup.js';
import type { Queryable } from '../db/database.js';
import type { EnrollmentStatus } from './campaign-rows.js';

export interface NodeMetrics {
  entered: number;
  completed: number;
  waiting: number;
  failed: number;
}

export interface EmailMetrics {
  queued: number;
  sent: number;
  failed: number;
  suppressed: number;
  delivered: number;
  opened: number;
  clicked: number;
  replied: number;
  bounced: number;
  unsubscribed: number;
}

/** Rollup metrics (src/analytics/rollup.ts) of the email engagement counts, by their name here. */
const ENGAGEMENT: Record<string, 'delivered' | 'opened' | 'clicked' | 'replied' | 'bounced' | 'unsubscribed'> = {
  delivered: 'delivered',
  opened_any: 'opened',
  clicked_any: 'clicked',
  replied: 'replied',
  bounced: 'bounced',
  unsubscribed: 'unsubscribed',
};

/**
 * Per-node counts computed from the journey log (finished steps) and the enrollments' current
 * nodes (waiting or failed there): entered = completed + waiting + failed.
 */
export async function campaignMetrics(
  q: Queryable,
  workspaceId: string,
  campaignId: string,
): Promise<{ nodes: Record<string, NodeMetrics>; emails: Record<string, EmailMetrics>; enrollments: Record<EnrollmentStatus, number>; conversions: number }> {
  const nodes: Record<string, NodeMetrics> = {};
  const at = (id: string): NodeMetrics => (nodes[id] ??= { entered: 0, completed: 0, waiting: 0, failed: 0 });
  const done = await q.query<{ node_id: string; n: number }>(
    `SELECT node_id, count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1 AND workspace_id = $2 AND outcome IN ('completed', 'skipped') GROUP BY node_id`,
    [campaignId, workspaceId],
  );
  for (const r of done.rows) at(r.node_id).completed += r.n;
  const current = await q.query<{ current_node_id: string; status: EnrollmentStatus; n: number }>(
    `SELECT current_node_id, status, count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND workspace_id = $2 AND status IN ('active', 'paused', 'failed') GROUP BY current_node_id, status`,
    [campaignId, workspaceId],
  );
  const totals = await q.query<{ status: EnrollmentStatus; goal: boolean; n: number }>(
    `SELECT status, exit_reason = 'goal' AS goal, count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND workspace_id = $2 GROUP BY 1, 2`,
    [campaignId, workspaceId],
  );
  const enrollments: Record<EnrollmentStatus, number> = { active: 0, paused: 0, completed: 0, exited: 0, failed: 0 };
  let conversions = 0;
  for (const r of totals.rows) {
    enrollments[r.status] += r.n;
    if (r.goal) conversions += r.n;
  }
  for (const r of current.rows) {
    if (r.status === 'active' || r.status === 'paused') at(r.current_node_id).waiting += r.n;
    else at(r.current_node_id).failed += r.n;
  }
  for (const m of Object.values(nodes)) m.entered = m.completed + m.waiting + m.failed;

  const emails: Record<string, EmailMetrics> = {};
  const messageRows = await q.query<{ node_id: string; status: string; n: number }>(
    `SELECT split_part(idempotency_key, ':node:', 2) AS node_id, status, count(*)::int AS n
       FROM messages WHERE workspace_id = $1 AND source_type = 'campaign' AND source_id = $2
      GROUP BY 1, 2`,
    [workspaceId, campaignId],
  );
  const email = (id: string): EmailMetrics =>
    (emails[id] ??= { queued: 0, sent: 0, failed: 0, suppressed: 0, delivered: 0, opened: 0, clicked: 0, replied: 0, bounced: 0, unsubscribed: 0 });
  for (const r of messageRows.rows) {
    const m = email(r.node_id);
    if (r.status === 'queued' || r.status === 'sending') m.queued += r.n;
    else if (r.status === 'sent') m.sent += r.n;
    else if (r.status === 'failed') m.failed += r.n;
    else if (r.status === 'suppressed') m.suppressed += r.n;
  }
  // Engagement: each message counts once per kind (the first 'opened' of a message, machine opens
  // included, and so on), as the analytics rollups count it when the event is recorded
  // (migration 109: analytics_message_firsts), read from the rollups plus the ledger not yet
  // folded, so an event counts as soon as it is committed. Reading the events themselves cost a
  // scan of the workspace's email events on every opening of the campaign (docs/load.md).
  const engagement = await readCounts(q, workspaceId, { level: { kind: 'detail', campaignId }, timeZone: 'UTC', by: ['node'], metrics: Object.keys(ENGAGEMENT) });
  for (const r of engagement) email(r.node)[ENGAGEMENT[r.metric]!] += r.n;
  return { nodes, emails, enrollments, conversions };
}
