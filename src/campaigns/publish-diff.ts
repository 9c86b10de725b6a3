/**
 * The publish preview: what publishing the draft would change against the running version, node
 * by node in words a marketer reads ("Subject changed", "Waits 2 days (was 3 days)"), and the
 * running enrollments per version with how many `migrate` could move to the new version.
 */
import type { Static } from '@sinclair/typebox';
import type { Queryable } from '../db/database.js';
import { loadCampaignRow } from './campaign-rows.js';
import type { CampaignDefinition, DefinitionNode } from './definition.js';
import type { NodeChangeSchema, PublishPreviewAnswer } from './ops.schemas.js';

type NodeChange = Static<typeof NodeChangeSchema>;

/** Field labels of node configs, in the words the builder's forms use. */
const FIELD_LABELS: Record<string, string> = {
  kind: 'kind',
  subject: 'subject',
  html: 'body',
  text: 'text part',
  from: 'sender',
  topicId: 'subscription topic',
  templateId: 'template',
  personalization: 'AI personalization',
  seconds: 'duration',
  weekdays: 'weekdays',
  hour: 'hour',
  minute: 'minute',
  quietHours: 'quiet hours',
  defaultTimezone: 'default time zone',
  name: 'event name',
  timeoutSeconds: 'timeout',
  correlationKey: 'correlation key',
  branches: 'branches',
  variants: 'variants',
  tag: 'tag',
  delta: 'score change',
  field: 'field',
  value: 'value',
  url: 'URL',
  secret: 'secret',
  userId: 'member',
  reason: 'exit reason',
  segmentId: 'segment',
  at: 'send time',
  threshold: 'threshold',
  event: 'event',
  filters: 'filters',
};

const UNITS: Array<[number, string]> = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** "2 days", "90 minutes", "45 seconds". */
export function durationWords(seconds: number): string {
  const [size, unit] = UNITS.find(([s]) => seconds % s === 0 && seconds >= s) ?? [1, 'second'];
  const n = seconds / size;
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function describeChange(before: DefinitionNode, after: DefinitionNode): string | null {
  const parts: string[] = [];
  if (before.type !== after.type) return `Now a ${after.type} step (was ${before.type})`;
  if ((before.name ?? '') !== (after.name ?? '')) parts.push(`renamed to “${after.name ?? after.id}”`);
  const b = before.config as Record<string, unknown>;
  const a = after.config as Record<string, unknown>;
  if (after.type === 'wait' && a.kind === 'duration' && b.kind === 'duration' && a.seconds !== b.seconds) {
    parts.push(`waits ${durationWords(Number(a.seconds))} (was ${durationWords(Number(b.seconds))})`);
  } else {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !same(b[k], a[k]));
    if (keys.length > 0) parts.push(`${keys.map((k) => FIELD_LABELS[k] ?? k).join(', ')} changed`);
  }
  if (!same(before.notes, after.notes)) parts.push('notes changed');
  if (parts.length === 0) return null;
  const text = parts.join('; ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Node changes from `running` (null: never published) to `draft`, in draft order then removed ones. */
export function diffDefinitions(running: CampaignDefinition | null, draft: CampaignDefinition): { changes: NodeChange[]; settingsChanges: string[]; edgesChanged: boolean } {
  const before = new Map((running?.nodes ?? []).map((n) => [n.id, n]));
  const afterIds = new Set(draft.nodes.map((n) => n.id));
  const label = (n: DefinitionNode) => n.name || n.id;
  const changes: NodeChange[] = [];
  for (const node of draft.nodes) {
    const old = before.get(node.id);
    if (!old) changes.push({ nodeId: node.id, name: label(node), type: node.type, change: 'added', summary: `New ${node.type} step` });
    else {
      const summary = describeChange(old, node);
      if (summary) changes.push({ nodeId: node.id, name: label(node), type: node.type, change: 'changed', summary });
    }
  }
  for (const node of running?.nodes ?? []) {
    if (!afterIds.has(node.id)) changes.push({ nodeId: node.id, name: label(node), type: node.type, change: 'removed', summary: `The ${node.type} step is removed` });
  }
  const settingsChanges: string[] = [];
  const s0 = running?.settings ?? {};
  const s1 = draft.settings ?? {};
  if (running && !same(s0.goal, s1.goal)) settingsChanges.push(s1.goal ? 'The goal changed' : 'The goal was removed');
  if (running && !same(s0.reentry, s1.reentry)) settingsChanges.push(`Re-entry is now “${s1.reentry?.mode ?? 'never'}”${s1.reentry?.mode === 'after' ? ` after ${s1.reentry.days ?? 0} days` : ''}`);
  if (running && (s0.priority ?? 'lifecycle') !== (s1.priority ?? 'lifecycle')) settingsChanges.push(`Priority is now ${s1.priority ?? 'lifecycle'}`);
  const edgeKey = (e: { from: string; to: string; handle?: string }) => `${e.from}>${e.handle ?? 'next'}>${e.to}`;
  const edges0 = new Set((running?.edges ?? []).map(edgeKey));
  const edges1 = new Set(draft.edges.map(edgeKey));
  const edgesChanged = running !== null && (edges0.size !== edges1.size || [...edges1].some((k) => !edges0.has(k)));
  return { changes, settingsChanges, edgesChanged };
}

export async function publishPreview(q: Queryable, workspaceId: string, campaignId: string): Promise<Static<typeof PublishPreviewAnswer>> {
  const row = await loadCampaignRow(q, workspaceId, campaignId);
  const draft = row.draft_definition;
  const versions = await q.query<{ version: number; definition: CampaignDefinition }>(
    `SELECT v.version, v.definition FROM campaign_versions v
      WHERE v.workspace_id = $1 AND v.campaign_id = $2
        AND (v.version = $3 OR v.version IN (SELECT DISTINCT version FROM enrollments WHERE workspace_id = $1 AND campaign_id = $2 AND status IN ('active', 'paused', 'failed')))`,
    [workspaceId, campaignId, row.current_version ?? -1],
  );
  const running = versions.rows.find((v) => v.version === row.current_version)?.definition ?? null;
  const positions = await q.query<{ version: number; current_node_id: string; n: number }>(
    `SELECT version, current_node_id, count(*)::int AS n FROM enrollments
      WHERE workspace_id = $1 AND campaign_id = $2 AND status IN ('active', 'paused', 'failed') GROUP BY 1, 2`,
    [workspaceId, campaignId],
  );
  const draftTypes = new Map(draft.nodes.map((n) => [n.id, n.type]));
  const inFlight = new Map<number, { version: number; running: number; movable: number }>();
  for (const p of positions.rows) {
    const definition = versions.rows.find((v) => v.version === p.version)?.definition;
    const type = definition?.nodes.find((n) => n.id === p.current_node_id)?.type;
    const entry = inFlight.get(p.version) ?? { version: p.version, running: 0, movable: 0 };
    entry.running += p.n;
    if (type !== undefined && draftTypes.get(p.current_node_id) === type) entry.movable += p.n;
    inFlight.set(p.version, entry);
  }
  return {
    currentVersion: row.current_version,
    nextVersion: (row.current_version ?? 0) + 1,
    ...diffDefinitions(running, draft),
    inFlight: [...inFlight.values()].sort((a, b) => a.version - b.version),
  };
}
