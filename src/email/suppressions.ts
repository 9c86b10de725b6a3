/**
 * The suppression list: addresses a workspace must not email, with why. Every send checks it;
 * unsubscribes, hard bounces and complaints add to it; people add and remove entries by hand.
 * Reasons are persisted strings: never rename them.
 */
import type { Queryable } from '../db/database.js';
import { recordAudit, type Actor } from '../identity/audit.js';

import type { SuppressionReason } from './email.schemas.js';
import type { EmailDeps } from './deps.js';

export { SUPPRESSION_REASONS, type SuppressionReason } from './email.schemas.js';

export interface Suppression {
  email: string;
  reason: SuppressionReason;
  source: string | null;
  createdAt: string;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The bare address of `Name <a@b>` or `a@b`. */
export function addressOf(mailbox: string): string {
  const match = /<([^>]+)>\s*$/.exec(mailbox);
  return normalizeEmail(match?.[1] ?? mailbox);
}

interface SuppressionRow {
  email: string;
  reason: SuppressionReason;
  source: string | null;
  created_at: Date;
}

const toSuppression = (r: SuppressionRow): Suppression => ({ email: r.email, reason: r.reason, source: r.source, createdAt: r.created_at.toISOString() });

/** Adds or keeps a suppression; returns it and whether it is new. An existing reason is kept. */
export async function addSuppression(
  q: Queryable,
  workspaceId: string,
  email: string,
  reason: SuppressionReason,
  source: string | null,
): Promise<{ suppression: Suppression; created: boolean }> {
  const inserted = await q.query<SuppressionRow>(
    `INSERT INTO suppressions (workspace_id, email, reason, source)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, email) DO NOTHING
     RETURNING email, reason, source, created_at`,
    [workspaceId, normalizeEmail(email), reason, source],
  );
  if (inserted.rows[0]) return { suppression: toSuppression(inserted.rows[0]), created: true };
  const existing = await q.query<SuppressionRow>('SELECT email, reason, source, created_at FROM suppressions WHERE workspace_id = $1 AND email = $2', [workspaceId, normalizeEmail(email)]);
  return { suppression: toSuppression(existing.rows[0]!), created: false };
}

/** Removes a suppression (optionally only one with the given reason); returns the removed one. */
export async function removeSuppression(q: Queryable, workspaceId: string, email: string, onlyReason?: SuppressionReason): Promise<Suppression | null> {
  const result = await q.query<SuppressionRow>(
    `DELETE FROM suppressions
      WHERE workspace_id = $1 AND email = $2 AND ($3::text IS NULL OR reason = $3)
     RETURNING email, reason, source, created_at`,
    [workspaceId, normalizeEmail(email), onlyReason ?? null],
  );
  return result.rows[0] ? toSuppression(result.rows[0]) : null;
}

export async function getSuppression(q: Queryable, workspaceId: string, email: string): Promise<Suppression | null> {
  const result = await q.query<SuppressionRow>('SELECT email, reason, source, created_at FROM suppressions WHERE workspace_id = $1 AND email = $2', [workspaceId, normalizeEmail(email)]);
  return result.rows[0] ? toSuppression(result.rows[0]) : null;
}

/** A page of suppressions in address order, after `afterEmail`. */
export async function listSuppressions(q: Queryable, workspaceId: string, limit: number, afterEmail?: string): Promise<Suppression[]> {
  const result = await q.query<SuppressionRow>(
    `SELECT email, reason, source, created_at
       FROM suppressions
      WHERE workspace_id = $1 AND ($2::text IS NULL OR email > $2)
      ORDER BY email
      LIMIT $3`,
    [workspaceId, afterEmail ?? null, limit],
  );
  return result.rows.map(toSuppression);
}

/**
 * The suppressed ones among (workspace, address) pairs, in one query for a whole send batch;
 * keyed `workspaceId|email`. Served by the primary key (workspace_id, email).
 */
export async function suppressedAmong(q: Queryable, pairs: Array<{ workspaceId: string; email: string }>): Promise<Map<string, SuppressionReason>> {
  if (pairs.length === 0) return new Map();
  const result = await q.query<{ workspace_id: string; email: string; reason: SuppressionReason }>(
    `SELECT s.workspace_id, s.email, s.reason
       FROM suppressions s
       JOIN unnest($1::uuid[], $2::text[]) AS p(workspace_id, email) ON s.workspace_id = p.workspace_id AND s.email = p.email`,
    [pairs.map((p) => p.workspaceId), pairs.map((p) => normalizeEmail(p.email))],
  );
  return new Map(result.rows.map((r) => [`${r.workspace_id}|${r.email}`, r.reason]));
}

export interface PendingSend {
  /** The message id. */
  id: string;
  workspaceId: string;
  email: string;
  contactId: string | null;
  topicId: string | null;
  /** Marketing email also honours the contact's subscription state and topic opt-outs. */
  marketing: boolean;
}

/** Why a send is refused: a suppression reason, the contact's own state, or its topic opt-out. Persisted in last_error: never rename. */
export type RefusalReason = SuppressionReason | 'topic_unsubscribed';

/**
 * The pre-send check of a whole batch, keyed by message id: the suppression list for every
 * message; for marketing email also the contact's subscription_state ('unsubscribed') and its
 * opt-out of the message's topic ('topic_unsubscribed'). Three indexed lookups per batch.
 */
export async function refusedBeforeSend(q: Queryable, sends: PendingSend[]): Promise<Map<string, RefusalReason>> {
  const refused = new Map<string, RefusalReason>();
  if (sends.length === 0) return refused;
  const suppressed = await suppressedAmong(q, sends.map((m) => ({ workspaceId: m.workspaceId, email: m.email })));
  const marketing = sends.filter((m) => m.marketing && m.contactId);
  const contactIds = [...new Set(marketing.map((m) => m.contactId!))];
  const unsubscribed = new Set(
    contactIds.length === 0 ? [] : (await q.query<{ id: string }>(`SELECT id FROM contacts WHERE id = ANY($1::uuid[]) AND subscription_state = 'unsubscribed'`, [contactIds])).rows.map((r) => r.id),
  );
  const topical = marketing.filter((m) => m.topicId);
  // name: topic-optouts-of-batch — served by the primary key (contact_id, topic_id).
  const optedOut = new Set(
    topical.length === 0
      ? []
      : (
          await q.query<{ contact_id: string; topic_id: string }>(
            `SELECT o.contact_id, o.topic_id
               FROM contact_topic_optouts o
               JOIN unnest($1::uuid[], $2::uuid[]) AS p(contact_id, topic_id) ON o.contact_id = p.contact_id AND o.topic_id = p.topic_id`,
            [topical.map((m) => m.contactId), topical.map((m) => m.topicId)],
          )
        ).rows.map((r) => `${r.contact_id}|${r.topic_id}`),
  );
  for (const m of sends) {
    const reason =
      suppressed.get(`${m.workspaceId}|${normalizeEmail(m.email)}`) ??
      (m.marketing && m.contactId && unsubscribed.has(m.contactId) ? 'unsubscribed' : undefined) ??
      (m.marketing && m.contactId && m.topicId && optedOut.has(`${m.contactId}|${m.topicId}`) ? 'topic_unsubscribed' : undefined);
    if (reason) refused.set(m.id, reason);
  }
  return refused;
}

/** A person adds a suppression by hand (audited). */
export async function suppressAddress(
  { db }: EmailDeps,
  workspaceId: string,
  actor: Actor,
  email: string,
  reason: SuppressionReason,
): Promise<{ suppression: Suppression; created: boolean }> {
  return db.transaction(async (tx) => {
    const outcome = await addSuppression(tx, workspaceId, email, reason, actor.type === 'system' ? 'system' : `${actor.type}:${actor.id ?? ''}`);
    if (outcome.created) {
      await recordAudit(tx, { workspaceId, actor, action: 'suppression.create', resourceType: 'suppression', resourceId: outcome.suppression.email, after: outcome.suppression });
    }
    return outcome;
  });
}

/** A person removes a suppression (audited); null when there was none. */
export async function unsuppressAddress({ db }: EmailDeps, workspaceId: string, actor: Actor, email: string): Promise<Suppression | null> {
  return db.transaction(async (tx) => {
    const removed = await removeSuppression(tx, workspaceId, email);
    if (removed) await recordAudit(tx, { workspaceId, actor, action: 'suppression.delete', resourceType: 'suppression', resourceId: removed.email, before: removed });
    return removed;
  });
}
