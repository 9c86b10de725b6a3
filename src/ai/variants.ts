/**
 * The review queue of generated variants (send-time.ts stores them): list them by status, approve
 * or reject a pending one (audited). A rejected variant is never sent; an approved one is sent on
 * later sends of the same content to the same contact.
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import type { AiDeps } from './policy.js';

export interface SentContent {
  subject: string;
  html: string;
  text: string;
}

export type VariantStatus = 'approved' | 'pending' | 'rejected';

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

export async function reviewVariant({ db, clock }: AiDeps, workspaceId: string, actor: Actor, id: string, decision: 'approved' | 'rejected'): Promise<VariantView> {
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
