import { describe, expect, it } from 'vitest';
import { ApiError, type CampaignDefinition, type CampaignNode } from '../api';
import { connectEdge, defaultConfig, definitionToFlow, edgeId, flowToDefinition, nextNodeId, problemsOf, pruneEdges, renameHandle, sourceHandles } from './builder';

const definition: CampaignDefinition = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', name: 'Start', position: { x: 0, y: 0 }, config: { kind: 'manual' } },
    { id: 'w', type: 'wait', position: { x: 0, y: 150 }, config: { kind: 'event', name: 'order_completed', timeoutSeconds: 60 } },
    { id: 'c', type: 'condition', position: { x: 0, y: 300 }, config: { branches: [{ id: 'vip', match: { operator: 'and', rules: [{ kind: 'tag', tag: 'vip', present: true }] } }] } },
    { id: 'x', type: 'exit', position: { x: 0, y: 450 }, config: {} },
  ],
  edges: [
    { from: 't', to: 'w' },
    { from: 'w', to: 'c', handle: 'next' },
    { from: 'w', to: 'x', handle: 'timeout' },
    { from: 'c', to: 'x', handle: 'vip' },
    { from: 'c', to: 'x', handle: 'default' },
  ],
  settings: { reentry: { mode: 'never' } },
};

describe('node handles', () => {
  const node = (type: CampaignNode['type'], config: Record<string, unknown>): CampaignNode => ({ id: 'n', type, config });
  it('follows the definition: next, wait timeout, condition branches + default, split variants, none for exit', () => {
    expect(sourceHandles(node('email', {}))).toEqual(['next']);
    expect(sourceHandles(node('wait', { kind: 'duration', seconds: 1 }))).toEqual(['next']);
    expect(sourceHandles(node('wait', { kind: 'event' }))).toEqual(['next', 'timeout']);
    expect(sourceHandles(node('condition', { branches: [{ id: 'a' }, { id: '' }, { id: 'b' }] }))).toEqual(['a', 'b', 'default']);
    expect(sourceHandles(node('split', defaultConfig('split')))).toEqual(['a', 'b']);
    expect(sourceHandles(node('exit', {}))).toEqual([]);
  });
});

describe('definition ⇄ flow', () => {
  it('round-trips a definition, keeping settings and leaving next implicit', () => {
    const flow = definitionToFlow(definition);
    expect(flow.nodes.map((n) => n.id)).toEqual(['t', 'w', 'c', 'x']);
    expect(flow.edges.map((e) => e.sourceHandle)).toEqual(['next', 'next', 'timeout', 'vip', 'default']);
    expect(flow.edges[2]!.label).toBe('timeout');
    const back = flowToDefinition(flow.nodes, flow.edges, definition.settings);
    expect(back).toEqual({ ...definition, edges: definition.edges.map((e) => (e.handle === 'next' ? { from: e.from, to: e.to } : e)) });
  });

  it('takes moved positions (rounded) and makes the trigger the entry', () => {
    const flow = definitionToFlow(definition);
    const moved = flow.nodes.map((n) => (n.id === 'x' ? { ...n, position: { x: 10.4, y: 99.6 } } : n));
    const back = flowToDefinition([...moved].reverse(), flow.edges);
    expect(back.entryNodeId).toBe('t');
    expect(back.nodes.find((n) => n.id === 'x')!.position).toEqual({ x: 10, y: 100 });
    expect('settings' in back).toBe(false);
  });

  it('lays out nodes without stored positions', () => {
    const flow = definitionToFlow({ entryNodeId: 'a', nodes: [{ id: 'a', type: 'trigger', config: {} }, { id: 'b', type: 'exit', config: {} }], edges: [{ from: 'a', to: 'b' }] });
    expect(flow.nodes[1]!.position.y).toBeGreaterThan(flow.nodes[0]!.position.y);
  });
});

describe('editing edges', () => {
  const flow = definitionToFlow(definition);

  it('replaces the edge already leaving a handle, and refuses a self-loop', () => {
    const edges = connectEdge(flow.edges, { source: 'w', sourceHandle: 'timeout', target: 'c' });
    expect(edges.filter((e) => e.source === 'w' && e.sourceHandle === 'timeout').map((e) => e.target)).toEqual(['c']);
    expect(edges).toHaveLength(flow.edges.length);
    expect(connectEdge(flow.edges, { source: 'c', target: 'c', sourceHandle: 'default' })).toBe(flow.edges);
    const viaNull = connectEdge([], { source: 't', target: 'x', sourceHandle: null });
    expect(viaNull).toEqual([{ id: edgeId('t', 'next', 'x'), source: 't', target: 'x', sourceHandle: 'next' }]);
  });

  it('drops edges from handles that no longer exist and to nodes that were removed', () => {
    const nodes = flow.nodes.map((n) => (n.id === 'w' ? { ...n, data: { node: { ...n.data.node, config: { kind: 'duration', seconds: 5 } } } } : n));
    const pruned = pruneEdges(nodes, flow.edges);
    expect(pruned.some((e) => e.sourceHandle === 'timeout')).toBe(false);
    expect(pruneEdges(nodes.filter((n) => n.id !== 'x'), flow.edges).every((e) => e.target !== 'x')).toBe(true);
  });

  it('renames a branch handle on its edges', () => {
    const renamed = renameHandle(flow.edges, 'c', 'vip', 'gold');
    expect(renamed.find((e) => e.source === 'c' && e.target === 'x' && e.sourceHandle === 'gold')?.id).toBe(edgeId('c', 'gold', 'x'));
    expect(renamed.filter((e) => e.sourceHandle === 'vip')).toEqual([]);
  });
});

describe('new nodes', () => {
  it('get the first free id and a config of the requested kind', () => {
    expect(nextNodeId('email', ['email-1', 'email-3'])).toBe('email-2');
    expect(defaultConfig('wait', 'event')).toMatchObject({ kind: 'event', timeoutSeconds: 259_200 });
    expect(defaultConfig('action', 'score_change')).toEqual({ kind: 'score_change', delta: 10 });
    expect(defaultConfig('trigger')).toEqual({ kind: 'manual' });
  });
});

describe('validation problems', () => {
  it('reads node, field and message from CAMPAIGN_INVALID details', () => {
    const error = new ApiError(400, 'CAMPAIGN_INVALID', 'invalid', [{ nodeId: 'e', field: 'config.subject', message: 'too short' }, { nodeId: null, field: 'entryNodeId', message: 'missing' }, 'junk']);
    expect(problemsOf(error)).toEqual([
      { nodeId: 'e', field: 'config.subject', message: 'too short' },
      { field: 'entryNodeId', message: 'missing' },
    ]);
    expect(problemsOf(new Error('x'))).toEqual([]);
  });
});
