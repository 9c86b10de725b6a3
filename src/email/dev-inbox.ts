/**
 * The built-in dev inbox: with no provider configured, emails are captured in `dev_inbox` and
 * shown in the app, so the whole product works on a fresh machine. A row per idempotency key:
 * a retried send finds the stored email instead of storing it twice.
 */
import type { Database, Queryable } from '../db/database.js';
import type { EmailProvider, ProviderMessage, SendResult } from './provider.js';

export function createDevInboxProvider(db: Database): EmailProvider {
  return {
    name: 'dev_inbox',
    idempotent: true,
    async send(message: ProviderMessage, { idempotencyKey }): Promise<SendResult> {
      const headers = { ...message.headers, 'Message-ID': message.rfcMessageId };
      // name: capture-dev-inbox — the unique (workspace_id, idempotency_key) index makes a retry a no-op.
      const inserted = await db.query<{ id: string }>(
        `INSERT INTO dev_inbox (workspace_id, message_id, idempotency_key, from_address, to_address, subject, html, text_body, headers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
         RETURNING id`,
        [message.workspaceId, message.messageId, idempotencyKey, message.from, message.to, message.subject, message.html, message.text, JSON.stringify(headers)],
      );
      if (inserted.rows[0]) return { providerMessageId: inserted.rows[0].id };
      const existing = await db.query<{ id: string }>('SELECT id FROM dev_inbox WHERE workspace_id = $1 AND idempotency_key = $2', [message.workspaceId, idempotencyKey]);
      return { providerMessageId: existing.rows[0]!.id };
    },
    async check() {
      return { ok: true, detail: 'emails are captured in the dev inbox' };
    },
  };
}

export interface InboxSummary {
  id: string;
  from: string;
  to: string;
  subject: string;
  createdAt: string;
}

export interface InboxEmail extends InboxSummary {
  html: string;
  text: string;
  headers: Record<string, string>;
}

// An invitation email's link admits whoever holds it with the invited role, so only those who may
// invite (owners) see invitation emails in the dev inbox; for them it reveals nothing new.
const HIDE_INVITATIONS = `($3::boolean OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = dev_inbox.message_id AND m.source_type = 'invitation'))`;

/** The newest captured emails of a workspace. */
export async function listInbox(q: Queryable, workspaceId: string, limit: number, options: { showInvitations: boolean }): Promise<InboxSummary[]> {
  const result = await q.query<{ id: string; from_address: string; to_address: string; subject: string; created_at: Date }>(
    `SELECT id, from_address, to_address, subject, created_at
       FROM dev_inbox
      WHERE workspace_id = $1 AND ${HIDE_INVITATIONS}
      ORDER BY created_at DESC, id DESC
      LIMIT $2`,
    [workspaceId, limit, options.showInvitations],
  );
  return result.rows.map((r) => ({ id: r.id, from: r.from_address, to: r.to_address, subject: r.subject, createdAt: r.created_at.toISOString() }));
}

export async function getInboxEmail(q: Queryable, workspaceId: string, id: string, options: { showInvitations: boolean }): Promise<InboxEmail | null> {
  const result = await q.query<{ id: string; from_address: string; to_address: string; subject: string; html: string; text_body: string; headers: Record<string, string>; created_at: Date }>(
    `SELECT id, from_address, to_address, subject, html, text_body, headers, created_at
       FROM dev_inbox
      WHERE workspace_id = $1 AND id = $2 AND ${HIDE_INVITATIONS}`,
    [workspaceId, id, options.showInvitations],
  );
  const r = result.rows[0];
  if (!r) return null;
  return { id: r.id, from: r.from_address, to: r.to_address, subject: r.subject, html: r.html, text: r.text_body, headers: r.headers, createdAt: r.created_at.toISOString() };
}
