import { describe, expect, it } from 'vitest';
import type { CampaignDefinition } from '../api';
import { COLUMN_GAP, describeNode, formatDuration, LAYER_GAP, layers, layoutDefinition, standardDrip, textToHtml } from './graph';

const branching: CampaignDefinition = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'manual' } },
    { id: 'c', type: 'condition', config: {} },
    { id: 'e', type: 'email', config: { subject: 'Hi' } },
    { id: 'x', type: 'exit', config: {} },
    { id: 'orphan', type: 'action', config: { kind: 'add_tag' } },
  ],
  edges: [
    { from: 't', to: 'c' },
    { from: 'c', to: 'e', handle: 'no' },
    { from: 'c', to: 'x', handle: 'yes' },
    { from: 'e', to: 'x' },
  ],
};

describe('campaign graph layout', () => {
  it('puts each node below every node that leads to it, and unreachable nodes last', () => {
    const depth = layers(branching);
    expect(Object.fromEntries(depth)).toEqual({ t: 0, c: 1, e: 2, x: 3, orphan: 4 });
  });

  it('moves a node aside when an edge passes through its layer', () => {
    const laid = Object.fromEntries(layoutDefinition(branching).map((n) => [n.node.id, n.x]));
    // c → x skips the layer of e, so e is not centred under c where that edge runs.
    expect(laid.c).toBe(0);
    expect(laid.x).toBe(0);
    expect(Math.abs(laid.e!)).toBeGreaterThanOrEqual(COLUMN_GAP / 2);
  });

  it('terminates on cycles', () => {
    const cyclic: CampaignDefinition = {
      entryNodeId: 'a',
      nodes: [
        { id: 'a', type: 'trigger', config: {} },
        { id: 'b', type: 'wait', config: {} },
        { id: 'c', type: 'email', config: {} },
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'b' },
        { from: 'c', to: 'a' },
      ],
    };
    const depth = layers(cyclic);
    expect(depth.get('a')).toBe(0);
    expect(Math.max(...depth.values())).toBeLessThanOrEqual(3);
  });

  it('keeps stored positions and lays out the others in centred layers', () => {
    const definition: CampaignDefinition = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', position: { x: 500, y: -20 }, config: {} },
        { id: 'a', type: 'email', config: {} },
        { id: 'b', type: 'email', config: {} },
      ],
      edges: [
        { from: 't', to: 'a' },
        { from: 't', to: 'b' },
      ],
    };
    const laid = Object.fromEntries(layoutDefinition(definition).map((n) => [n.node.id, { x: n.x, y: n.y }]));
    expect(laid.t).toEqual({ x: 500, y: -20 });
    expect(laid.a!.y).toBe(LAYER_GAP);
    expect(laid.b!.y).toBe(LAYER_GAP);
    expect(laid.a!.x).toBe(-laid.b!.x);
    expect(laid.a!.x).not.toBe(laid.b!.x);
  });
});

describe('standard drip', () => {
  it('chains trigger → email → wait → email → exit with positions', () => {
    const definition = standardDrip({ firstSubject: 'One', firstHtml: '<p>1</p>', waitSeconds: 172_800, secondSubject: 'Two', secondHtml: '<p>2</p>' });
    expect(definition.entryNodeId).toBe('trigger');
    expect(definition.nodes.map((n) => n.type)).toEqual(['trigger', 'email', 'wait', 'email', 'exit']);
    expect(definition.edges).toEqual([
      { from: 'trigger', to: 'email-1' },
      { from: 'email-1', to: 'wait-1' },
      { from: 'wait-1', to: 'email-2' },
      { from: 'email-2', to: 'exit' },
    ]);
    expect(definition.nodes[0]!.config).toEqual({ kind: 'manual' });
    expect(definition.nodes[2]!.config).toEqual({ kind: 'duration', seconds: 172_800 });
    expect(definition.nodes[3]!.config).toEqual({ subject: 'Two', html: '<p>2</p>' });
    expect(definition.nodes.every((n) => n.position !== undefined)).toBe(true);
  });
});

describe('node descriptions', () => {
  it('says what each node does', () => {
    expect(describeNode({ id: 't', type: 'trigger', config: { kind: 'manual' } })).toBe('Manual enrollment');
    expect(describeNode({ id: 't', type: 'trigger', config: { kind: 'tag_added' } })).toBe('Trigger: tag added');
    expect(describeNode({ id: 'w', type: 'wait', config: { kind: 'duration', seconds: 3600 } })).toBe('Wait 1 hour');
    expect(describeNode({ id: 'e', type: 'email', config: { subject: 'Hello' } })).toBe('“Hello”');
    expect(describeNode({ id: 'x', type: 'exit', config: {} })).toBe('Leave the campaign');
  });

  it('formats durations in the largest whole unit', () => {
    expect(formatDuration(172_800)).toBe('2 days');
    expect(formatDuration(90)).toBe('90 seconds');
    expect(formatDuration(120)).toBe('2 minutes');
  });
});

describe('textToHtml', () => {
  it('escapes markup and keeps paragraphs and line breaks', () => {
    expect(textToHtml('Hi <b>{{ contact.firstName }}</b>\nline two\n\nSecond & last')).toBe(
      '<p>Hi &lt;b&gt;{{ contact.firstName }}&lt;/b&gt;<br>line two</p>\n<p>Second &amp; last</p>',
    );
  });
});
