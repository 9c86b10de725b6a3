/**
 * Pure edits of the builder's graph: a new node inserted on an edge or after a node, tidying
 * (auto-layout of every node), and copy/paste of a selection with fresh ids. The canvas and the
 * page call these and keep the result in the undo history (history.ts).
 */
import type { CampaignNode, NodeType } from '../api';
import { connectEdge, defaultConfig, edgeId, handleOffset, NEXT_HANDLE, nextNodeId, sourceHandles, type FlowEdge, type FlowStep } from './builder';
import { autoLayout, CARD_WIDTH, spotBelow, type Point } from './layout';

/** An edge's route from the last auto-layout, and where its two ends were then. */
export interface Route {
  points: Point[];
  from: Point;
  to: Point;
}

export interface Graph {
  nodes: FlowStep[];
  edges: FlowEdge[];
  /** Routes from the last tidy-up; an edge whose ends moved since is drawn as a plain step path. */
  routes?: ReadonlyMap<string, Route>;
}

/** Up to this many steps, a campaign opened with stored positions gets its routes at once. */
export const ROUTE_ON_OPEN_LIMIT = 60;

export const TYPE_LABEL: Record<NodeType, string> = { trigger: 'Trigger', email: 'Email', wait: 'Wait', condition: 'Condition', split: 'A/B split', action: 'Action', exit: 'Exit' };

/** The entry of a graph: its trigger, else its first node. */
export function entryOf(nodes: FlowStep[]): string | undefined {
  return (nodes.find((n) => n.data.node.type === 'trigger') ?? nodes[0])?.id;
}

/** A new node of a type, named after its id (`Email 2`), selected. */
export function newStep(type: NodeType, taken: Iterable<string>, position: Point): FlowStep {
  const id = nextNodeId(type, taken);
  const node: CampaignNode = { id, type, name: `${TYPE_LABEL[type]} ${id.split('-').pop()}`, config: defaultConfig(type) };
  return { id, type: 'step', position, data: { node }, selected: true };
}

const unselect = (nodes: FlowStep[]) => nodes.map((n) => (n.selected ? { ...n, selected: false } : n));

function layoutOf(graph: Graph) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n.data.node]));
  return autoLayout(
    graph.nodes.map((n) => n.id),
    graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, sourceOffset: byId.has(e.source) ? handleOffset(byId.get(e.source)!, e.sourceHandle) : undefined })),
    entryOf(graph.nodes),
  );
}

/** Lays every node out with dagre (layout.ts) and keeps each edge's route; nodes keep their order and data. */
export function tidy(graph: Graph): Graph {
  const { positions, routes } = layoutOf(graph);
  const nodes = graph.nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position }));
  const kept = new Map<string, Route>();
  for (const edge of graph.edges) {
    const points = routes.get(edge.id);
    const from = positions.get(edge.source);
    const to = positions.get(edge.target);
    if (points && from && to) kept.set(edge.id, { points, from, to });
  }
  return { nodes, edges: graph.edges, routes: kept };
}

/** The routes of a graph whose cards sit where the auto-layout puts them (a campaign tidied before): edges whose ends moved get none. */
export function routesOf(graph: Graph): Map<string, Route> {
  const laid = tidy(graph).routes ?? new Map<string, Route>();
  const at = new Map(graph.nodes.map((n) => [n.id, n.position]));
  const same = (a: Point | undefined, b: Point) => a !== undefined && a.x === b.x && a.y === b.y;
  const kept = new Map<string, Route>();
  for (const edge of graph.edges) {
    const route = laid.get(edge.id);
    if (route && same(at.get(edge.source), route.from) && same(at.get(edge.target), route.to)) kept.set(edge.id, route);
  }
  return kept;
}

/** The graph a campaign opens with: small ones get their routes at once, large ones on "Tidy up" (dagre takes a while). */
export function openedGraph(graph: Graph): Graph {
  return graph.nodes.length <= ROUTE_ON_OPEN_LIMIT ? { ...graph, routes: routesOf(graph) } : graph;
}

/**
 * Inserts a node of `type` on an edge: source → new → target, the new node leaving by its first
 * handle (an exit ends the path there), then tidies the layout.
 */
export function insertOnEdge(graph: Graph, edge: FlowEdge, type: NodeType): Graph {
  const step = newStep(type, graph.nodes.map((n) => n.id), { x: 0, y: 0 });
  let edges = graph.edges.filter((e) => e.id !== edge.id);
  edges = connectEdge(edges, { source: edge.source, sourceHandle: edge.sourceHandle, target: step.id });
  const first = sourceHandles(step.data.node)[0];
  if (first !== undefined) edges = connectEdge(edges, { source: step.id, sourceHandle: first, target: edge.target });
  return tidy({ nodes: [...unselect(graph.nodes), step], edges });
}

/**
 * Adds a node after `afterId` (the palette clicked with a node selected): it takes over the first
 * free handle of that node, or the place of its `next` edge (inserting), then the layout is tidied.
 * With no node to follow, the node goes below the lowest card.
 */
export function addAfter(graph: Graph, type: NodeType, afterId: string | undefined): Graph {
  const after = graph.nodes.find((n) => n.id === afterId);
  if (!after) {
    const step = newStep(type, graph.nodes.map((n) => n.id), spotBelow(graph.nodes.map((n) => n.position)));
    return { nodes: [...unselect(graph.nodes), step], edges: graph.edges };
  }
  const handles = sourceHandles(after.data.node);
  const free = handles.find((h) => !graph.edges.some((e) => e.source === after.id && e.sourceHandle === h));
  if (free === undefined) {
    const outgoing = graph.edges.find((e) => e.source === after.id && e.sourceHandle === (handles[0] ?? NEXT_HANDLE));
    if (outgoing) return insertOnEdge(graph, outgoing, type);
    const step = newStep(type, graph.nodes.map((n) => n.id), spotBelow(graph.nodes.map((n) => n.position)));
    return { nodes: [...unselect(graph.nodes), step], edges: graph.edges };
  }
  const step = newStep(type, graph.nodes.map((n) => n.id), { x: 0, y: 0 });
  return tidy({ nodes: [...unselect(graph.nodes), step], edges: connectEdge(graph.edges, { source: after.id, sourceHandle: free, target: step.id }) });
}

/** Adds a node where it was dropped on the canvas (not on an edge): unconnected, selected. */
export function addAt(graph: Graph, type: NodeType, position: Point): Graph {
  const step = newStep(type, graph.nodes.map((n) => n.id), { x: Math.round(position.x - CARD_WIDTH / 2), y: Math.round(position.y) });
  return { ...graph, nodes: [...unselect(graph.nodes), step] };
}

/** What copying a selection keeps: the selected nodes and the edges between them. */
export interface Clip {
  nodes: CampaignNode[];
  positions: Point[];
  edges: Array<{ source: string; target: string; sourceHandle: string }>;
}

export function copySelection(graph: Graph): Clip | null {
  const chosen = graph.nodes.filter((n) => n.selected);
  if (chosen.length === 0) return null;
  const ids = new Set(chosen.map((n) => n.id));
  return {
    nodes: chosen.map((n) => structuredClone(n.data.node)),
    positions: chosen.map((n) => ({ ...n.position })),
    edges: graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map((e) => ({ source: e.source, target: e.target, sourceHandle: e.sourceHandle })),
  };
}

/**
 * Pastes a clip with fresh ids, offset so it does not cover the originals, and selects it. A
 * trigger is left out when the graph already has one (a campaign has one trigger).
 */
export function paste(graph: Graph, clip: Clip, offset: Point = { x: 40, y: 40 }): Graph {
  const taken = new Set(graph.nodes.map((n) => n.id));
  const hasTrigger = graph.nodes.some((n) => n.data.node.type === 'trigger');
  const renamed = new Map<string, string>();
  const added: FlowStep[] = [];
  clip.nodes.forEach((node, index) => {
    if (node.type === 'trigger' && hasTrigger) return;
    const id = nextNodeId(node.type, taken);
    taken.add(id);
    renamed.set(node.id, id);
    const position = clip.positions[index] ?? { x: 0, y: 0 };
    added.push({ id, type: 'step', position: { x: position.x + offset.x, y: position.y + offset.y }, data: { node: { ...structuredClone(node), id, name: node.name ? `${node.name} (copy)` : undefined } }, selected: true });
  });
  const edges = clip.edges.flatMap((e) => {
    const source = renamed.get(e.source);
    const target = renamed.get(e.target);
    return source && target ? [{ id: edgeId(source, e.sourceHandle, target), source, target, sourceHandle: e.sourceHandle, ...(e.sourceHandle === NEXT_HANDLE ? {} : { label: e.sourceHandle }) }] : [];
  });
  return { ...graph, nodes: [...unselect(graph.nodes), ...added], edges: [...graph.edges, ...edges] };
}

/** Removes nodes and edges by id (and the edges of removed nodes). */
export function remove(graph: Graph, nodeIds: ReadonlySet<string>, edgeIds: ReadonlySet<string>): Graph {
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !nodeIds.has(n.id)),
    edges: graph.edges.filter((e) => !edgeIds.has(e.id) && !nodeIds.has(e.source) && !nodeIds.has(e.target)),
  };
}
