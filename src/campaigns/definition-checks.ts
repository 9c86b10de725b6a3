/**
 * Checks a campaign definition before it is stored or published: the validator's rules (every
 * problem named by node and field, worded by problem-wording.ts), webhook hosts that must be
 * public, and the segments and subscription topics it names, which must exist in the workspace.
 * Publishing and creating refuse any problem; saving a draft stores it with its problems.
 */
import type { Queryable } from '../db/database.js';
import { missingTopics } from '../email/topics.js';
import { AppError } from '../http/errors.js';
import { requiredSegmentsOf, type CampaignDefinition } from './definition.js';
import { issueOf, validateDefinition, type DefinitionIssue } from './validator.js';
import { webhookHostIssues } from './webhook-urls.js';
import type { DnsResolver } from './webhooks.js';

/** CAMPAIGN_INVALID with every problem in `details` and the first one's sentence in the message. */
export function invalidDefinition(issues: DefinitionIssue[]): AppError {
  const count = issues.length === 1 ? 'a problem' : `${issues.length} problems`;
  return new AppError('CAMPAIGN_INVALID', `The campaign has ${count} to fix before it can go live. ${issues[0]!.message}`, issues);
}

/** The problems of a definition the validator can judge alone, plus webhook hosts when `dns` is given. */
export async function ruleIssues(definition: unknown, dns?: DnsResolver): Promise<DefinitionIssue[]> {
  const issues = await validateDefinition(definition);
  if (issues.length === 0 && dns) return webhookHostIssues(definition as CampaignDefinition, dns);
  return issues;
}

/**
 * Throws CAMPAIGN_INVALID listing every problem, each with node and field. With `dns` (saving a
 * draft), webhook hosts are also resolved and refused when not public (webhook-urls.ts).
 */
export async function assertValidDefinition(definition: unknown, dns?: DnsResolver): Promise<CampaignDefinition> {
  const issues = await ruleIssues(definition, dns);
  if (issues.length > 0) throw invalidDefinition(issues);
  return definition as CampaignDefinition;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Whether a draft can be stored and drawn again although it may have problems: an object with a
 * list of nodes (each an object with a string id) and a list of edges. Anything else is refused.
 */
export function assertDrawableDraft(definition: unknown): void {
  const drawable =
    isObject(definition) &&
    Array.isArray(definition.nodes) &&
    Array.isArray(definition.edges) &&
    definition.nodes.length <= 2000 &&
    definition.edges.length <= 10_000 &&
    definition.nodes.every((node) => isObject(node) && typeof node.id === 'string') &&
    definition.edges.every((edge) => isObject(edge));
  if (!drawable) throw invalidDefinition([issueOf(null, 'definition', 'definition_unreadable')]);
}

/** The segments and topics a valid definition names that do not exist in the workspace. */
export async function referenceIssues(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<DefinitionIssue[]> {
  return [...(await segmentIssues(q, workspaceId, definition)), ...(await topicIssues(q, workspaceId, definition))];
}

async function segmentIssues(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<DefinitionIssue[]> {
  const required = requiredSegmentsOf(definition);
  if (required.length === 0) return [];
  const found = await q.query<{ id: string }>('SELECT id FROM segments WHERE workspace_id = $1 AND id = ANY($2::uuid[])', [workspaceId, required.map((r) => r.segmentId)]);
  const existing = new Set(found.rows.map((r) => r.id));
  return required.filter((r) => !existing.has(r.segmentId)).map((r) => issueOf(r.nodeId, r.field, 'segment_missing'));
}

async function topicIssues(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<DefinitionIssue[]> {
  const required = definition.nodes.flatMap((n) => {
    const topicId = n.type === 'email' ? n.config.topicId : n.type === 'trigger' && n.config.kind === 'email_event' ? n.config.topicId : undefined;
    return topicId ? [{ nodeId: n.id, topicId }] : [];
  });
  const missing = await missingTopics(q, workspaceId, required);
  return missing.map((m) => issueOf(m.nodeId, m.field, 'topic_missing'));
}

/** The workspace-dependent rule: every segment the definition names exists in this workspace. */
export async function assertSegmentsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const issues = await segmentIssues(q, workspaceId, definition);
  if (issues.length > 0) throw invalidDefinition(issues);
}

/** Every subscription topic an email node or an email_event trigger names exists in this workspace. */
export async function assertTopicsExist(q: Queryable, workspaceId: string, definition: CampaignDefinition): Promise<void> {
  const issues = await topicIssues(q, workspaceId, definition);
  if (issues.length > 0) throw invalidDefinition(issues);
}
