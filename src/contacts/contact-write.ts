/**
 * The contact writes of the API as single statements: the contact's row, its events and its audit
 * entry stored together (data-modifying CTEs), the events then handed to the sink in the same
 * transaction. Every round trip to PostgreSQL costs both processes tens of microseconds of
 * syscalls and wakeups, so a create or an update sends one writing statement instead of four.
 *
 * An update sets only the columns that changed (and updated_at): a column left out of SET keeps
 * its index entries and, unless one of its inputs changed, the generated search_document is not
 * recomputed. The audit entry's `after` is the answer built from the row the statement writes
 * (the locked row with the changes applied), which is what RETURNING then gives back.
 */
import type { Queryable } from '../db/database.js';
import { CONTACT_COLUMNS, type ContactRow } from '../core/contact.js';
import { deliverEvents, eventBatch, insertEventsSql, type EventSink, type NewEvent } from '../core/events.js';
import { auditValues, insertAuditSql, type AuditEntry } from '../identity/audit.js';

/** The columns an update may set, in the order they appear in its statement (a few stable texts). */
export const WRITABLE_COLUMNS = ['email', 'first_name', 'last_name', 'company', 'job_title', 'phone', 'status', 'timezone', 'subscription_state', 'custom_fields', 'tags'] as const;
export type WritableColumn = (typeof WRITABLE_COLUMNS)[number];

interface WriteResult extends ContactRow {
  event_ids: string[];
}

export interface ContactUpdate {
  workspaceId: string;
  id: string;
  /** The changed columns and their new values (custom_fields as an object). */
  set: Partial<Record<WritableColumn, unknown>>;
  now: Date;
  events: NewEvent[];
  audit: AuditEntry;
}

/**
 * Updates a contact the caller holds locked (`FOR UPDATE` in its transaction): the changed
 * columns and updated_at, its events and its audit entry in one statement; then the sink.
 */
export async function writeContactUpdate(q: Queryable, sink: EventSink, update: ContactUpdate): Promise<ContactRow> {
  const batch = eventBatch(update.events);
  const params: unknown[] = [update.workspaceId, update.id, update.now, ...auditValues(update.audit)];
  const assignments: string[] = [];
  for (const column of WRITABLE_COLUMNS) {
    if (!(column in update.set)) continue;
    const value = update.set[column];
    params.push(column === 'custom_fields' ? JSON.stringify(value) : value);
    assignments.push(`${column} = $${params.length}`);
  }
  const events = update.events.length > 0;
  if (events) params.push(batch.payload);
  const result = await q.query<WriteResult>(
    `WITH u AS (
       UPDATE contacts SET ${assignments.map((a) => `${a}, `).join('')}updated_at = $3
        WHERE workspace_id = $1 AND id = $2
        RETURNING ${CONTACT_COLUMNS}),
     ${events ? `e AS (${insertEventsSql('$1', `$${params.length}`, '$3')}),` : ''}
     a AS (${insertAuditSql(4)})
     SELECT u.*, ${events ? 'ARRAY(SELECT id::text FROM e)' : `'{}'::text[]`} AS event_ids FROM u`,
    params,
  );
  const row = result.rows[0];
  if (!row) throw new Error(`contact ${update.id} was not locked by the caller`);
  const { event_ids: eventIds, ...contact } = row;
  await deliverEvents(q, sink, update.workspaceId, update.events, batch, eventIds, update.now);
  return contact;
}

/**
 * Inserts a contact (its row as built by the caller: created_at is the received time) unless its
 * email is taken in the workspace (then nothing is written and null comes back), with its events
 * and its audit entry in the same statement; then the sink.
 */
export async function insertContact(q: Queryable, sink: EventSink, workspaceId: string, contact: ContactRow, events: NewEvent[], audit: AuditEntry): Promise<ContactRow | null> {
  const now = contact.created_at;
  const batch = eventBatch(events);
  // ON CONFLICT DO NOTHING: a duplicate returns no row (and stores no event or audit entry)
  // instead of aborting the transaction.
  const result = await q.query<WriteResult>(
    `WITH c AS (
       INSERT INTO contacts (id, workspace_id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, subscription_state, score, score_inputs, created_at, updated_at)
       VALUES ($16, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $13, $13)
       ON CONFLICT (workspace_id, email) DO NOTHING
       RETURNING ${CONTACT_COLUMNS}),
     e AS (${insertEventsSql('$1', '$17', '$13', 'EXISTS (SELECT 1 FROM c)')}),
     a AS (${insertAuditSql(18, 'EXISTS (SELECT 1 FROM c)')})
     SELECT c.*, ARRAY(SELECT id::text FROM e) AS event_ids FROM c`,
    [
      workspaceId,
      contact.email,
      contact.first_name,
      contact.last_name,
      contact.company,
      contact.job_title,
      contact.phone,
      contact.status,
      contact.tags,
      JSON.stringify(contact.custom_fields),
      contact.timezone,
      contact.subscription_state,
      now,
      contact.score,
      JSON.stringify(contact.score_inputs),
      contact.id,
      batch.payload,
      ...auditValues(audit),
    ],
  );
  const row = result.rows[0];
  if (!row) return null;
  const { event_ids: eventIds, ...stored } = row;
  await deliverEvents(q, sink, workspaceId, events, batch, eventIds, now);
  return stored;
}
