/**
 * Campaign statistics: the campaign list's numbers per row (all-time sends, open, click and
 * conversion rates, active enrollments, a 14-day sparkline of sends) and the per-split-variant
 * counts the A/B results read. From the rollups (rollup.ts) plus the live enrollments.
 */
import type { Queryable } from '../db/database.js';
import { workspaceTimeZone } from '../core/workspace.js';
import { notFound } from '../http/errors.js';
import type { CampaignStatsRowView, SplitStatsView, VariantsView } from './analytics.schemas.js';
import { addDays, countsOf, localDate, metricsOf } from './counts.js';
import { readCounts, type CountRow } from './rollup.js';

const LIST_METRICS = ['sent', 'opened', 'opened_any', 'clicked', 'clicked_any', 'enrolled', 'converted'];
const SPARK_DAYS = 14;

function groupBy<K>(rows: CountRow[], key: (r: CountRow) => K): Map<K, CountRow[]> {
  const out = new Map<K, CountRow[]>();
  for (const r of rows) {
    const list = out.get(key(r));
    if (list) list.push(r);
    else out.set(key(r), [r]);
  }
  return out;
}
export { groupBy };

/** Every campaign of the workspace (or only the active ones) with its numbers, newest first. */
export async function campaignStats(q: Queryable, workspaceId: string, now: Date, options: { onlyActive?: boolean; includeMachineOpens?: boolean } = {}): Promise<CampaignStatsRowView[]> {
  const campaigns = await q.query<{ id: string; name: string; status: string; current_version: number | null; updated_at: Date }>(
    `SELECT id, name, status, current_version, updated_at FROM campaigns
      WHERE workspace_id = $1 AND ($2::boolean IS NOT TRUE OR status = 'active') AND status <> 'archived'
      ORDER BY created_at DESC LIMIT 500`,
    [workspaceId, options.onlyActive ?? false],
  );
  if (campaigns.rows.length === 0) return [];
  const ids = campaigns.rows.map((c) => c.id);
  const timeZone = await workspaceTimeZone(q, workspaceId);
  const today = localDate(now, timeZone);
  const first = addDays(today, -(SPARK_DAYS - 1));
  const bounds = await q.query<{ from_at: Date; to_at: Date }>(`SELECT ($1::date::timestamp AT TIME ZONE $3) AS from_at, (($2::date + 1)::timestamp AT TIME ZONE $3) AS to_at`, [first, today, timeZone]);
  const [totals, spark, active] = await Promise.all([
    readCounts(q, workspaceId, { level: { kind: 'campaigns' }, timeZone, by: ['campaign'], metrics: LIST_METRICS }),
    readCounts(q, workspaceId, { level: { kind: 'campaigns' }, from: new Date(bounds.rows[0]!.from_at), to: new Date(bounds.rows[0]!.to_at), days: { from: first, to: today }, timeZone, by: ['campaign', 'day'], metrics: ['sent'] }),
    // name: active-enrollments — enrollments_campaign_node_idx, an index range per campaign.
    q.query<{ campaign_id: string; n: string }>(`SELECT campaign_id, count(*) AS n FROM enrollments WHERE campaign_id = ANY($1::uuid[]) AND status = 'active' GROUP BY 1`, [ids]),
  ]);
  const byCampaign = groupBy(totals, (r) => r.campaign);
  const sparkBy = groupBy(spark, (r) => r.campaign);
  const activeBy = new Map(active.rows.map((r) => [r.campaign_id, Number(r.n)]));
  const days: string[] = [];
  for (let d = first; d <= today; d = addDays(d, 1)) days.push(d);
  return campaigns.rows.map((c) => {
    const counts = countsOf(metricsOf(byCampaign.get(c.id) ?? []), options.includeMachineOpens ?? false);
    const perDay = new Map((sparkBy.get(c.id) ?? []).map((r) => [r.at, r.n]));
    return {
      id: c.id,
      name: c.name,
      status: c.status,
      currentVersion: c.current_version,
      updatedAt: new Date(c.updated_at).toISOString(),
      sent: counts.sent,
      opened: counts.opened,
      clicked: counts.clicked,
      openRate: counts.openRate,
      clickRate: counts.clickRate,
      enrolled: counts.enrolled,
      converted: counts.converted,
      conversionRate: counts.conversionRate,
      activeEnrollments: activeBy.get(c.id) ?? 0,
      sparkline: days.map((at) => ({ at, sent: perDay.get(at) ?? 0 })),
    };
  });
}

interface SplitNode {
  id: string;
  type: string;
  config?: unknown;
}

/**
 * Per split node and variant (all time): enrollments the split sent that way (`assigned`), and
 * the emails, opens, clicks and goal conversions of those enrollments after the split. Variants of
 * the current definition are listed even before anyone took them.
 */
export async function variantStats(q: Queryable, workspaceId: string, campaignId: string, nodes: SplitNode[], includeMachineOpens: boolean): Promise<SplitStatsView[]> {
  const rows = await readCounts(q, workspaceId, {
    level: { kind: 'detail', campaignId },
    timeZone: 'UTC',
    by: ['split', 'variant', 'node'],
    metrics: ['step_completed', 'sent', 'delivered', 'opened', 'opened_any', 'clicked', 'clicked_any', 'replied', 'bounced', 'complained', 'unsubscribed', 'machine_opens', 'converted', 'convert_seconds'],
  });
  const splits = new Map<string, Map<string, { weight: number | null; rows: CountRow[]; assigned: number }>>();
  const variantOf = (split: string, variant: string) => {
    let s = splits.get(split);
    if (!s) splits.set(split, (s = new Map()));
    let v = s.get(variant);
    if (!v) s.set(variant, (v = { weight: null, rows: [], assigned: 0 }));
    return v;
  };
  for (const node of nodes) {
    if (node.type !== 'split') continue;
    const variants = (node.config as { variants?: Array<{ id: string; weight: number }> } | undefined)?.variants ?? [];
    for (const v of variants) variantOf(node.id, v.id).weight = v.weight;
  }
  for (const r of rows) {
    if (!r.split) continue;
    const v = variantOf(r.split, r.variant);
    // A split's own step is the assignment; the rest are what the variant's enrollments did later.
    if (r.metric === 'step_completed') {
      if (r.node === r.split) v.assigned += r.n;
    } else v.rows.push(r);
  }
  return [...splits.entries()].map(([nodeId, variants]) => ({
    nodeId,
    variants: [...variants.entries()].map(([variant, v]) => {
      const counts = countsOf(metricsOf(v.rows), includeMachineOpens);
      // Per variant the conversion rate is per enrollment the split assigned.
      return { variant, weight: v.weight, assigned: v.assigned, ...counts, enrolled: v.assigned, conversionRate: v.assigned > 0 ? counts.converted / v.assigned : null };
    }),
  }));
}

/** The campaign list's answer: the rows and the time zone their sparkline days are in. */
export async function campaignList(q: Queryable, workspaceId: string, now: Date, includeMachineOpens: boolean): Promise<{ timeZone: string; campaigns: CampaignStatsRowView[] }> {
  return { timeZone: await workspaceTimeZone(q, workspaceId), campaigns: await campaignStats(q, workspaceId, now, { includeMachineOpens }) };
}

/** The per-variant counts of one campaign (the split nodes of its current version, or its draft). */
export async function campaignVariants(q: Queryable, workspaceId: string, campaignId: string, includeMachineOpens: boolean): Promise<VariantsView> {
  const found = await q.query<{ definition: { nodes: SplitNode[] } }>(
    `SELECT coalesce(v.definition, c.draft_definition) AS definition
       FROM campaigns c LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version
      WHERE c.workspace_id = $1 AND c.id = $2`,
    [workspaceId, campaignId],
  );
  const row = found.rows[0];
  if (!row) throw notFound('Campaign');
  return { campaignId, includeMachineOpens, splits: await variantStats(q, workspaceId, campaignId, row.definition.nodes, includeMachineOpens) };
}
