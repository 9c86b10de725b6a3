/**
 * What a view lays over the builder's canvas without editing it: a simulated or a real contact's
 * path lit up node by node, each step with a short explanation. The simulation and journey panels
 * produce one; the canvas draws it (path nodes highlighted, the rest dimmed, notes on the cards).
 */
export interface OverlayStep {
  nodeId: string;
  /** One line a marketer reads on the card, e.g. "Waited 2 days" or "Took “yes”: opened Welcome". */
  note: string;
  /** When the contact reached the node (ISO time), for real journeys and simulations. */
  at?: string;
}

export interface CanvasOverlay {
  /** A title for the legend, e.g. "Simulation for ada@example.com" or "Journey of Ada Lovelace". */
  title: string;
  /** Nodes on the path in the order they were reached. */
  steps: OverlayStep[];
  /** The node the contact is at now (waiting, or where the simulation stopped), if any. */
  currentNodeId?: string;
  /** Edges taken, by source and target node id. */
  edges: { source: string; target: string }[];
}

/** The set of node ids an overlay lights up, for quick lookups while drawing. */
export function overlayNodeIds(overlay: CanvasOverlay | null | undefined): ReadonlySet<string> {
  return new Set(overlay ? overlay.steps.map((step) => step.nodeId) : []);
}
