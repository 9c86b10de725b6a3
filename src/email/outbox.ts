/**
 * The email outbox. Whoever decides to send an email (a campaign step, a test send) inserts a
 * `messages` row in its own transaction; the sender delivers queued rows afterwards. The
 * idempotency key makes the insert safe to repeat: a retried step finds the existing message.
 */
import type { Queryable } from '../db/database.js';

export const MESSAGES_CHANNEL = 'messages_queued';

export interface OutboundEmail {
  workspaceId: string;
  contactId: string | null;
  /** Unique per workspace, derived from what caused the send, e.g. `enrollment:<id>:node:<id>`. */
  idempotencyKey: string;
  /** What caused the send: 'campaign', 'test', 'notification' …; sourceId points at it. */
  sourceType: string;
  sourceId: string | null;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  /**
   * Marketing email's subscription topic: `{ id }` names one, `{ id: null }` asks for the
   * workspace's default. A named topic that no longer exists also falls back to the default.
   * Absent for transactional email, which has no topic.
   */
  topic?: { id: string | null };
  /** When the message may first be attempted; defaults to now. */
  notBefore?: Date;
  /** Personalize at send time (a campaign email node's option; src/ai/variants.ts). */
  aiMode?: 'offline' | 'provider';
}

/** Inserts the message unless one with the same idempotency key exists; returns its id either way. */
export async function enqueueEmail(q: Queryable, email: OutboundEmail): Promise<{ id: string; created: boolean }> {
  const inserted = await q.query<{ id: string }>(
    `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, source_id, from_address, to_address,
                           subject, html, text_body, headers, next_attempt_at, topic_id, ai_mode)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12, now()),
             CASE WHEN $13::boolean THEN COALESCE((SELECT id FROM subscription_topics WHERE workspace_id = $1 AND id = $14::uuid),
                                                  (SELECT id FROM subscription_topics WHERE workspace_id = $1 AND is_default)) END, $15)
     ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      email.workspaceId,
      email.contactId,
      email.idempotencyKey,
      email.sourceType,
      email.sourceId,
      email.from,
      email.to,
      email.subject,
      email.html,
      email.text,
      JSON.stringify(email.headers ?? {}),
      email.notBefore ?? null,
      email.topic !== undefined,
      email.topic?.id ?? null,
      email.aiMode ?? null,
    ],
  );
  if (inserted.rows[0]) {
    // Delivered at commit, so the sender wakes only for messages that really exist.
    await q.query('SELECT pg_notify($1, $2)', [MESSAGES_CHANNEL, email.workspaceId]);
    return { id: inserted.rows[0].id, created: true };
  }
  const existing = await q.query<{ id: string }>('SELECT id FROM messages WHERE workspace_id = $1 AND idempotency_key = $2', [
    email.workspaceId,
    email.idempotencyKey,
  ]);
  return { id: existing.rows[0]!.id, created: false };
}
