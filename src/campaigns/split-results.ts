/**
 * Per-variant results of a campaign's A/B splits, computed from the raw rows the engine and the
 * tracking links write: a split step (enrollment_steps, outcome completed, handle = the variant)
 * assigns an enrollment; the emails of that enrollment's later steps (their idempotency keys)
 * are its sends; human opens and clicks of those messages (events whose machineOpen is not true)
 * and the enrollment's goal exit are its outcomes. Rates are per contact assigned, with Wilson
 * 95 % intervals (ab-stats.ts). Reads only; the decision is in split-tests.ts.
 */
import type { Queryable } from '../db/database.js';
import { MAX_LOOKS, wilson } from './ab-stats.js';
import type { CampaignDefinition, DefinitionNode, SplitMetric } from './definition.js';
import type { SplitDecisionValue, SplitResultValue, SplitResultsAnswerValue, VariantResultValue } from './splits.schemas.js';
import { loadCampaignRow } from './campaign-rows.js';

export interface VariantCounts {
  variant: string;
  assigned: number;
  sends: number;
  opened: number;
  clicked: number;
  converted: number;
}

export interface SplitCounts {
  variants: Map<string, VariantCounts>;
  /** When the first contact reached the split (the test's start). */
  startedAt: Date | null;
}

/**
 * name: splitVariantCounts — one statement per split node. The first split step of each
 * enrollment at the node (enrollment_steps_campaign_node_idx) is its assignment; its sends are the
 * campaign's messages (messages_source_idx, hash-joined by the enrollment id in their idempotency
 * key `enrollment:<id>:node:<nodeId>`) of the email nodes reachable from the split; engagement
 * events are found per contact (events_contact_idx) and matched by properties.messageId.
 */
export async function splitCounts(q: Queryable, workspaceId: string, campaignId: string, nodeId: string, emailNodeIds: readonly string[]): Promise<SplitCounts> {
  const result = await q.query<{ variant: string; assigned: number; sends: number; opened: number; clicked: number; converted: number; started_at: Date | null }>(
    `WITH assigned AS (
       SELECT DISTINCT ON (s.enrollment_id) s.enrollment_id, s.handle AS variant, s.at
         FROM enrollment_steps s
        WHERE s.campaign_id = $2 AND s.node_id = $3 AND s.workspace_id = $1 AND s.outcome = 'completed' AND s.handle IS NOT NULL
        ORDER BY s.enrollment_id, s.id
     ), campaign_messages AS MATERIALIZED (
       -- Materialized so the enrollment id is parsed once per message, then hash-joined.
       SELECT m.id AS message_id, m.contact_id, m.status, substring(m.idempotency_key FROM 12 FOR 36)::uuid AS enrollment_id
         FROM messages m
        WHERE m.workspace_id = $1 AND m.source_type = 'campaign' AND m.source_id = $2::text
          AND m.idempotency_key ~ '^enrollment:[0-9a-f-]{36}:node:' AND split_part(m.idempotency_key, ':node:', 2) = ANY($4::text[])
     ), sent AS (
       SELECT a.enrollment_id, m.message_id, m.contact_id, m.status FROM campaign_messages m JOIN assigned a ON a.enrollment_id = m.enrollment_id
     ), engaged AS (
       SELECT x.enrollment_id, bool_or(ev.name = 'opened') AS opened, bool_or(ev.name = 'clicked') AS clicked
         FROM sent x
         JOIN events ev ON ev.workspace_id = $1 AND ev.contact_id = x.contact_id AND ev.type = 'email' AND ev.name IN ('opened', 'clicked')
                       AND ev.properties->>'messageId' = x.message_id::text AND COALESCE(ev.properties->>'machineOpen', 'false') <> 'true'
        GROUP BY x.enrollment_id
     ), sends AS (
       SELECT enrollment_id, count(*) FILTER (WHERE status = 'sent') AS n FROM sent GROUP BY enrollment_id
     )
     SELECT a.variant, count(*)::int AS assigned, COALESCE(sum(sends.n), 0)::int AS sends,
            count(*) FILTER (WHERE engaged.opened)::int AS opened, count(*) FILTER (WHERE engaged.clicked)::int AS clicked,
            count(*) FILTER (WHERE e.exit_reason = 'goal')::int AS converted, min(a.at) AS started_at
       FROM assigned a
       JOIN enrollments e ON e.id = a.enrollment_id
       LEFT JOIN sends ON sends.enrollment_id = a.enrollment_id
       LEFT JOIN engaged ON engaged.enrollment_id = a.enrollment_id
      GROUP BY a.variant`,
    [workspaceId, campaignId, nodeId, emailNodeIds],
  );
  const variants = new Map<string, VariantCounts>();
  let startedAt: Date | null = null;
  for (const r of result.rows) {
    variants.set(r.variant, { variant: r.variant, assigned: r.assigned, sends: r.sends, opened: r.opened, clicked: r.clicked, converted: r.converted });
    if (r.started_at && (!startedAt || r.started_at < startedAt)) startedAt = r.started_at;
  }
  return { variants, startedAt };
}

/**
 * name: splitAssignmentCounts — journey rows per variant at the split and the first one's time,
 * from enrollment_steps_campaign_node_idx alone: what the evaluator checks every minute before it
 * pays for a full count (a look happens at most four times per test).
 */
export async function splitAssignmentCounts(q: Queryable, workspaceId: string, campaignId: string, nodeId: string): Promise<{ perVariant: Map<string, number>; startedAt: Date | null }> {
  const result = await q.query<{ variant: string; n: number; started_at: Date }>(
    `SELECT handle AS variant, count(*)::int AS n, min(at) AS started_at FROM enrollment_steps
      WHERE campaign_id = $2 AND node_id = $3 AND workspace_id = $1 AND outcome = 'completed' AND handle IS NOT NULL GROUP BY handle`,
    [workspaceId, campaignId, nodeId],
  );
  let startedAt: Date | null = null;
  for (const r of result.rows) if (!startedAt || r.started_at < startedAt) startedAt = r.started_at;
  return { perVariant: new Map(result.rows.map((r) => [r.variant, r.n])), startedAt };
}

/** The email nodes a contact can reach from the split (their sends count for its variants). */
export function emailNodesAfter(definition: CampaignDefinition, splitNodeId: string): string[] {
  const types = new Map(definition.nodes.map((n) => [n.id, n.type]));
  const seen = new Set<string>([splitNodeId]);
  const queue = definition.edges.filter((e) => e.from === splitNodeId).map((e) => e.to);
  const emails: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (types.get(id) === 'email') emails.push(id);
    for (const e of definition.edges) if (e.from === id) queue.push(e.to);
  }
  return emails;
}

/** The successes of a metric in a variant's counts. */
export function successesOf(counts: VariantCounts, metric: SplitMetric): number {
  return metric === 'open' ? counts.opened : metric === 'click' ? counts.clicked : counts.converted;
}

const EMPTY = (variant: string): VariantCounts => ({ variant, assigned: 0, sends: 0, opened: 0, clicked: 0, converted: 0 });

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
    const counts = await splitCounts(q, workspaceId, campaignId, node.id, definition ? emailNodesAfter(definition, node.id) : []);
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
