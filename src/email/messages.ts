/**
 * Per-message delivery status: the outbox rows of a workspace, their send attempts and engagement,
 * and the operator's decisions on a message the sender could not settle (resend, mark sent).
 */
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import type { Queryable } from '../db/database.js';
import { recordEvents, type EventSink } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import { recordAudit, type Actor } from '../identity/audit.js';
import { MESSAGES_CHANNEL } from './outbox.js';
import { listSendAttempts } from './sender.js';

/** Persisted strings: never rename. 'uncertain': see sender.ts (ambiguous outcome, no idempotency key). */
import type { MessageStatus } from './messages.schemas.js';
import type { EmailDeps } from './deps.js';

export { MESSAGE_STATUSES, type MessageStatus } from './messages.schemas.js';

export interface MessageSummary {
  id: string;
  to: string;
  subject: string;
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  providerMessageId: string | null;
  lastError: string | null;
  sourceType: string;
  sourceId: string | null;
  contactId: string | null;
  topicId: string | null;
  createdAt: string;
  sentAt: string | null;
}

/** The detail view: `attempts` here is the attempt log; `message.attempts` is its count. */
export interface MessageDetail {
  message: MessageSummary & { from: string };
  attempts: Awaited<ReturnType<typeof listSendAttempts>>;
  events: Array<{ id: string; name: string; properties: Record<string, unknown>; occurredAt: string }>;
}

interface MessageRow {
  id: string;
  to_address: string;
  from_address: string;
  subject: string;
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  provider_message_id: string | null;
  last_error: string | null;
  source_type: string;
  source_id: string | null;
  contact_id: string | null;
  topic_id: string | null;
  created_at: Date;
  sent_at: Date | null;
  created_key: string;
}

const MESSAGE_COLUMNS = `id, to_address, from_address, subject, status, attempts, provider, provider_message_id, last_error,
       source_type, source_id, contact_id, topic_id, created_at, sent_at,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;

function toSummary(row: MessageRow): MessageSummary {
  return {
    id: row.id,
    to: row.to_address,
    subject: row.subject,
    status: row.status,
    attempts: row.attempts,
    provider: row.provider,
    providerMessageId: row.provider_message_id,
    lastError: row.last_error,
    sourceType: row.source_type,
    sourceId: row.source_id,
    contactId: row.contact_id,
    topicId: row.topic_id,
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at ? row.sent_at.toISOString() : null,
  };
}

export interface MessageFilters {
  limit: number;
  cursor?: string | undefined;
  status?: MessageStatus | undefined;
  contactId?: string | undefined;
}

/**
 * name: list-messages — newest first, keyset-paginated on (created_at, id). Unfiltered and
 * status-filtered reads walk messages_workspace_created_idx; a contact filter walks
 * messages_contact_idx (workspace_id, contact_id, created_at DESC). Plain reads, no locks.
 */
export async function listMessages(q: Queryable, workspaceId: string, filters: MessageFilters): Promise<{ messages: MessageSummary[]; nextCursor: string | null }> {
  const position = filters.cursor ? decodeCursor(filters.cursor) : null;
  const result = await q.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS}
       FROM messages
      WHERE workspace_id = $1
        AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        AND ($4::text IS NULL OR status = $4)
        AND ($5::uuid IS NULL OR contact_id = $5)
      ORDER BY created_at DESC, id DESC
      LIMIT $6`,
    [workspaceId, position?.at ?? null, position?.id ?? null, filters.status ?? null, filters.contactId ?? null, filters.limit + 1],
  );
  const rows = result.rows.slice(0, filters.limit);
  const last = rows[rows.length - 1];
  const nextCursor = result.rows.length > filters.limit && last ? encodeCursor({ at: last.created_key, id: last.id }) : null;
  return { messages: rows.map(toSummary), nextCursor };
}

/**
 * name: get-message — one message of the workspace with its send attempts (send_attempts_message_idx)
 * and its email engagement events. The events are found through the message's contact
 * (events_contact_idx), since engagement is always recorded against the message's contact.
 */
export async function getMessage(q: Queryable, workspaceId: string, id: string): Promise<MessageDetail | null> {
  const result = await q.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  const row = result.rows[0];
  if (!row) return null;
  const attempts = await listSendAttempts(q, workspaceId, id);
  const events = await q.query<{ id: string; name: string; properties: Record<string, unknown>; occurred_at: Date }>(
    `SELECT id, name, properties, occurred_at
       FROM events
      WHERE workspace_id = $1
        AND ${row.contact_id ? 'contact_id = $3' : 'contact_id IS NULL'}
        AND type = 'email'
        AND properties->>'messageId' = $2
      ORDER BY occurred_at, id`,
    row.contact_id ? [workspaceId, id, row.contact_id] : [workspaceId, id],
  );
  return {
    message: { ...toSummary(row), from: row.from_address },
    attempts,
    events: events.rows.map((e) => ({ id: e.id, name: e.name, properties: e.properties, occurredAt: e.occurred_at.toISOString() })),
  };
}

/**
 * An 'uncertain' message becomes 'sent' because someone knows it was accepted: an operator, or a
 * provider webhook about it (delivered, bounced … — the provider had it). Records a 'marked_sent'
 * attempt naming who, and the `sent` event. Null (and nothing written) unless it was uncertain.
 */
export async function settleUncertainAsSent(q: Queryable, sink: EventSink, workspaceId: string, id: string, by: string, providerMessageId: string | null, now: Date): Promise<MessageSummary | null> {
  const updated = await q.query<MessageRow>(
    `UPDATE messages
        SET status = 'sent', sent_at = $3, last_error = NULL, locked_until = NULL, provider_message_id = COALESCE($4, provider_message_id)
      WHERE workspace_id = $1 AND id = $2 AND status = 'uncertain'
     RETURNING ${MESSAGE_COLUMNS}`,
    [workspaceId, id, now, providerMessageId],
  );
  const row = updated.rows[0];
  if (!row) return null;
  await q.query(
    `INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, provider_message_id, error, attempted_at)
     VALUES ($1, $2, $3, 'marked_sent', 0, $4, $5, $6)`,
    [workspaceId, id, row.provider ?? 'operator', providerMessageId, `marked sent by ${by}`, now],
  );
  await recordEvents(
    q,
    sink,
    workspaceId,
    [{ contactId: row.contact_id, type: 'email', name: 'sent', properties: { messageId: id, provider: row.provider, sourceType: row.source_type, markedBy: by }, messageId: `email:sent:${id}` }],
    now,
  );
  return toSummary(row);
}

function stateConflict(action: string, allowed: string, status: string): AppError {
  return new AppError('MESSAGE_STATE_CONFLICT', `Only ${allowed} message can be ${action}; this one is ${status}`, { status });
}

async function statusOf(q: Queryable, workspaceId: string, id: string): Promise<string> {
  const row = await q.query<{ status: string }>('SELECT status FROM messages WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
  if (!row.rows[0]) throw notFound('Message');
  return row.rows[0].status;
}

/**
 * An operator sends an 'uncertain' (or 'failed') message again: it is queued now with the same
 * idempotency key and Message-ID, so receivers that deduplicate by Message-ID drop a copy that
 * did arrive. Audited. 409 MESSAGE_STATE_CONFLICT from any other status.
 */
export async function resendMessage({ db, clock }: EmailDeps, workspaceId: string, actor: Actor, id: string): Promise<MessageSummary> {
  const now = clock.now();
  return db.transaction(async (tx) => {
    const updated = await tx.query<MessageRow>(
      `UPDATE messages
          SET status = 'queued', next_attempt_at = $3, locked_until = NULL, claim_token = NULL
        WHERE workspace_id = $1 AND id = $2 AND status IN ('uncertain', 'failed')
       RETURNING ${MESSAGE_COLUMNS}`,
      [workspaceId, id, now],
    );
    const row = updated.rows[0];
    if (!row) throw stateConflict('resent', 'an uncertain or failed', await statusOf(tx, workspaceId, id));
    await tx.query('SELECT pg_notify($1, $2)', [MESSAGES_CHANNEL, workspaceId]);
    await recordAudit(tx, { workspaceId, actor, action: 'message.resend', resourceType: 'message', resourceId: id, after: { status: 'queued', attempts: row.attempts } });
    return toSummary(row);
  });
}

/**
 * An operator confirms that an 'uncertain' message was delivered (seen in the provider's log or
 * by the recipient): it becomes 'sent' with a 'marked_sent' attempt and the usual `sent` event,
 * so campaigns waiting on it go on. Audited. 409 MESSAGE_STATE_CONFLICT from any other status.
 */
export async function markMessageSent({ db, clock, eventSink }: EmailDeps, workspaceId: string, actor: Actor, id: string): Promise<MessageSummary> {
  const now = clock.now();
  return db.transaction(async (tx) => {
    const row = await settleUncertainAsSent(tx, eventSink, workspaceId, id, `${actor.type}:${actor.id ?? ''}`, null, now);
    if (!row) throw stateConflict('marked sent', 'an uncertain', await statusOf(tx, workspaceId, id));
    await recordAudit(tx, { workspaceId, actor, action: 'message.mark_sent', resourceType: 'message', resourceId: id, before: { status: 'uncertain' }, after: { status: 'sent' } });
    return row;
  });
}
