/**
 * Pure conversions between a campaign definition and what the graph view draws: node positions
 * (the stored `position`, or a top-down layout by depth from the entry node when missing), edge
 * labels, and the standard drip flow the "new campaign" form creates.
 */
import type { CampaignDefinition, CampaignNode, NodeType } from '../api';

export const NODE_WIDTH = 220;
export const LAYER_GAP = 150;
export const COLUMN_GAP = 260;

export interface LaidOutNode {
  node: CampaignNode;
  x: number;
  y: number;
}

/**
 * Layer of each node: the longest path from the entry, so a node sits below every node that leads
 * to it (a branch that rejoins does not draw an edge sideways). Cycles are cut by capping the
 * layer at the node count; unreachable nodes go after the last layer.
 */
export function layers(definition: CampaignDefinition): Map<string, number> {
  const ids = new Set(definition.nodes.map((n) => n.id));
  const edges = definition.edges.filter((e) => ids.has(e.from) && ids.has(e.to));
  const cap = definition.nodes.length;
  const depth = new Map<string, number>();
  if (ids.has(definition.entryNodeId)) depth.set(definition.entryNodeId, 0);
  for (let pass = 0; pass < cap; pass += 1) {
    let changed = false;
    for (const edge of edges) {
      const from = depth.get(edge.from);
      if (from === undefined || edge.to === definition.entryNodeId) continue;
      const candidate = Math.min(from + 1, cap);
      if ((depth.get(edge.to) ?? -1) < candidate) {
        depth.set(edge.to, candidate);
        changed = true;
      }
    }
    if (!changed) break;
  }
  let last = Math.max(-1, ...depth.values());
  for (const node of definition.nodes) if (!depth.has(node.id)) depth.set(node.id, ++last);
  return depth;
}

/**
 * Positions every node: stored positions win; the rest are laid out in layers, centred. An edge
 * that skips layers reserves a column in each layer it crosses, so it is not drawn through a node.
 */
export function layoutDefinition(definition: CampaignDefinition): LaidOutNode[] {
  const depth = layers(definition);
  const byLayer = new Map<number, string[]>();
  const occupy = (layer: number, slot: string) => byLayer.set(layer, [...(byLayer.get(layer) ?? []), slot]);
  for (const node of definition.nodes) occupy(depth.get(node.id)!, node.id);
  definition.edges.forEach((edge, index) => {
    const from = depth.get(edge.from);
    const to = depth.get(edge.to);
    if (from === undefined || to === undefined) return;
    for (let layer = from + 1; layer < to; layer += 1) occupy(layer, `edge:${index}`);
  });
  return definition.nodes.map((node) => {
    if (node.position && Number.isFinite(node.position.x) && Number.isFinite(node.position.y)) {
      return { node, x: node.position.x, y: node.position.y };
    }
    const d = depth.get(node.id)!;
    const layer = byLayer.get(d)!;
    const index = layer.indexOf(node.id);
    return { node, x: (index - (layer.length - 1) / 2) * COLUMN_GAP, y: d * LAYER_GAP };
  });
}

const durationUnits: Array<[number, string]> = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

export function formatDuration(seconds: number): string {
  for (const [size, unit] of durationUnits) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** One line saying what a node does, from its config. */
export function describeNode(node: CampaignNode): string {
  // The wire type of a node's config is unknown (a draft may hold anything until the server validates it).
  const config: Record<string, unknown> = typeof node.config === 'object' && node.config !== null ? (node.config as Record<string, unknown>) : {};
  const type: NodeType = node.type;
  switch (type) {
    case 'trigger': {
      const kind = str(config.kind) ?? 'manual';
      return kind === 'manual' ? 'Manual enrollment' : `Trigger: ${kind.replace(/_/g, ' ')}`;
    }
    case 'email':
      return str(config.subject) ? `“${String(config.subject)}”` : 'Email';
    case 'wait': {
      if (config.kind === 'duration' && typeof config.seconds === 'number') return `Wait ${formatDuration(config.seconds)}`;
      return `Wait (${str(config.kind)?.replace(/_/g, ' ') ?? 'configured'})`;
    }
    case 'condition':
      return 'Branch on a condition';
    case 'split':
      return 'A/B split';
    case 'action':
      return str(config.kind) ? `Action: ${String(config.kind).replace(/_/g, ' ')}` : 'Action';
    case 'exit':
      return 'Leave the campaign';
    default: {
      const unknown: never = type;
      return String(unknown);
    }
  }
}

export interface DripInput {
  firstSubject: string;
  firstHtml: string;
  waitSeconds: number;
  secondSubject: string;
  secondHtml: string;
}

/** The standard drip: manual trigger → email → wait → email → exit, laid out top-down. */
export function standardDrip(input: DripInput): CampaignDefinition {
  const ids = ['trigger', 'email-1', 'wait-1', 'email-2', 'exit'] as const;
  const steps: Array<Omit<CampaignNode, 'position'>> = [
    { id: ids[0], type: 'trigger', name: 'Start', config: { kind: 'manual' } },
    { id: ids[1], type: 'email', name: 'First email', config: { subject: input.firstSubject, html: input.firstHtml } },
    { id: ids[2], type: 'wait', name: 'Wait', config: { kind: 'duration', seconds: input.waitSeconds } },
    { id: ids[3], type: 'email', name: 'Follow-up email', config: { subject: input.secondSubject, html: input.secondHtml } },
    { id: ids[4], type: 'exit', name: 'Done', config: {} },
  ];
  const nodes = steps.map((node, index) => ({ ...node, position: { x: 0, y: index * LAYER_GAP } }));
  const edges = ids.slice(1).map((to, index) => ({ from: ids[index]!, to }));
  return { entryNodeId: ids[0], nodes, edges };
}

/** Turns plain text paragraphs into simple email HTML (escaped). */
export function textToHtml(text: string): string {
  const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return text
    .split(/\n{2,}/)
    .map((paragraph) => paragraph.trim())
    .filter(Boolean)
    .map((paragraph) => `<p>${escape(paragraph).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
}
