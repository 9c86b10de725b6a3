/**
 * Words for a journey: each step a contact took (simulated or real) explained in a sentence a
 * marketer reads — which email was sent, how long a wait lasted, which branch a condition took
 * and why — and the CanvasOverlay (overlay.ts) the canvas draws from the same steps.
 */
import type { ConditionRuleValue, DefinitionNode, RuleGroup } from '@server/campaigns/definition.schemas.js';
import type { CampaignDefinition } from '../../api';
import { describeNode, formatDuration } from '../graph';
import type { CanvasOverlay } from '../overlay';

export interface PathStep {
  nodeId: string;
  outcome: string;
  handle: string | null;
  at: string;
  detail: Record<string, unknown>;
}

const OPERATOR_WORDS: Record<string, string> = { eq: 'is', neq: 'is not', gt: 'is more than', gte: 'is at least', lt: 'is less than', lte: 'is at most', contains: 'contains', exists: 'is set', not_exists: 'is not set' };
const ENGAGEMENT_WORDS: Record<string, string> = { delivered: 'delivered', opened: 'opened', clicked: 'clicked', replied: 'replied to', bounced: 'bounced', unsubscribed: 'unsubscribed from' };

const nodeOf = (definition: CampaignDefinition, id: string): DefinitionNode | undefined => definition.nodes.find((n) => n.id === id) as DefinitionNode | undefined;
const nameOf = (definition: CampaignDefinition, id: string): string => nodeOf(definition, id)?.name || id;
const time = (iso: string) => new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

/** A rule in words, e.g. "has the tag “vip”" or "opened “Welcome”". */
export function describeRule(rule: ConditionRuleValue | RuleGroup, definition: CampaignDefinition): string {
  if ('operator' in rule) return `(${rule.rules.map((r) => describeRule(r, definition)).join(rule.operator === 'and' ? ' and ' : ' or ')})`;
  switch (rule.kind) {
    case 'tag':
      return `${rule.present ? 'has' : 'does not have'} the tag “${rule.tag}”`;
    case 'field':
      return `${rule.field} ${OPERATOR_WORDS[rule.op] ?? rule.op}${rule.op === 'exists' || rule.op === 'not_exists' ? '' : ` “${String(rule.value ?? '')}”`}`;
    case 'score':
      return `score ${OPERATOR_WORDS[rule.op] ?? rule.op} ${rule.value}`;
    case 'event':
      return `${rule.present ? 'did' : 'did not do'} “${rule.name}”${rule.withinSeconds ? ` in the last ${formatDuration(rule.withinSeconds)}` : ''}`;
    case 'email':
      return `${rule.present ? '' : 'never '}${ENGAGEMENT_WORDS[rule.event] ?? rule.event} “${nameOf(definition, rule.nodeId)}”`.trim();
  }
}

/** One sentence for a step of a journey. */
export function explainStep(step: PathStep, definition: CampaignDefinition, previousAt?: string): string {
  const d = step.detail;
  if (step.outcome === 'failed') return `Failed: ${typeof d.error === 'string' ? d.error : 'an error'}`;
  if (d.exitedBy === 'operator') return `Exited by a team member${typeof d.reason === 'string' && d.reason !== 'operator' ? ` (${d.reason})` : ''}`;
  if (typeof d.goal === 'string') return `Reached the goal “${d.goal}” and left the campaign`;
  const node = nodeOf(definition, step.nodeId);
  if (!node) return `Passed a step that is no longer in the draft (${step.nodeId})`;
  switch (node.type) {
    case 'trigger':
      return `Entered: ${describeNode(node)}`;
    case 'email':
      if (step.outcome === 'skipped') return d.reason === 'unsubscribed' ? 'Email skipped: the contact is unsubscribed' : 'Email skipped';
      return `Sent “${typeof d.subject === 'string' ? d.subject : node.config.subject}”`;
    case 'wait': {
      if (typeof d.event === 'string') return d.timedOut ? `No “${d.event}” before the timeout, so took “timeout”` : `“${d.event}” happened, so went on`;
      const waited = previousAt ? Math.max(0, Math.round((Date.parse(step.at) - Date.parse(previousAt)) / 1000)) : 0;
      const zone = typeof d.timezone === 'string' ? ` (${d.timezone})` : '';
      return waited > 0 ? `Waited ${formatDuration(waited)}, until ${time(step.at)}${zone}` : `Wait over at ${time(step.at)}${zone}`;
    }
    case 'condition': {
      const branchId = typeof d.branch === 'string' ? d.branch : step.handle;
      const branch = node.config.branches.find((b) => b.id === branchId);
      if (!branch) return `No branch matched, so took “default”${node.config.branches.length > 0 ? ` (not: ${node.config.branches.map((b) => describeRule(b.match, definition)).join('; ')})` : ''}`;
      return `Took “${branch.name || branch.id}” because the contact ${describeRule(branch.match, definition).replace(/^\((.*)\)$/, '$1')}`;
    }
    case 'split': {
      const variant = node.config.variants.find((v) => v.id === (typeof d.variant === 'string' ? d.variant : step.handle));
      return variant ? `Landed in variant “${variant.id}” (${variant.weight}% of contacts)` : `Landed in variant “${step.handle ?? '?'}”`;
    }
    case 'action':
      switch (node.config.kind) {
        case 'tag_add':
          return `Tagged “${node.config.tag}”`;
        case 'tag_remove':
          return `Removed the tag “${node.config.tag}”`;
        case 'score_change':
          return `Score changed by ${node.config.delta > 0 ? '+' : ''}${node.config.delta}`;
        case 'field_update':
          return `Set ${node.config.field} to “${String(node.config.value)}”`;
        case 'webhook':
          return `Called ${node.config.url}`;
        case 'notify':
          return `Notified a team member: “${node.config.subject}”`;
      }
      return 'Action done';
    case 'exit':
      return `Left the campaign${node.config.reason ? `: ${node.config.reason}` : ''}`;
  }
}

/** The overlay of a path: its steps explained, the edges between consecutive steps, where it stands. */
export function overlayOf(title: string, steps: PathStep[], definition: CampaignDefinition, currentNodeId?: string): CanvasOverlay {
  const edges: CanvasOverlay['edges'] = [];
  steps.forEach((step, index) => {
    const next = steps[index + 1]?.nodeId ?? currentNodeId;
    if (next && next !== step.nodeId && definition.edges.some((e) => e.from === step.nodeId && e.to === next)) edges.push({ source: step.nodeId, target: next });
  });
  return {
    title,
    steps: steps.map((step, index) => ({ nodeId: step.nodeId, note: explainStep(step, definition, steps[index - 1]?.at), at: step.at })),
    edges,
    ...(currentNodeId ? { currentNodeId } : {}),
  };
}
