/**
 * Automatic layout of the builder's canvas with dagre: top-down layers from the trigger, long
 * edges given their own lane (dagre's dummy nodes), so an edge never runs back through a card.
 * Returns each node's top-left position and each edge's route (the points dagre chose), which the
 * canvas draws while the two ends stay where the layout put them.
 */
import dagre from '@dagrejs/dagre';

/** The size every node card is drawn at (NodeCard.tsx keeps to it). */
export const CARD_WIDTH = 240;
export const CARD_HEIGHT = 118;
const RANK_GAP = 70;
const NODE_GAP = 50;
const EDGE_GAP = 20;

export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
  /** Where on the source card's bottom the edge leaves, from its left side; the middle by default. */
  sourceOffset?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  /** Top-left corner of each node. */
  positions: Map<string, Point>;
  /** The polyline of each edge, from the source's bottom to the target's top. */
  routes: Map<string, Point[]>;
}

/**
 * Lays out the graph. `order` (node ids in the order they were created) keeps siblings in a stable
 * left-to-right order; an edge to the entry (a loop back) is laid out as a back edge by dagre.
 */
export function autoLayout(nodeIds: readonly string[], edges: readonly LayoutEdge[], entryId?: string): Layout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', ranksep: RANK_GAP, nodesep: NODE_GAP, edgesep: EDGE_GAP, marginx: 0, marginy: 0, ranker: 'network-simplex' });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodeIds);
  const ordered = entryId && ids.has(entryId) ? [entryId, ...nodeIds.filter((id) => id !== entryId)] : [...nodeIds];
  for (const id of ordered) graph.setNode(id, { width: CARD_WIDTH, height: CARD_HEIGHT });
  for (const edge of edges) {
    if (!ids.has(edge.source) || !ids.has(edge.target) || edge.source === edge.target) continue;
    graph.setEdge(edge.source, edge.target, { minlen: 1, weight: 1 }, edge.id);
  }
  dagre.layout(graph);
  const positions = new Map<string, Point>();
  for (const id of ordered) {
    const node = graph.node(id);
    positions.set(id, { x: Math.round(node.x - CARD_WIDTH / 2), y: Math.round(node.y - CARD_HEIGHT / 2) });
  }
  const lanes = new Map<string, Point[]>();
  for (const e of graph.edges()) {
    const label = graph.edge(e) as { points?: Point[] };
    // dagre's first and last points are where the edge meets the cards' outlines; the lane is between.
    if (e.name && label.points) lanes.set(e.name, label.points.slice(1, -1));
  }
  orderBranches(positions, edges, lanes);
  const routes = new Map<string, Point[]>();
  const bands = [...new Set([...positions.values()].map((p) => p.y))].map((top) => ({ top, bottom: top + CARD_HEIGHT }));
  for (const edge of edges) {
    const from = positions.get(edge.source);
    const to = positions.get(edge.target);
    const lane = lanes.get(edge.id);
    if (!from || !to || !lane) continue;
    routes.set(edge.id, orthogonal({ x: from.x + (edge.sourceOffset ?? CARD_WIDTH / 2), y: from.y + CARD_HEIGHT }, lane, { x: to.x + CARD_WIDTH / 2, y: to.y }, bands));
  }
  return { positions, routes };
}

/**
 * dagre orders each layer to cut crossings but knows nothing of handles, so a split's first branch
 * may land right of its second and their edges cross under the card. Where every branch of a node
 * sits in the layer right below it, is reached from that node alone, and has only edges to the
 * next or previous layer, the branches swap places into their handles' left-to-right order; the
 * edges of the moved cards are then routed between the layers (an empty lane).
 */
function orderBranches(positions: Map<string, Point>, edges: readonly LayoutEdge[], lanes: Map<string, Point[]>): void {
  const step = CARD_HEIGHT + RANK_GAP;
  const adjacent = (a: Point | undefined, b: Point | undefined) => !!a && !!b && Math.abs(Math.abs(a.y - b.y) - step) < 1;
  const inDegree = new Map<string, number>();
  for (const edge of edges) inDegree.set(edge.target, (inDegree.get(edge.target) ?? 0) + 1);
  const bySource = new Map<string, LayoutEdge[]>();
  for (const edge of edges) if (edge.sourceOffset !== undefined && edge.source !== edge.target) bySource.set(edge.source, [...(bySource.get(edge.source) ?? []), edge]);
  for (const [source, out] of bySource) {
    const from = positions.get(source);
    const targets = out.map((e) => e.target);
    if (!from || out.length < 2 || new Set(targets).size !== targets.length) continue;
    const movable = targets.every((t) => {
      const at = positions.get(t);
      return at !== undefined && Math.abs(at.y - (from.y + step)) < 1 && inDegree.get(t) === 1 && edges.every((e) => (e.source !== t && e.target !== t) || adjacent(positions.get(e.source), positions.get(e.target)));
    });
    if (!movable) continue;
    const slots = targets.map((t) => positions.get(t)!.x).sort((a, b) => a - b);
    const wanted = [...out].sort((a, b) => a.sourceOffset! - b.sourceOffset!).map((e) => e.target);
    if (wanted.every((t, i) => positions.get(t)!.x === slots[i])) continue;
    wanted.forEach((t, i) => positions.set(t, { x: slots[i]!, y: positions.get(t)!.y }));
    const moved = new Set(targets);
    for (const edge of edges) if (moved.has(edge.source) || moved.has(edge.target)) lanes.set(edge.id, []);
  }
}

const CLEARANCE = 10;

/**
 * A route of vertical and horizontal segments through dagre's lane points: vertical moves keep to
 * the lane's x (free of cards in every layer it crosses), horizontal moves happen only in the gaps
 * between layers, where there are no cards.
 */
function orthogonal(start: Point, lane: Point[], end: Point, bands: Array<{ top: number; bottom: number }>): Point[] {
  const inGap = (y: number) => bands.every((band) => y <= band.top - CLEARANCE || y >= band.bottom + CLEARANCE);
  const gapBetween = (a: number, b: number): number => {
    const candidates = bands.flatMap((band) => [band.top - RANK_GAP / 2, band.bottom + RANK_GAP / 2]).filter((y) => inGap(y) && y >= Math.min(a, b) && y <= Math.max(a, b));
    return candidates.sort((u, v) => Math.abs(u - a) - Math.abs(v - a))[0] ?? (a + b) / 2;
  };
  const path: Point[] = [start];
  const points = [...lane, end];
  let at = start;
  for (const next of points) {
    if (next.x !== at.x) {
      if (inGap(at.y)) path.push({ x: next.x, y: at.y });
      else if (inGap(next.y)) path.push({ x: at.x, y: next.y });
      else {
        const y = gapBetween(at.y, next.y);
        path.push({ x: at.x, y }, { x: next.x, y });
      }
    }
    path.push(next);
    at = next;
  }
  // Drop points that do not turn.
  return path.filter((p, i) => {
    const a = path[i - 1];
    const b = path[i + 1];
    if (!a || !b) return true;
    return !((a.x === p.x && p.x === b.x) || (a.y === p.y && p.y === b.y));
  });
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Whether two boxes overlap (touching edges do not count). */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Whether the segment p→q passes through the inside of a box (shrunk by `inset` so touching its border does not count). */
export function segmentCrossesBox(p: Point, q: Point, box: Box, inset = 2): boolean {
  const left = box.x + inset;
  const right = box.x + box.width - inset;
  const top = box.y + inset;
  const bottom = box.y + box.height - inset;
  // Liang–Barsky clipping: the segment crosses the box when a part of it remains after clipping.
  let t0 = 0;
  let t1 = 1;
  const dx = q.x - p.x;
  const dy = q.y - p.y;
  const checks: Array<[number, number]> = [
    [-dx, p.x - left],
    [dx, right - p.x],
    [-dy, p.y - top],
    [dy, bottom - p.y],
  ];
  for (const [pk, qk] of checks) {
    if (pk === 0) {
      if (qk < 0) return false;
    } else {
      const r = qk / pk;
      if (pk < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
      if (t0 > t1) return false;
    }
  }
  return true;
}

/** The first free position below the lowest card, for a node added with nowhere else to go. */
export function spotBelow(positions: Iterable<Point>): Point {
  let lowest = -CARD_HEIGHT - RANK_GAP;
  let left = 0;
  for (const p of positions) {
    if (p.y > lowest) {
      lowest = p.y;
      left = p.x;
    }
  }
  return { x: left, y: lowest + CARD_HEIGHT + RANK_GAP };
}
