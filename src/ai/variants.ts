/**
 * Personalized campaign email at send time, and the review queue. The sender hands each claimed
 * message whose campaign node asked for personalization to `personalizeMessage` before it goes to
 * the provider. Generated variants are stored per (original content, contact, generator): a
 * retried send reuses its variant, and when the policy requires approval a new variant waits
 * as `pending` while the original is sent; once approved, later sends of the same content to that
 * contact use it. Any failure sends the original. The message records what happened (ai_outcome,
 * ai_reason) and keeps the content actually sent.
 */
import { createHash } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { textFromHtml } from '../email/render.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, SYSTEM_ACTOR, type Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { OFFLINE_MODEL } from './offline.js';
import type { AiMode, AiService } from './personalize.js';
import { getPolicy } from './policy.js';
import type { AiSettings } from './settings.js';

export interface PersonalizableMessage {
  id: string;
  workspaceId: string;
  contactId: string | null;
  sourceType: string;
  sourceId: string | null;
  subject: string;
  html: string;
  text: string;
  aiMode: AiMode;
}

export interface SentContent {
  subject: string;
  html: string;
  text: string;
}

export type VariantStatus = 'approved' | 'pending' | 'rejected';

function contentHash(m: Pick<PersonalizableMessage, 'subject' | 'html' | 'text'>): string {
  return createHash('sha256').update(JSON.stringify([m.subject, m.html, m.text])).digest('hex');
}

function withPreheader(html: string, preheader: string): string {
  if (preheader.trim() === '') return html;
  const escaped = preheader.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const hidden = `<div style="display:none;max-height:0;overflow:hidden">${escaped}</div>`;
  const body = /<body\b[^>]*>/i.exec(html);
  return body ? html.slice(0, body.index + body[0].length) + hidden + html.slice(body.index + body[0].length) : hidden + html;
}

export function createMessagePersonalizer(deps: { db: Database; clock: Clock; logger: Logger; service: AiService; settings: AiSettings }) {
  const { db, clock } = deps;
  const record = async (m: PersonalizableMessage, outcome: string, reason: string | null, content: SentContent): Promise<SentContent> => {
    await db.query('UPDATE messages SET subject = $2, html = $3, text_body = $4, ai_outcome = $5, ai_reason = $6 WHERE id = $1 AND ai_outcome IS NULL', [m.id, content.subject, content.html, content.text, outcome, reason]);
    return content;
  };
  return async function personalizeMessage(m: PersonalizableMessage): Promise<SentContent> {
    const original: SentContent = { subject: m.subject, html: m.html, text: m.text };
    try {
      if (!m.contactId) return await record(m, 'fallback', 'the message has no contact', original);
      const settings = m.aiMode === 'offline' ? null : await deps.settings.get(m.workspaceId);
      const generator = settings && settings.provider !== 'offline' ? `${settings.provider}:${settings.model}` : `offline:${OFFLINE_MODEL}`;
      const hash = contentHash(m);
      const campaignId = m.sourceType === 'campaign' ? m.sourceId : null;
      const policy = await getPolicy(db, m.workspaceId);
      // The offline rules are deterministic and free: with no approval to wait for, nothing is
      // worth caching, and skipping the variant row saves two statements per email.
      const store = m.aiMode === 'provider' || policy.requireApproval;
      const existing = store
        ? await db.query<{ status: VariantStatus; subject: string; html: string; text_body: string }>(
            'SELECT status, subject, html, text_body FROM ai_variants WHERE workspace_id = $1 AND content_hash = $2 AND contact_id = $3 AND generator = $4',
            [m.workspaceId, hash, m.contactId, generator],
          )
        : { rows: [] };
      const cached = existing.rows[0];
      if (cached) {
        if (cached.status === 'approved') return await record(m, 'personalized', 'cached variant', { subject: cached.subject, html: cached.html, text: cached.text_body });
        return await record(m, cached.status === 'pending' ? 'pending_approval' : 'rejected', `the variant is ${cached.status}; the original was sent`, original);
      }
      const result = await deps.service.personalize({ workspaceId: m.workspaceId, actor: SYSTEM_ACTOR, draft: { subject: m.subject, preheader: '', html: m.html }, contactId: m.contactId, mode: m.aiMode, links: { messageId: m.id, campaignId }, policy });
      if (result.outcome !== 'ok') return await record(m, 'fallback', `${result.reasonCode}: ${result.reason}`, original);
      const html = withPreheader(result.draft.html, result.draft.preheader);
      const content: SentContent = { subject: result.draft.subject, html, text: textFromHtml(html) };
      const status: VariantStatus = policy.requireApproval ? 'pending' : 'approved';
      if (store) await db.query(
        `INSERT INTO ai_variants (workspace_id, content_hash, contact_id, generator, campaign_id, original, subject, html, text_body, changes, status, ai_call_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (workspace_id, content_hash, contact_id, generator) DO NOTHING`,
        [m.workspaceId, hash, m.contactId, generator, campaignId, JSON.stringify(original), content.subject, content.html, content.text, JSON.stringify(result.changes), status, result.callId, clock.now()],
      );
      if (status === 'pending') return await record(m, 'pending_approval', 'the policy requires approval; the original was sent', original);
      return await record(m, 'personalized', result.changes.join('; ') || 'nothing to change', content);
    } catch (error) {
      // No email is lost or held because AI failed: anything unexpected sends the original.
      deps.logger.error({ err: error, messageId: m.id }, 'personalization failed; sending the original');
      return await record(m, 'fallback', 'INTERNAL: an unexpected error', original).catch(() => original);
    }
  };
}

export interface VariantView {
  id: string;
  contactId: string;
  campaignId: string | null;
  generator: string;
  status: VariantStatus;
  original: SentContent;
  subject: string;
  html: string;
  text: string;
  changes: string[];
  createdAt: string;
  reviewedBy: string | null;
  reviewedAt: string | null;
}

const VARIANT_COLUMNS = 'id, contact_id, campaign_id, generator, status, original, subject, html, text_body, changes, created_at, reviewed_by, reviewed_at';

function viewOf(r: Record<string, unknown>): VariantView {
  return {
    id: r.id as string,
    contactId: r.contact_id as string,
    campaignId: (r.campaign_id as string | null) ?? null,
    generator: r.generator as string,
    status: r.status as VariantStatus,
    original: r.original as SentContent,
    subject: r.subject as string,
    html: r.html as string,
    text: r.text_body as string,
    changes: r.changes as string[],
    createdAt: (r.created_at as Date).toISOString(),
    reviewedBy: (r.reviewed_by as string | null) ?? null,
    reviewedAt: r.reviewed_at ? (r.reviewed_at as Date).toISOString() : null,
  };
}

export async function listVariants(q: Queryable, workspaceId: string, status: VariantStatus): Promise<VariantView[]> {
  const result = await q.query<Record<string, unknown>>(`SELECT ${VARIANT_COLUMNS} FROM ai_variants WHERE workspace_id = $1 AND status = $2 ORDER BY created_at LIMIT 200`, [workspaceId, status]);
  return result.rows.map(viewOf);
}

export async function reviewVariant(db: Database, clock: Clock, workspaceId: string, id: string, decision: 'approved' | 'rejected', actor: Actor): Promise<VariantView> {
  return db.transaction(async (tx) => {
    const current = await tx.query<{ status: VariantStatus }>('SELECT status FROM ai_variants WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [workspaceId, id]);
    if (!current.rows[0]) throw notFound('Variant');
    if (current.rows[0].status !== 'pending') throw new AppError('AI_VARIANT_NOT_PENDING', `the variant is already ${current.rows[0].status}`);
    const result = await tx.query<Record<string, unknown>>(
      `UPDATE ai_variants SET status = $3, reviewed_by = $4, reviewed_at = $5 WHERE workspace_id = $1 AND id = $2 RETURNING ${VARIANT_COLUMNS}`,
      [workspaceId, id, decision, actor.id ?? actor.type, clock.now()],
    );
    await recordAudit(tx, { workspaceId, actor, action: `ai.variant.${decision === 'approved' ? 'approve' : 'reject'}`, resourceType: 'ai_variant', resourceId: id, before: { status: 'pending' }, after: { status: decision } });
    return viewOf(result.rows[0]!);
  });
}
