/**
 * Pure functions behind the visual builder: a campaign definition ⇄ the nodes and edges React
 * Flow edits, the handles each node offers (per src/campaigns/definition.ts), new nodes with a
 * starting config, connecting (one edge per handle) and the validation problems of a
 * CAMPAIGN_INVALID answer.
 */
import { ApiError, type CampaignDefinition, type CampaignEdge, type CampaignNode, type NodeType } from '../api';
import { layoutDefinition } from './graph';
import { autoLayout, CARD_WIDTH } from './layout';

/** From this many steps on, a campaign without positions opens with the quick layered layout. */
const LARGE_GRAPH = 60;

export const NODE_TYPE_LIST: NodeType[] = ['trigger', 'email', 'wait', 'condition', 'split', 'action', 'exit'];
export const NEXT_HANDLE = 'next';
export const DEFAULT_HANDLE = 'default';
export const TIMEOUT_HANDLE = 'timeout';

export interface StepData extends Record<string, unknown> {
  node: CampaignNode;
}
export interface FlowStep {
  id: string;
  type: 'step';
  position: { x: number; y: number };
  data: StepData;
  selected?: boolean;
}
export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  label?: string;
  selected?: boolean;
}
export interface Problem {
  nodeId?: string;
  field?: string;
  message: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The handles a node may leave by, in the order they are drawn. */
export function sourceHandles(node: CampaignNode): string[] {
  const config = isObject(node.config) ? node.config : {};
  switch (node.type) {
    case 'trigger':
    case 'email':
    case 'action':
      return [NEXT_HANDLE];
    case 'wait':
      return config.kind === 'event' ? [NEXT_HANDLE, TIMEOUT_HANDLE] : [NEXT_HANDLE];
    case 'condition': {
      const branches = Array.isArray(config.branches) ? config.branches : [];
      const ids = branches.flatMap((b) => (isObject(b) && typeof b.id === 'string' && b.id !== '' ? [b.id] : []));
      return [...ids, DEFAULT_HANDLE];
    }
    case 'split': {
      const variants = Array.isArray(config.variants) ? config.variants : [];
      return variants.flatMap((v) => (isObject(v) && typeof v.id === 'string' && v.id !== '' ? [v.id] : []));
    }
    case 'exit':
      return [];
    default: {
      const unknown: never = node.type;
      return [String(unknown)];
    }
  }
}

/** Where each source handle sits along the bottom of a card, for routing and for ordering branches. */
export function handleOffset(node: CampaignNode, handle: string): number {
  const handles = sourceHandles(node);
  const index = Math.max(0, handles.indexOf(handle));
  return (CARD_WIDTH * (index + 1)) / (handles.length + 1);
}

/** The config a node starts with, for a type and (where the type has kinds) a kind. */
export function defaultConfig(type: NodeType, kind?: string): Record<string, unknown> {
  switch (type) {
    case 'trigger':
      switch (kind ?? 'manual') {
        case 'tag_added':
          return { kind: 'tag_added', tag: '' };
        case 'score_threshold':
          return { kind: 'score_threshold', threshold: 80 };
        case 'event':
          return { kind: 'event', name: '' };
        case 'email_event':
          return { kind: 'email_event', event: 'opened' };
        case 'segment_entered':
          return { kind: 'segment_entered', segmentId: '' };
        case 'contact_created':
          return { kind: 'contact_created' };
        default:
          return { kind: 'manual' };
      }
    case 'email':
      return { subject: '', html: '' };
    case 'wait':
      switch (kind ?? 'duration') {
        case 'until_time':
          return { kind: 'until_time', hour: 9, minute: 0 };
        case 'event':
          return { kind: 'event', name: '', timeoutSeconds: 86_400 * 3 };
        default:
          return { kind: 'duration', seconds: 86_400 };
      }
    case 'condition':
      return { branches: [{ id: 'yes', name: 'Yes', match: { operator: 'and', rules: [{ kind: 'tag', tag: '', present: true }] } }] };
    case 'split':
      return {
        variants: [
          { id: 'a', weight: 50 },
          { id: 'b', weight: 50 },
        ],
      };
    case 'action':
      switch (kind ?? 'tag_add') {
        case 'tag_remove':
          return { kind: 'tag_remove', tag: '' };
        case 'score_change':
          return { kind: 'score_change', delta: 10 };
        case 'field_update':
          return { kind: 'field_update', field: '', value: '' };
        case 'notify':
          return { kind: 'notify', userId: '', subject: '', text: '' };
        default:
          return { kind: 'tag_add', tag: '' };
      }
    case 'exit':
      return {};
    default: {
      const unknown: never = type;
      return { kind: String(unknown) };
    }
  }
}

/** The first free id of the form `<type>-<n>`. */
export function nextNodeId(type: NodeType, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n += 1) {
    const candidate = `${type}-${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

export function edgeId(source: string, handle: string, target: string): string {
  return `${source}:${handle}->${target}`;
}

function flowEdge(edge: CampaignEdge): FlowEdge {
  const handle = edge.handle ?? NEXT_HANDLE;
  return { id: edgeId(edge.from, handle, edge.to), source: edge.from, target: edge.to, sourceHandle: handle, ...(handle === NEXT_HANDLE ? {} : { label: handle }) };
}

/** The flow's edges as the layout takes them: each with where its handle sits on its source card. */
function withOffsets(definition: CampaignDefinition, edges: FlowEdge[]) {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  return edges.map((e) => {
    const source = byId.get(e.source);
    return { id: e.id, source: e.source, target: e.target, ...(source ? { sourceOffset: handleOffset(source, e.sourceHandle) } : {}) };
  });
}

/**
 * What the canvas draws for a definition: stored positions; when a node has none (a campaign made
 * through the API), every node is laid out by the auto-layout (layout.ts).
 */
export function definitionToFlow(definition: CampaignDefinition): { nodes: FlowStep[]; edges: FlowEdge[] } {
  const edges = definition.edges.map(flowEdge);
  const placed = definition.nodes.every((n) => n.position && Number.isFinite(n.position.x) && Number.isFinite(n.position.y));
  // dagre takes a while on large graphs: those get the quick layered layout until "Tidy up".
  const laid = placed
    ? null
    : definition.nodes.length <= LARGE_GRAPH
      ? autoLayout(definition.nodes.map((n) => n.id), withOffsets(definition, edges), definition.entryNodeId).positions
      : new Map(layoutDefinition(definition).map(({ node, x, y }) => [node.id, { x, y }]));
  const nodes = definition.nodes.map((node) => ({ id: node.id, type: 'step' as const, position: laid?.get(node.id) ?? node.position ?? { x: 0, y: 0 }, data: { node } }));
  return { nodes, edges };
}

/**
 * The definition the canvas shows: positions rounded, `next` left implicit on edges, the entry
 * being the trigger (the first node when there is none, so the API names the problem).
 */
export function flowToDefinition(nodes: FlowStep[], edges: FlowEdge[], settings?: CampaignDefinition['settings']): CampaignDefinition {
  const entry = nodes.find((n) => n.data.node.type === 'trigger') ?? nodes[0];
  const definition: CampaignDefinition = {
    entryNodeId: entry?.id ?? '',
    nodes: nodes.map((n) => {
      const { position: _stored, ...node } = n.data.node;
      return { ...node, id: n.id, position: { x: Math.round(n.position.x), y: Math.round(n.position.y) } };
    }),
    edges: edges.map((e) => ({ from: e.source, to: e.target, ...(e.sourceHandle && e.sourceHandle !== NEXT_HANDLE ? { handle: e.sourceHandle } : {}) })),
  };
  if (settings !== undefined) definition.settings = settings;
  return definition;
}

/** Adds an edge; a handle leads to one node, so an edge already leaving that handle is replaced. */
export function connectEdge(edges: FlowEdge[], connection: { source: string; target: string; sourceHandle?: string | null }): FlowEdge[] {
  const handle = connection.sourceHandle ?? NEXT_HANDLE;
  if (connection.source === connection.target) return edges;
  const kept = edges.filter((e) => !(e.source === connection.source && e.sourceHandle === handle));
  return [...kept, flowEdge({ from: connection.source, to: connection.target, handle })];
}

/** Drops edges whose ends are gone or whose handle the source no longer offers (a removed branch). */
export function pruneEdges(nodes: FlowStep[], edges: FlowEdge[]): FlowEdge[] {
  const byId = new Map(nodes.map((n) => [n.id, n.data.node]));
  return edges.filter((e) => {
    const source = byId.get(e.source);
    return source !== undefined && byId.has(e.target) && sourceHandles(source).includes(e.sourceHandle);
  });
}

/** Renames a handle on the edges leaving a node (a branch or variant id edited in the panel). */
export function renameHandle(edges: FlowEdge[], nodeId: string, from: string, to: string): FlowEdge[] {
  return edges.map((e) => (e.source === nodeId && e.sourceHandle === from ? flowEdge({ from: e.source, to: e.target, handle: to }) : e));
}

/** Reads `details: [{ nodeId, field, message }]` of a CAMPAIGN_INVALID answer. */
export function problemsOf(error: unknown): Problem[] {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return [];
  return (error.details as unknown[]).flatMap((detail) => {
    if (!isObject(detail)) return [];
    const { nodeId, field, message } = detail;
    if (typeof message !== 'string') return [];
    return [{ message, ...(typeof nodeId === 'string' ? { nodeId } : {}), ...(typeof field === 'string' ? { field } : {}) }];
  });
}
