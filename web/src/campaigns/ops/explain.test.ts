import { describe, expect, it } from 'vitest';
import type { CampaignDefinition } from '../../api';
import { explainStep, overlayOf, type PathStep } from './explain';

const definition: CampaignDefinition = {
  entryNodeId: 'start',
  nodes: [
    { id: 'start', type: 'trigger', config: { kind: 'tag_added', tag: 'trial' } },
    { id: 'hello', type: 'email', name: 'Welcome', config: { subject: 'Hi', html: '<p>Hi</p>' } },
    { id: 'wait', type: 'wait', config: { kind: 'event', name: 'purchased', timeoutSeconds: 86_400 } },
    {
      id: 'check',
      type: 'condition',
      config: {
        branches: [
          { id: 'engaged', name: 'Engaged', match: { operator: 'and', rules: [{ kind: 'email', nodeId: 'hello', event: 'opened', present: true }, { kind: 'tag', tag: 'vip', present: true }] } },
        ],
      },
    },
    { id: 'ab', type: 'split', config: { variants: [{ id: 'a', weight: 30 }, { id: 'b', weight: 70 }] } },
    { id: 'end', type: 'exit', config: { reason: 'done' } },
  ],
  edges: [
    { from: 'start', to: 'hello' },
    { from: 'hello', to: 'wait' },
    { from: 'wait', to: 'check' },
    { from: 'check', to: 'ab', handle: 'engaged' },
    { from: 'check', to: 'end', handle: 'default' },
    { from: 'ab', to: 'end', handle: 'a' },
  ],
};

const step = (nodeId: string, detail: Record<string, unknown> = {}, handle: string | null = null, at = '2026-01-01T10:00:00.000Z', outcome = 'completed'): PathStep => ({ nodeId, outcome, handle, at, detail });

describe('journeys in words', () => {
  it('explains every kind of step', () => {
    expect(explainStep(step('start'), definition)).toBe('Entered: Trigger: tag added');
    expect(explainStep(step('hello', { subject: 'Hi Ada' }), definition)).toBe('Sent “Hi Ada”');
    expect(explainStep(step('hello', { reason: 'unsubscribed' }, null, undefined, 'skipped'), definition)).toBe('Email skipped: the contact is unsubscribed');
    expect(explainStep(step('wait', { event: 'purchased' }), definition)).toBe('“purchased” happened, so went on');
    expect(explainStep(step('wait', { event: 'purchased', timedOut: true }, 'timeout'), definition)).toBe('No “purchased” before the timeout, so took “timeout”');
    expect(explainStep(step('check', { branch: 'engaged' }, 'engaged'), definition)).toBe('Took “Engaged” because the contact opened “Welcome” and has the tag “vip”');
    expect(explainStep(step('check', { branch: 'default' }, 'default'), definition)).toBe('No branch matched, so took “default” (not: (opened “Welcome” and has the tag “vip”))');
    expect(explainStep(step('ab', { variant: 'a' }, 'a'), definition)).toBe('Landed in variant “a” (30% of contacts)');
    expect(explainStep(step('end', { reason: 'done' }), definition)).toBe('Left the campaign: done');
    expect(explainStep(step('wait', { goal: 'purchased' }, null, undefined, 'skipped'), definition)).toBe('Reached the goal “purchased” and left the campaign');
    expect(explainStep(step('wait', { exitedBy: 'operator', reason: 'asked' }, null, undefined, 'skipped'), definition)).toBe('Exited by a team member (asked)');
    expect(explainStep(step('hello', { error: 'SMTP down' }, null, undefined, 'failed'), definition)).toBe('Failed: SMTP down');
  });

  it('builds the overlay: steps in order, the edges taken, where the contact is', () => {
    const overlay = overlayOf('Journey of Ada', [step('start', {}, 'next', '2026-01-01T10:00:00.000Z'), step('hello', { subject: 'Hi' }, 'next', '2026-01-01T10:00:01.000Z')], definition, 'wait');
    expect(overlay.steps.map((s) => s.nodeId)).toEqual(['start', 'hello']);
    expect(overlay.edges).toEqual([
      { source: 'start', target: 'hello' },
      { source: 'hello', target: 'wait' },
    ]);
    expect(overlay.currentNodeId).toBe('wait');
    expect(overlay.steps[1]!.at).toBe('2026-01-01T10:00:01.000Z');
  });
});
