import { describe, expect, it } from 'vitest';
import { dripDefinition } from '../../test/campaign-support.js';
import { validateDefinition } from './validator.js';

type Def = { entryNodeId: string; nodes: Array<Record<string, unknown>>; edges: Array<Record<string, unknown>>; settings?: unknown };
const base = (): Def => dripDefinition() as unknown as Def;

describe('campaign definition validator', () => {
  it('accepts the drip definition', async () => {
    expect(await validateDefinition(base())).toEqual([]);
  });

  it('lists every problem at once, each with node and field', async () => {
    const def = base();
    def.nodes.push({ id: 'orphan', type: 'exit', config: {} });
    def.nodes.push({ id: 'weird', type: 'teleport', config: {} });
    (def.nodes[1]!.config as Record<string, unknown>).subject = '';
    (def.nodes[3]!.config as Record<string, unknown>).html = 'Hi {{ contact.first_name';
    const issues = await validateDefinition(def);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'orphan', field: 'id', code: 'node_unreachable' }),
        expect.objectContaining({ nodeId: 'weird', field: 'type', code: 'node_unknown_type' }),
        expect.objectContaining({ nodeId: 'welcome', field: 'config.subject' }),
        expect.objectContaining({ nodeId: 'followup', field: 'config.html' }),
      ]),
    );
  });

  it('refuses unknown template variables with the line', async () => {
    const def = base();
    (def.nodes[1]!.config as Record<string, unknown>).html = '<p>\n{{ secrets.key }}</p>';
    const issues = await validateDefinition(def);
    expect(issues).toEqual([expect.objectContaining({ nodeId: 'welcome', field: 'config.html', code: 'email_unknown_variable', message: expect.stringMatching(/“secrets”.*\(line 2\)/) })]);
  });

  it('refuses a condition without a default branch and a split whose weights are not 100', async () => {
    const def: Def = {
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'c', type: 'condition', config: { branches: [{ id: 'vip', match: { operator: 'and', rules: [{ kind: 'tag', tag: 'vip', present: true }] } }] } },
        { id: 's', type: 'split', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 40 }] } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'c' },
        { from: 'c', to: 's', handle: 'vip' },
        { from: 's', to: 'x', handle: 'a' },
        { from: 's', to: 'x', handle: 'b' },
      ],
    };
    const issues = await validateDefinition(def);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'c', field: 'edges.default', code: 'default_not_connected' }),
        expect.objectContaining({ nodeId: 's', field: 'config.variants', message: expect.stringContaining('add up to 90%') }),
      ]),
    );
    expect(issues).toHaveLength(2);
  });

  it('refuses a loop without a wait, and accepts it with one', async () => {
    const loop = (waitSeconds: number | null): Def => ({
      entryNodeId: 't',
      nodes: [
        { id: 't', type: 'trigger', config: { kind: 'manual' } },
        { id: 'a', type: 'action', config: { kind: 'score_change', delta: 1 } },
        ...(waitSeconds === null ? [] : [{ id: 'w', type: 'wait', config: { kind: 'duration', seconds: waitSeconds } }]),
        { id: 'c', type: 'condition', config: { branches: [{ id: 'hot', match: { operator: 'or', rules: [{ kind: 'score', op: 'gte', value: 80 }] } }] } },
        { id: 'x', type: 'exit', config: {} },
      ],
      edges: [
        { from: 't', to: 'a' },
        ...(waitSeconds === null ? [{ from: 'a', to: 'c' }] : [{ from: 'a', to: 'w' }, { from: 'w', to: 'c' }]),
        { from: 'c', to: 'x', handle: 'hot' },
        { from: 'c', to: 'a', handle: 'default' },
      ],
    });
    expect(await validateDefinition(loop(null))).toEqual([expect.objectContaining({ field: 'edges', code: 'loop_without_wait' })]);
    expect(await validateDefinition(loop(0))).toEqual([expect.objectContaining({ code: 'loop_without_wait' })]);
    expect(await validateDefinition(loop(3600))).toEqual([]);
  });

  it('names bad config fields, bad handles, a non-trigger entry and missing edges', async () => {
    const def: Def = {
      entryNodeId: 'e',
      nodes: [
        { id: 'e', type: 'email', config: { subject: 'Hi', html: '<p>x</p>' } },
        { id: 'e2', type: 'email', config: { subject: 'Hi', html: '<p>x</p>', bogus: 1 } },
        { id: 'w', type: 'wait', config: { kind: 'forever' } },
        { id: 'a', type: 'action', config: { kind: 'score_change', delta: 'lots' } },
      ],
      edges: [
        { from: 'e', to: 'w', handle: 'sideways' },
        { from: 'w', to: 'nowhere' },
        { from: 'w', to: 'e2' },
        { from: 'e2', to: 'a' },
      ],
    };
    const issues = await validateDefinition(def);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: 'e2', field: 'config', code: 'field_not_allowed', message: expect.stringContaining('bogus') }),
        expect.objectContaining({ nodeId: 'w', field: 'config.kind', message: 'Choose what kind of wait this is (duration, until time, event).' }),
        expect.objectContaining({ nodeId: 'a', field: 'config.delta' }),
        expect.objectContaining({ nodeId: 'e', field: 'type', code: 'entry_not_trigger' }),
        expect.objectContaining({ nodeId: 'e', field: 'edges', message: expect.stringContaining('“sideways”') }),
        expect.objectContaining({ nodeId: 'w', field: 'edges.1.to', code: 'edge_unknown_step' }),
      ]),
    );
  });
});
