/**
 * A/B split winners: the automatic test (its rows created at publish, evaluated inside the engine
 * worker's tick by the injected clock, claimed with FOR UPDATE SKIP LOCKED so two workers never
 * look twice), and the winner picked or cleared by hand. Every decision is written to the audit
 * log — the campaign's timeline — with its sentence ("Variant B won on click rate: 8.1 % vs
 * 4.0 %, p = 0.003, after 2,400 contacts"). The engine reads winner_variant (engine.ts).
 */
import type { Database, Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { recordAudit, SYSTEM_ACTOR, type Actor } from '../identity/audit.js';
import { evaluateLook, formatPValue, formatRate, MAX_LOOKS } from './ab-stats.js';
import type { CampaignDeps } from './campaign-rows.js';
import type { AutoWinnerValue, CampaignDefinition, DefinitionNode, SplitMetric } from './definition.js';
import { campaignSplitResults, currentDefinition, splitCounts, splitNodesOf, successesOf, type SplitCounts } from './split-results.js';
import type { SplitDecisionValue, SplitResultValue } from './splits.schemas.js';
import { loadCampaignRow } from './campaign-rows.js';

type SplitNode = Extract<DefinitionNode, { type: 'split' }>;

export const DEFAULT_ALPHA = 0.05;

/** How often a running test is looked at again (the looks themselves are set by the sample). */
export const SPLIT_RECHECK_MS = 60_000;

const METRIC_LABEL: Record<SplitMetric, string> = { open: 'open rate', click: 'click rate', conversion: 'conversion rate' };

export function variantLabel(id: string): string {
  return `Variant ${id.length <= 2 ? id.toUpperCase() : id}`;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** Called by publish in its transaction: a running test for each split node with autoWinner that has none yet. */
export async function syncSplitTests(tx: Queryable, workspaceId: string, campaignId: string, definition: CampaignDefinition, now: Date): Promise<void> {
  const nodes = splitNodesOf(definition).filter((n) => n.config.autoWinner);
  if (nodes.length === 0) return;
  // A test already decided, inconclusive or cleared keeps its state: its looks were spent.
  await tx.query(
    `INSERT INTO split_tests (workspace_id, campaign_id, node_id, status, next_check_at, created_at, updated_at)
     SELECT $1, $2, node_id, 'running', $4, $4, $4 FROM unnest($3::text[]) AS node_id
     ON CONFLICT (campaign_id, node_id) DO NOTHING`,
    [workspaceId, campaignId, nodes.map((n) => n.id), now],
  );
}

interface Ranked {
  id: string;
  rate: number;
  trials: number;
}

function ranked(node: SplitNode, counts: SplitCounts, metric: SplitMetric): Ranked[] {
  return node.config.variants
    .map((v) => {
      const c = counts.variants.get(v.id);
      const trials = c?.assigned ?? 0;
      return { id: v.id, trials, rate: c && trials > 0 ? successesOf(c, metric) / trials : 0 };
    })
    .sort((a, b) => b.rate - a.rate);
}

function sampleOf(counts: SplitCounts): number {
  let n = 0;
  for (const c of counts.variants.values()) n += c.assigned;
  return n;
}

/**
 * Runs the looks that are due: claims running tests whose next_check_at has come (SKIP LOCKED:
 * a second worker takes others or none), takes a look when the minimum sample and time allow,
 * and records a winner, an inconclusive end, or the look. Returns the number of tests examined.
 */
export async function evaluateDueSplitTests(db: Database, now: Date, limit = 20): Promise<number> {
  return db.transaction(async (tx) => {
    // name: claimDueSplitTests — split_tests_due_idx gives running rows in due order.
    const due = await tx.query<{ workspace_id: string; campaign_id: string; node_id: string; looks: number; alpha_spent: number }>(
      `SELECT workspace_id, campaign_id, node_id, looks, alpha_spent FROM split_tests
        WHERE status = 'running' AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    for (const row of due.rows) await evaluateOne(tx, row, now);
    return due.rows.length;
  });
}

async function evaluateOne(tx: Queryable, row: { workspace_id: string; campaign_id: string; node_id: string; looks: number; alpha_spent: number }, now: Date): Promise<void> {
  const { workspace_id: workspaceId, campaign_id: campaignId, node_id: nodeId } = row;
  const definition = await currentDefinition(tx, workspaceId, campaignId);
  const node = splitNodesOf(definition).find((n) => n.id === nodeId);
  const config = node?.config.autoWinner;
  if (!node || !config) {
    // The current version dropped the node or its automatic test: stop looking.
    const decision: SplitDecisionValue = { metric: null, summary: 'The automatic test was turned off in a newer version', pValue: null, sample: 0 };
    await tx.query(`UPDATE split_tests SET status = 'cleared', next_check_at = NULL, decision = $3, updated_at = $4 WHERE campaign_id = $1 AND node_id = $2`, [campaignId, nodeId, JSON.stringify(decision), now]);
    return;
  }
  const next = new Date(now.getTime() + SPLIT_RECHECK_MS);
  // Variants of weight 0 get no contacts and take no part in the test.
  const tested = node.config.variants.filter((v) => v.weight > 0);
  // The per-variant rollups (a few rows): read every minute while the test runs.
  const counts = await splitCounts(tx, workspaceId, campaignId, nodeId);
  const oldEnough = counts.startedAt !== null && now.getTime() - counts.startedAt.getTime() >= config.minHours * 3_600_000;
  const largeEnough = tested.every((v) => (counts.variants.get(v.id)?.assigned ?? 0) >= (row.looks + 1) * config.minSamplePerVariant);
  const look =
    oldEnough && largeEnough
    ? evaluateLook({
        variants: tested.map((v) => {
          const c = counts.variants.get(v.id);
          return { id: v.id, trials: c?.assigned ?? 0, successes: c ? successesOf(c, config.metric) : 0 };
        }),
        alpha: config.alpha ?? DEFAULT_ALPHA,
        minSamplePerVariant: config.minSamplePerVariant,
        looksDone: row.looks,
      })
    : ({ kind: 'wait' } as const);
  if (look.kind === 'wait') {
    await tx.query('UPDATE split_tests SET next_check_at = $3, updated_at = $4 WHERE campaign_id = $1 AND node_id = $2', [campaignId, nodeId, next, now]);
    return;
  }
  const sample = sampleOf(counts);
  const order = ranked({ ...node, config: { ...node.config, variants: tested } }, counts, config.metric);
  const [first, second] = [order[0]!, order[1]!];
  const label = METRIC_LABEL[config.metric];
  const threshold = look.alphaSpent / (tested.length - 1);
  const spent = row.alpha_spent + look.alphaSpent;
  if (look.winner) {
    const summary = `${variantLabel(look.winner)} won on ${label}: ${formatRate(first.rate)} vs ${formatRate(second.rate)}, ${formatPValue(look.pValue)}, after ${count(sample)} contacts`;
    const decision: SplitDecisionValue = { metric: config.metric, summary, pValue: look.pValue, sample };
    await tx.query(
      `UPDATE split_tests SET status = 'decided', winner_variant = $3, decided_by = 'auto', decided_at = $4, looks = $5, alpha_spent = $6, decision = $7, next_check_at = NULL, updated_at = $4
        WHERE campaign_id = $1 AND node_id = $2`,
      [campaignId, nodeId, look.winner, now, look.look, spent, JSON.stringify(decision)],
    );
    await recordAudit(tx, { workspaceId, actor: SYSTEM_ACTOR, action: 'campaign.split_winner', resourceType: 'campaign', resourceId: campaignId, after: { nodeId, variant: look.winner, decidedBy: 'auto', look: look.look, threshold, ...decision } });
    return;
  }
  const standing = look.leader ? `${variantLabel(look.leader)} leads on ${label}, ${formatRate(first.rate)} vs ${formatRate(second.rate)}` : `No variant leads on ${label} (${formatRate(first.rate)} each)`;
  if (look.final) {
    const summary = `No winner on ${label} after ${MAX_LOOKS} looks: ${standing}, ${formatPValue(look.pValue)} (needed < ${threshold.toPrecision(2)}), ${count(sample)} contacts`;
    const decision: SplitDecisionValue = { metric: config.metric, summary, pValue: look.pValue, sample };
    await tx.query(`UPDATE split_tests SET status = 'inconclusive', looks = $3, alpha_spent = $4, decision = $5, next_check_at = NULL, updated_at = $6 WHERE campaign_id = $1 AND node_id = $2`, [
      campaignId,
      nodeId,
      look.look,
      spent,
      JSON.stringify(decision),
      now,
    ]);
    await recordAudit(tx, { workspaceId, actor: SYSTEM_ACTOR, action: 'campaign.split_inconclusive', resourceType: 'campaign', resourceId: campaignId, after: { nodeId, look: look.look, ...decision } });
    return;
  }
  const nextSample = count((look.look + 1) * config.minSamplePerVariant);
  const summary = `Look ${look.look} of ${MAX_LOOKS}: ${standing}, ${formatPValue(look.pValue)} (needs < ${threshold.toPrecision(2)}); next look at ${nextSample} contacts per variant`;
  const decision: SplitDecisionValue = { metric: config.metric, summary, pValue: look.pValue, sample };
  await tx.query(`UPDATE split_tests SET looks = $3, alpha_spent = $4, decision = $5, next_check_at = $6, updated_at = $7 WHERE campaign_id = $1 AND node_id = $2`, [
    campaignId,
    nodeId,
    look.look,
    spent,
    JSON.stringify(decision),
    next,
    now,
  ]);
}

async function splitNodeOf(tx: Queryable, workspaceId: string, campaignId: string, nodeId: string): Promise<{ node: SplitNode; config: AutoWinnerValue | undefined; definition: CampaignDefinition }> {
  const definition = await currentDefinition(tx, workspaceId, campaignId);
  const node = splitNodesOf(definition).find((n) => n.id === nodeId);
  if (!node || !definition) throw new AppError('SPLIT_NOT_FOUND', `The published campaign has no A/B split "${nodeId}"`);
  return { node, config: node.config.autoWinner, definition };
}

async function resultOf(q: Queryable, workspaceId: string, campaignId: string, nodeId: string): Promise<SplitResultValue> {
  const all = await campaignSplitResults(q, workspaceId, campaignId);
  return all.splits.find((s) => s.nodeId === nodeId)!;
}

/**
 * Picks a winner by hand: from now on later contacts reaching the split go to it (those assigned
 * before keep their variant). Stops the automatic test of the node.
 */
export async function pickSplitWinner(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, nodeId: string, variant: string): Promise<SplitResultValue> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await loadCampaignRow(tx, workspaceId, campaignId, true);
    const { node, config } = await splitNodeOf(tx, workspaceId, campaignId, nodeId);
    if (!node.config.variants.some((v) => v.id === variant)) {
      throw new AppError('SPLIT_VARIANT_UNKNOWN', `The split "${nodeId}" has no variant "${variant}"`, { variants: node.config.variants.map((v) => v.id) });
    }
    const counts = await splitCounts(tx, workspaceId, campaignId, nodeId);
    const metric = config?.metric ?? 'click';
    const mine = counts.variants.get(variant);
    const others = ranked(node, counts, metric).filter((r) => r.id !== variant);
    const rate = mine && mine.assigned > 0 ? successesOf(mine, metric) / mine.assigned : 0;
    const sample = sampleOf(counts);
    const compare = others[0] ? `: ${METRIC_LABEL[metric]} ${formatRate(rate)} vs ${formatRate(others[0].rate)}` : '';
    const decision: SplitDecisionValue = { metric, summary: `${variantLabel(variant)} picked by hand${compare}, after ${count(sample)} contacts`, pValue: null, sample };
    const before = await tx.query<{ winner_variant: string | null; status: string }>('SELECT winner_variant, status FROM split_tests WHERE campaign_id = $1 AND node_id = $2', [campaignId, nodeId]);
    await tx.query(
      `INSERT INTO split_tests (workspace_id, campaign_id, node_id, status, winner_variant, decided_by, decided_at, decision, created_at, updated_at)
       VALUES ($1, $2, $3, 'decided', $4, 'manual', $5, $6, $5, $5)
       ON CONFLICT (campaign_id, node_id) DO UPDATE SET status = 'decided', winner_variant = $4, decided_by = 'manual', decided_at = $5, decision = $6, next_check_at = NULL, updated_at = $5`,
      [workspaceId, campaignId, nodeId, variant, now, JSON.stringify(decision)],
    );
    await recordAudit(tx, {
      workspaceId,
      actor,
      action: 'campaign.split_winner',
      resourceType: 'campaign',
      resourceId: campaignId,
      before: before.rows[0] ? { nodeId, variant: before.rows[0].winner_variant, status: before.rows[0].status } : { nodeId, variant: null },
      after: { nodeId, variant, decidedBy: 'manual', ...decision },
    });
    return resultOf(tx, workspaceId, campaignId, nodeId);
  });
}

/**
 * Clears the winner: later contacts are split by weight again. The automatic test does not look
 * again (it would spend α a second time); publishing does not restart it either.
 */
export async function clearSplitWinner(deps: CampaignDeps, workspaceId: string, actor: Actor, campaignId: string, nodeId: string): Promise<SplitResultValue> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await loadCampaignRow(tx, workspaceId, campaignId, true);
    await splitNodeOf(tx, workspaceId, campaignId, nodeId);
    const before = await tx.query<{ winner_variant: string | null }>('SELECT winner_variant FROM split_tests WHERE campaign_id = $1 AND node_id = $2 FOR UPDATE', [campaignId, nodeId]);
    const previous = before.rows[0]?.winner_variant ?? null;
    if (previous === null) throw new AppError('SPLIT_NO_WINNER', `The split "${nodeId}" has no winner to clear`);
    const decision: SplitDecisionValue = { metric: null, summary: `${variantLabel(previous)} cleared as winner by hand; contacts are split by weight again`, pValue: null, sample: 0 };
    await tx.query(
      `UPDATE split_tests SET status = 'cleared', winner_variant = NULL, decided_by = NULL, decided_at = NULL, decision = $3, next_check_at = NULL, updated_at = $4 WHERE campaign_id = $1 AND node_id = $2`,
      [campaignId, nodeId, JSON.stringify(decision), now],
    );
    await recordAudit(tx, { workspaceId, actor, action: 'campaign.split_winner_cleared', resourceType: 'campaign', resourceId: campaignId, before: { nodeId, variant: previous }, after: { nodeId, variant: null } });
    return resultOf(tx, workspaceId, campaignId, nodeId);
  });
}
