/** Per-message delivery status: the outbox rows of a workspace, their send attempts and engagement. */
import { decodeCursor, encodeCursor } from '../contacts/contacts.js';
import type { Queryable } from '../db/database.js';
import { listSendAttempts } from './sender.js';

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'failed', 'suppressed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

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
  created_at: Date;
  sent_at: Date | null;
  created_key: string;
}

const MESSAGE_COLUMNS = `id, to_address, from_address, subject, status, attempts, provider, provider_message_id, last_error,
       source_type, source_id, contact_id, created_at, sent_at,
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
