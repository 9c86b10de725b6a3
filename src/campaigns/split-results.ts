/**
 * Per-variant results of a campaign's A/B splits, read from the analytics rollups the writers'
 * triggers keep (migration 122): a split step (enrollment_steps, outcome completed, handle = the
 * variant) assigns an enrollment; the emails of that enrollment's later steps are its sends;
 * human opens and clicks of those messages (events whose machineOpen is not true) and the
 * enrollment's goal exit are its outcomes. Rates are per contact assigned, with Wilson 95 %
 * intervals (ab-stats.ts). Reads only; the decision is in split-tests.ts.
 */
import type { Queryable } from '../db/database.js';
import { MAX_LOOKS, wilson } from './ab-stats.js';
import type { CampaignDefinition, DefinitionNode, SplitMetric } from './definition.js';
import type { SplitDecisionValue, SplitResultValue, SplitResultsAnswerValue, VariantResultValue } from './splits.schemas.js';
import { loadCampaignRow } from './campaign-rows.js';
import { readCounts } from '../analytics/rollup.js';

export interface VariantCounts {
  variant: string;
  assigned: number;
  sends: number;
  opened: number;
  clicked: number;
  converted: number;
}

const EMPTY = (variant: string): VariantCounts => ({ variant, assigned: 0, sends: 0, opened: 0, clicked: 0, converted: 0 });

export interface SplitCounts {
  variants: Map<string, VariantCounts>;
  /** When the first contact reached the split (the test's start). */
  startedAt: Date | null;
}

const AB_METRICS = ['ab_assigned', 'ab_sent', 'ab_opened', 'ab_clicked', 'ab_converted'];

/**
 * name: splitVariantCounts — the per-variant rollups of one split node (migration 122: the rows of
 * analytics_totals and the ledger for the campaign, analytics_totals' primary key), and the first
 * assignment's time (analytics_split_members_start_idx, one index entry). A few dozen rows
 * whatever the number of contacts.
 */
export async function splitCounts(q: Queryable, workspaceId: string, campaignId: string, nodeId: string): Promise<SplitCounts> {
  const [rows, started] = await Promise.all([
    readCounts(q, workspaceId, { level: { kind: 'detail', campaignId }, timeZone: 'UTC', by: ['split', 'variant'], metrics: AB_METRICS }),
    q.query<{ at: Date | null }>(`SELECT min(at) AS at FROM analytics_split_members WHERE campaign_id = $1 AND split_node_id = $2 AND workspace_id = $3`, [campaignId, nodeId, workspaceId]),
  ]);
  const variants = new Map<string, VariantCounts>();
  for (const r of rows) {
    if (r.split !== nodeId || r.n === 0) continue;
    let v = variants.get(r.variant);
    if (!v) variants.set(r.variant, (v = EMPTY(r.variant)));
    if (r.metric === 'ab_assigned') v.assigned += r.n;
    else if (r.metric === 'ab_sent') v.sends += r.n;
    else if (r.metric === 'ab_opened') v.opened += r.n;
    else if (r.metric === 'ab_clicked') v.clicked += r.n;
    else if (r.metric === 'ab_converted') v.converted += r.n;
  }
  // A variant whose enrollments were all deleted has rows that sum to nothing: not listed.
  for (const [id, v] of variants) if (v.assigned === 0 && v.sends === 0) variants.delete(id);
  const at = started.rows[0]?.at;
  return { variants, startedAt: at ? new Date(at) : null };
}

/** The successes of a metric in a variant's counts. */
export function successesOf(counts: VariantCounts, metric: SplitMetric): number {
  return metric === 'open' ? counts.opened : metric === 'click' ? counts.clicked : counts.converted;
}

/** The variants of the node in the current version first (in order), then any seen only in the rows. */
export function variantResults(node: Extract<DefinitionNode, { type: 'split' }> | null, counts: SplitCounts): VariantResultValue[] {
  const ids = [...(node?.config.variants.map((v) => v.id) ?? [])];
  for (const id of counts.variants.keys()) if (!ids.includes(id)) ids.push(id);
  return ids.map((id) => {
    const c = counts.variants.get(id) ?? EMPTY(id);
    return {
      id,
      weight: node?.config.variants.find((v) => v.id === id)?.weight ?? 0,
      assigned: c.assigned,
      sends: c.sends,
      opened: c.opened,
      clicked: c.clicked,
      converted: c.converted,
      rates: { open: wilson(c.opened, c.assigned), click: wilson(c.clicked, c.assigned), conversion: wilson(c.converted, c.assigned) },
    };
  });
}

export interface SplitTestRow {
  node_id: string;
  status: 'running' | 'decided' | 'inconclusive' | 'cleared';
  looks: number;
  winner_variant: string | null;
  decided_by: 'auto' | 'manual' | null;
  decided_at: Date | null;
  /** The decision once decided, else the last look (null before the first). */
  decision: SplitDecisionValue | null;
}

/** The published definition the splits run on (the current version), or null before the first publish. */
export async function currentDefinition(q: Queryable, workspaceId: string, campaignId: string): Promise<CampaignDefinition | null> {
  const row = await loadCampaignRow(q, workspaceId, campaignId);
  if (row.current_version === null) return null;
  const version = await q.query<{ definition: CampaignDefinition }>('SELECT definition FROM campaign_versions WHERE campaign_id = $1 AND version = $2', [campaignId, row.current_version]);
  return version.rows[0]?.definition ?? null;
}

export function splitNodesOf(definition: CampaignDefinition | null): Array<Extract<DefinitionNode, { type: 'split' }>> {
  return (definition?.nodes ?? []).filter((n): n is Extract<DefinitionNode, { type: 'split' }> => n.type === 'split');
}

/** Every split node of the campaign's current version with its per-variant results, test state and winner. */
export async function campaignSplitResults(q: Queryable, workspaceId: string, campaignId: string): Promise<SplitResultsAnswerValue> {
  const definition = await currentDefinition(q, workspaceId, campaignId);
  const tests = await q.query<SplitTestRow>(
    `SELECT node_id, status, looks, winner_variant, decided_by, decided_at, decision FROM split_tests WHERE workspace_id = $1 AND campaign_id = $2`,
    [workspaceId, campaignId],
  );
  const byNode = new Map(tests.rows.map((r) => [r.node_id, r]));
  const splits: SplitResultValue[] = [];
  for (const node of definition ? splitNodesOf(definition) : []) {
    const counts = await splitCounts(q, workspaceId, campaignId, node.id);
    const test = byNode.get(node.id);
    const decision = test?.decision ?? null;
    splits.push({
      nodeId: node.id,
      name: node.name ?? null,
      variants: variantResults(node, counts),
      autoWinner: node.config.autoWinner ?? null,
      status: test?.status ?? 'off',
      looks: test?.looks ?? 0,
      maxLooks: MAX_LOOKS,
      winner:
        test?.winner_variant && test.decided_by && test.decided_at && decision
          ? { variant: test.winner_variant, decidedBy: test.decided_by, decidedAt: test.decided_at.toISOString(), decision: plainDecision(decision) }
          : null,
      lastLook: decision ? plainDecision(decision) : null,
      startedAt: counts.startedAt?.toISOString() ?? null,
    });
  }
  return { hasGoal: Boolean(definition?.settings?.goal), splits };
}

function plainDecision(d: SplitDecisionValue): SplitDecisionValue {
  return { metric: d.metric, summary: d.summary, pValue: d.pValue, sample: d.sample };
}
