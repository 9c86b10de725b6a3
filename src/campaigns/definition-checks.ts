/**
 * Checks a campaign definition before it is stored or published: the validator's rules (every
 * problem named by node and field), webhook hosts that must be public, and the segments and
 * subscription topics it names, which must exist in the workspace.
 */
import type { Queryable } from '../db/database.js';
import { missingTopics } from '../email/topics.js';
import { AppError } from '../http/errors.js';
import { requiredSegmentsOf, type CampaignDefinition } from './definition.js';
import { validateDefinition } from './validator.js';
import { webhookHostIssues } from './webhook-urls.js';
import type { DnsResolver } from './webhooks.js';

/**
 * Throws CAMPAIGN_INVALID listing every problem, each with node and field. With `dns` (saving a
 * draft), webhook hosts are also resolved and refused when not public (webhook-urls.ts).
 */
export async function assertValidDefinition(definition: unknown, dns?: DnsResolver): Promise<CampaignDefinition> {
  let issues = await validateDefinition(definition);
  if (issues.length === 0 && dns) issues = await webhookHostIssues(definition as CampaignDefinition, dns);
  if (issues.length > 0) {
    throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId ?? 'definition'} ${issues[0]!.field} ${issues[0]!.message}`, issues);
  }
  return definition as CampaignDefinition;
}

/** The workspace-dependent rule: every segment the definition names exists in this workspace. */
export async function assertSegmentsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const required = requiredSegmentsOf(definition);
  if (required.length === 0) return;
  const found = await q.query<{ id: string }>('SELECT id FROM segments WHERE workspace_id = $1 AND id = ANY($2::uuid[])', [workspaceId, required.map((r) => r.segmentId)]);
  const existing = new Set(found.rows.map((r) => r.id));
  const issues = required.filter((r) => !existing.has(r.segmentId)).map((r) => ({ nodeId: r.nodeId, field: r.field, message: `no segment ${r.segmentId} in this workspace` }));
  if (issues.length > 0) throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId ?? 'settings'} ${issues[0]!.field} ${issues[0]!.message}`, issues);
}

/** Every subscription topic an email node or an email_event trigger names exists in this workspace. */
export async function assertTopicsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const required = definition.nodes.flatMap((n) => {
    const topicId = n.type === 'email' ? n.config.topicId : n.type === 'trigger' && n.config.kind === 'email_event' ? n.config.topicId : undefined;
    return topicId ? [{ nodeId: n.id, topicId }] : [];
  });
  const issues = await missingTopics(q, workspaceId, required);
  if (issues.length > 0) throw new AppError('CAMPAIGN_INVALID', `The campaign definition has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.nodeId} ${issues[0]!.field} ${issues[0]!.message}`, issues);
}
