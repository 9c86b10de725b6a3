/**
 * A campaign's report: the journey as a funnel (per node of the current version, in order from
 * the entry, with the share of contacts that came on from the node before), per-email outcomes
 * with a daily series, goal conversions and time to convert, a comparison of versions, the split
 * variants, and the same as CSV. All-time totals from the rollups; series over the range asked.
 */
import type { Queryable } from '../db/database.js';
import { notFound } from '../http/errors.js';
import type { FunnelNodeView, RangeInput, ReportView } from './analytics.schemas.js';
import { groupBy, variantStats } from './campaign-stats.js';
import { countsOf, emailCountsOf, metricsOf, rate, resolveRange, type MetricMap } from './counts.js';
import { readCounts } from './rollup.js';

interface DefinitionNode {
  id: string;
  type: string;
  name?: string;
  config?: unknown;
}
interface Definition {
  entryNodeId: string;
  nodes: DefinitionNode[];
  edges: Array<{ from: string; to: string }>;
}

const REPORT_METRICS = ['sent', 'delivered', 'opened', 'opened_any', 'clicked', 'clicked_any', 'replied', 'bounced', 'complained', 'unsubscribed', 'machine_opens', 'enrolled', 'converted', 'convert_seconds', 'step_completed', 'step_skipped'];

function labelOf(node: DefinitionNode): string {
  const subject = (node.config as { subject?: unknown } | undefined)?.subject;
  if (node.name) return node.name;
  if (node.type === 'email' && typeof subject === 'string') return subject;
  return node.type === 'trigger' ? 'Entry' : `${node.type[0]!.toUpperCase()}${node.type.slice(1)} ${node.id}`;
}

/** Nodes in breadth-first order from the entry, each with its depth and the node it is first reached from. */
function walk(definition: Definition): Array<{ node: DefinitionNode; depth: number; parent: string | null }> {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  const out: Array<{ node: DefinitionNode; depth: number; parent: string | null }> = [];
  const seen = new Set<string>();
  const queue: Array<{ id: string; depth: number; parent: string | null }> = [{ id: definition.entryNodeId, depth: 0, parent: null }];
  while (queue.length > 0) {
    const next = queue.shift()!;
    const node = byId.get(next.id);
    if (!node || seen.has(next.id)) continue;
    seen.add(next.id);
    out.push({ node, depth: next.depth, parent: next.parent });
    for (const e of definition.edges) if (e.from === next.id) queue.push({ id: e.to, depth: next.depth + 1, parent: next.id });
  }
  // Nodes no edge reaches (an edited draft's leftovers) still show, last.
  for (const node of definition.nodes) if (!seen.has(node.id)) out.push({ node, depth: out.length, parent: null });
  return out;
}

export async function campaignReport(q: Queryable, workspaceId: string, campaignId: string, input: RangeInput, now: Date): Promise<ReportView> {
  const found = await q.query<{ id: string; name: string; status: string; current_version: number | null; draft_definition: Definition; definition: Definition | null; goal_event: string | null; goal_segment: string | null }>(
    `SELECT c.id, c.name, c.status, c.current_version, c.draft_definition, v.definition, v.goal_event, v.goal_segment_id::text AS goal_segment
       FROM campaigns c LEFT JOIN campaign_versions v ON v.campaign_id = c.id AND v.version = c.current_version
      WHERE c.workspace_id = $1 AND c.id = $2`,
    [workspaceId, campaignId],
  );
  const campaign = found.rows[0];
  if (!campaign) throw notFound('Campaign');
  const definition = campaign.definition ?? campaign.draft_definition;
  const range = await resolveRange(q, workspaceId, input, now);
  const machine = range.includeMachineOpens;
  const detail = { kind: 'detail' as const, campaignId };
  const [byNode, byVersion, nodeDays, campaignDays, live, versions, splits] = await Promise.all([
    readCounts(q, workspaceId, { level: detail, timeZone: range.timeZone, by: ['node'], metrics: REPORT_METRICS }),
    readCounts(q, workspaceId, { level: detail, timeZone: range.timeZone, by: ['version'], metrics: REPORT_METRICS }),
    readCounts(q, workspaceId, { level: detail, from: range.fromAt, to: range.toAt, days: { from: range.from, to: range.to }, timeZone: range.timeZone, by: ['node', 'day'], metrics: ['sent', 'opened', 'opened_any', 'clicked', 'clicked_any', 'bounced'] }),
    readCounts(q, workspaceId, { level: { kind: 'campaign', campaignId }, from: range.fromAt, to: range.toAt, days: { from: range.from, to: range.to }, timeZone: range.timeZone, by: ['day'], metrics: ['enrolled', 'converted'] }),
    // name: report-live-nodes — where running enrollments are now: an index-only scan of
    // enrollments_campaign_node_idx (campaign, status, node). The campaign was found in the
    // workspace above and its enrollments are in it, so no workspace filter (which would read
    // every row from the heap: 300 ms for the 100,000 live enrollments of a 1M-contact campaign).
    q.query<{ node: string; status: string; n: string }>(
      `SELECT current_node_id AS node, status, count(*) AS n FROM enrollments WHERE campaign_id = $1 AND status IN ('active', 'paused', 'failed') GROUP BY 1, 2`,
      [campaignId],
    ),
    q.query<{ version: number; published_at: Date }>(`SELECT version, published_at FROM campaign_versions WHERE campaign_id = $1 AND workspace_id = $2 ORDER BY version`, [campaignId, workspaceId]),
    variantStats(q, workspaceId, campaignId, definition.nodes, machine),
  ]);

  const total: MetricMap = metricsOf(byNode);
  const nodeMetrics = new Map([...groupBy(byNode, (r) => r.node)].map(([k, rows]) => [k, metricsOf(rows)]));
  const waiting = new Map<string, number>();
  const failed = new Map<string, number>();
  for (const r of live.rows) {
    const into = r.status === 'failed' ? failed : waiting;
    into.set(r.node, (into.get(r.node) ?? 0) + Number(r.n));
  }

  const order = walk(definition);
  const entered = new Map<string, number>();
  const funnel: FunnelNodeView[] = order.map(({ node, depth }) => {
    const m = nodeMetrics.get(node.id) ?? new Map<string, number>();
    const completed = (m.get('step_completed') ?? 0) + (m.get('step_skipped') ?? 0);
    const converted = m.get('converted') ?? 0;
    const w = waiting.get(node.id) ?? 0;
    const f = failed.get(node.id) ?? 0;
    const n = completed + converted + w + f;
    entered.set(node.id, n);
    return { nodeId: node.id, type: node.type, label: labelOf(node), depth, entered: n, completed, waiting: w, failed: f, converted, fromPrevious: null, fromEntry: null };
  });
  const entry = entered.get(definition.entryNodeId) ?? 0;
  for (const [i, step] of funnel.entries()) {
    const parent = order[i]!.parent;
    step.fromPrevious = parent === null ? null : rate(step.entered, entered.get(parent) ?? 0);
    step.fromEntry = rate(step.entered, entry);
  }

  const daysOf = groupBy(nodeDays, (r) => r.node);
  const labels: string[] = [];
  for (let d = range.from; d <= range.to; d = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) labels.push(d);
  const emails = order
    .filter(({ node }) => node.type === 'email')
    .map(({ node }) => {
      const counts = countsOf(nodeMetrics.get(node.id) ?? new Map<string, number>(), machine);
      const perDay = new Map([...groupBy(daysOf.get(node.id) ?? [], (r) => r.at)].map(([at, rows]) => [at, emailCountsOf(metricsOf(rows), machine)]));
      return {
        nodeId: node.id,
        subject: labelOf(node),
        sent: counts.sent,
        delivered: counts.delivered,
        opened: counts.opened,
        clicked: counts.clicked,
        replied: counts.replied,
        bounced: counts.bounced,
        complained: counts.complained,
        unsubscribed: counts.unsubscribed,
        machineOpens: counts.machineOpens,
        openRate: counts.openRate,
        clickRate: counts.clickRate,
        bounceRate: counts.bounceRate,
        complaintRate: counts.complaintRate,
        unsubscribeRate: counts.unsubscribeRate,
        series: labels.map((at) => {
          const p = perDay.get(at);
          return { at, sent: p?.sent ?? 0, opened: p?.opened ?? 0, clicked: p?.clicked ?? 0, bounced: p?.bounced ?? 0 };
        }),
      };
    });

  const goalDays = new Map([...groupBy(campaignDays, (r) => r.at)].map(([at, rows]) => [at, metricsOf(rows)]));
  const totals = countsOf(total, machine);
  const versionRows = groupBy(byVersion, (r) => r.version);
  const publishedAt = new Map(versions.rows.map((v) => [v.version, new Date(v.published_at).toISOString()]));
  const versionNumbers = [...new Set([...versions.rows.map((v) => v.version), ...versionRows.keys()])].filter((v) => v > 0).sort((a, b) => a - b);
  return {
    campaign: { id: campaign.id, name: campaign.name, status: campaign.status, currentVersion: campaign.current_version, goal: campaign.goal_event ?? (campaign.goal_segment ? 'Entering a segment' : null) },
    range: { from: range.from, to: range.to, timeZone: range.timeZone, granularity: 'day', includeMachineOpens: machine },
    totals,
    funnel,
    emails,
    goals: {
      converted: totals.converted,
      conversionRate: totals.conversionRate,
      avgSecondsToConvert: totals.avgSecondsToConvert,
      series: labels.map((at) => ({ at, enrolled: goalDays.get(at)?.get('enrolled') ?? 0, converted: goalDays.get(at)?.get('converted') ?? 0 })),
    },
    versions: versionNumbers.map((version) => ({ version, publishedAt: publishedAt.get(version) ?? null, ...countsOf(metricsOf(versionRows.get(version) ?? []), machine) })),
    splits,
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quoted when needed; a leading =, +, - or @ is neutralised so a spreadsheet never runs it.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** The report as one CSV table: a row per funnel node, email, version and variant, then the days. */
export function reportCsv(report: ReportView): string {
  const header = ['section', 'id', 'label', 'entered', 'completed', 'waiting', 'failed', 'sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed', 'machine_opens', 'enrolled', 'converted', 'open_rate', 'click_rate', 'conversion_rate'];
  const lines = [header];
  const blank = (n: number) => Array<string>(n).fill('');
  for (const f of report.funnel) lines.push(['funnel', f.nodeId, f.label, String(f.entered), String(f.completed), String(f.waiting), String(f.failed), ...blank(9), '', String(f.converted), '', '', f.fromPrevious === null ? '' : f.fromPrevious.toFixed(4)]);
  for (const e of report.emails) {
    lines.push(['email', e.nodeId, e.subject, ...blank(4), ...[e.sent, e.delivered, e.opened, e.clicked, e.replied, e.bounced, e.complained, e.unsubscribed, e.machineOpens].map(String), '', '', e.openRate?.toFixed(4) ?? '', e.clickRate?.toFixed(4) ?? '', '']);
  }
  const countsRow = (section: string, id: string, label: string, c: ReportView['totals']) => [section, id, label, ...blank(4), ...[c.sent, c.delivered, c.opened, c.clicked, c.replied, c.bounced, c.complained, c.unsubscribed, c.machineOpens, c.enrolled, c.converted].map(String), c.openRate?.toFixed(4) ?? '', c.clickRate?.toFixed(4) ?? '', c.conversionRate?.toFixed(4) ?? ''];
  lines.push(countsRow('total', report.campaign.id, report.campaign.name, report.totals));
  for (const v of report.versions) lines.push(countsRow('version', String(v.version), `v${v.version}`, v));
  for (const s of report.splits) for (const v of s.variants) lines.push(countsRow('variant', `${s.nodeId}:${v.variant}`, `assigned ${v.assigned}`, v));
  for (const day of report.goals.series) {
    const sent = report.emails.reduce((n, e) => n + (e.series.find((p) => p.at === day.at)?.sent ?? 0), 0);
    const opened = report.emails.reduce((n, e) => n + (e.series.find((p) => p.at === day.at)?.opened ?? 0), 0);
    const clicked = report.emails.reduce((n, e) => n + (e.series.find((p) => p.at === day.at)?.clicked ?? 0), 0);
    lines.push(['day', day.at, '', ...blank(4), String(sent), '', String(opened), String(clicked), ...blank(5), String(day.enrolled), String(day.converted), '', '', '']);
  }
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
