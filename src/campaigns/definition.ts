/**
 * What the server does with a campaign definition beyond its schema (definition.schemas.ts, which
 * this module re-exports): its goal, the segments it names, its handles, and the compiled form the
 * engine walks.
 */
export * from './definition.schemas.js';
import type { CampaignDefinition, DefinitionEdge, DefinitionNode } from './definition.schemas.js';

/** The goal event name of a definition (stored as campaign_versions.goal_event), if its goal is an event. */
export function goalEventOf(definition: CampaignDefinition): string | null {
  const goal = definition.settings?.goal;
  return goal && 'eventName' in goal ? goal.eventName : null;
}

/** The goal segment of a definition (stored as campaign_versions.goal_segment_id), if its goal is a segment. */
export function goalSegmentOf(definition: CampaignDefinition): string | null {
  const goal = definition.settings?.goal;
  return goal && 'kind' in goal ? goal.segmentId : null;
}

/** The segments a definition names that must exist in its workspace: the broadcast audience and the goal. */
export function requiredSegmentsOf(definition: CampaignDefinition): Array<{ nodeId: string | null; field: string; segmentId: string }> {
  const out: Array<{ nodeId: string | null; field: string; segmentId: string }> = [];
  const entry = definition.nodes.find((n) => n.id === definition.entryNodeId);
  if (entry?.type === 'trigger' && entry.config.kind === 'broadcast') out.push({ nodeId: entry.id, field: 'config.segmentId', segmentId: entry.config.segmentId });
  const goal = goalSegmentOf(definition);
  if (goal) out.push({ nodeId: null, field: 'settings.goal.segmentId', segmentId: goal });
  return out;
}

export const NEXT_HANDLE = 'next';
export const DEFAULT_HANDLE = 'default';
export const TIMEOUT_HANDLE = 'timeout';

/** The handle an edge leaves by; edges drawn without one leave by `next`. */
export function handleOf(edge: DefinitionEdge): string {
  return edge.handle ?? NEXT_HANDLE;
}

/** A definition indexed for execution: node by id and target by (node, handle). */
export interface CompiledDefinition {
  definition: CampaignDefinition;
  nodes: Map<string, DefinitionNode>;
  next: Map<string, Map<string, string>>;
}

export function compileDefinition(definition: CampaignDefinition): CompiledDefinition {
  const nodes = new Map(definition.nodes.map((n) => [n.id, n]));
  const next = new Map<string, Map<string, string>>();
  for (const edge of definition.edges) {
    let out = next.get(edge.from);
    if (!out) {
      out = new Map();
      next.set(edge.from, out);
    }
    out.set(handleOf(edge), edge.to);
  }
  return { definition, nodes, next };
}
