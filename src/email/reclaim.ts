/**
 * Reclaiming the messages of a dead sender (db/holder.ts says who is dead: its advisory lock is
 * gone). What happens to each of its 'sending' messages depends on the hand-off mark
 * (send-journal.ts), committed before the message could leave:
 * - accepted (`accepted_at`, send-journal.ts): the provider took it — 'sent', with its attempt and
 *   `sent` event, as the dead process would have recorded it;
 * - no mark: the message certainly never left this process — queued again, due now;
 * - marked for a provider that honours idempotency keys (Resend, the dev inbox): queued again, due
 *   now and pinned to that provider, so the retry carries the same key and cannot deliver twice;
 * - marked for any other provider (SMTP, Postmark, SendGrid, SES): it may have been accepted —
 *   'uncertain' with an `ambiguous` attempt, for an operator or a provider webhook to settle
 *   (messages.ts), never sent again on a guess.
 * Any live process runs this about once a second (the sender's lanes), so a dead process's
 * messages go out again within seconds of its death, or of a restart.
 */
import type { Database } from '../db/database.js';
import { holderIsDead } from '../db/holder.js';
import { recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import type { Clock } from '../platform/clock.js';

export interface Reclaimed {
  /** Accepted by a provider before the process died: recorded as sent. */
  sent: number;
  /** Never handed to a provider: queued again. */
  requeued: number;
  /** Handed to an idempotent provider: queued again, pinned to it. */
  retriedWithKey: number;
  /** Handed to a provider without idempotency keys: parked as uncertain. */
  uncertain: number;
}

// name: reclaim-dead-holders
// The distinct holders of 'sending' messages come from messages_sending_holder_idx (in-flight
// rows only); a holder is dead when nobody holds its lock. SKIP LOCKED: a row another reclaim
// (or a late mark of a holder taken for dead) is updating is left for the next pass.
const RECLAIM_SQL = `
  WITH dead AS (
    SELECT h.holder FROM (SELECT DISTINCT holder_id AS holder FROM messages WHERE status = 'sending' AND holder_id IS NOT NULL) h
     WHERE ${holderIsDead('h.holder')}
  ), taken AS (
    SELECT m.id, m.handed_to, m.handed_idempotent, m.handed_at, m.accepted_at
      FROM messages m JOIN dead d ON m.holder_id = d.holder
     WHERE m.status = 'sending'
       FOR UPDATE OF m SKIP LOCKED
  ), reclaimed AS (
    UPDATE messages m
       SET status = CASE WHEN t.accepted_at IS NOT NULL THEN 'sent' WHEN t.handed_to IS NULL OR t.handed_idempotent THEN 'queued' ELSE 'uncertain' END,
           -- Due at once, back at the head of the line it was claimed from: a millisecond before its
           -- due time, so ahead of the messages queued for the same instant (a bulk insert).
           next_attempt_at = CASE WHEN t.accepted_at IS NULL AND (t.handed_to IS NULL OR t.handed_idempotent) THEN LEAST(m.next_attempt_at, $1::timestamptz) - interval '1 millisecond' ELSE m.next_attempt_at END,
           pinned_provider = CASE WHEN t.accepted_at IS NULL AND t.handed_idempotent THEN t.handed_to ELSE m.pinned_provider END,
           provider = COALESCE(t.handed_to, m.provider),
           sent_at = CASE WHEN t.accepted_at IS NOT NULL THEN t.accepted_at ELSE m.sent_at END,
           last_error = CASE
             WHEN t.accepted_at IS NOT NULL THEN NULL
             WHEN t.handed_to IS NULL THEN 'the sending process died before handing the message to a provider; sent again'
             WHEN t.handed_idempotent THEN 'the sending process died after handing the message to ' || t.handed_to || '; sent again with the same idempotency key'
             ELSE 'the sending process died after handing the message to ' || t.handed_to || ' and before its answer was recorded; it may have been accepted'
           END,
           locked_until = NULL, claim_token = NULL, holder_id = NULL,
           handed_to = NULL, handed_idempotent = NULL, handed_at = NULL, accepted_at = NULL
      FROM taken t
     WHERE m.id = t.id
    RETURNING m.id, m.workspace_id, m.contact_id, m.source_type, m.status, m.provider, m.provider_message_id, m.last_error,
              t.handed_to, t.handed_idempotent, t.handed_at, t.accepted_at
  ), attempts AS (
    INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, provider_message_id, error, attempted_at)
    SELECT r.workspace_id, r.id, COALESCE(r.handed_to, r.provider), CASE WHEN r.accepted_at IS NOT NULL THEN 'sent' ELSE 'ambiguous' END,
           GREATEST(0, (extract(epoch FROM COALESCE(r.accepted_at, $1::timestamptz) - r.handed_at) * 1000)::integer),
           CASE WHEN r.accepted_at IS NOT NULL THEN r.provider_message_id END,
           CASE WHEN r.accepted_at IS NOT NULL THEN 'accepted; recorded after the sending process died' ELSE r.last_error END, $1
      FROM reclaimed r
     WHERE r.handed_to IS NOT NULL OR r.accepted_at IS NOT NULL
  )
  SELECT id, workspace_id, contact_id, source_type, status, provider, handed_to IS NOT NULL AS handed, COALESCE(handed_idempotent, false) AS idempotent
    FROM reclaimed`;

interface ReclaimedRow {
  id: string;
  workspace_id: string;
  contact_id: string | null;
  source_type: string;
  status: string;
  provider: string | null;
  handed: boolean;
  idempotent: boolean;
}

/** Settles the 'sending' messages of every dead holder (see the module comment). */
export async function reclaimDeadSenders(db: Database, clock: Clock, eventSink: EventSink): Promise<Reclaimed> {
  const now = clock.now();
  const rows = await db.transaction(async (tx) => {
    const result = await tx.query<ReclaimedRow>(RECLAIM_SQL, [now]);
    // The `sent` events the dead process would have recorded with the outcome.
    const byWorkspace = new Map<string, NewEvent[]>();
    for (const r of result.rows.filter((row) => row.status === 'sent')) {
      const list = byWorkspace.get(r.workspace_id) ?? [];
      list.push({ contactId: r.contact_id, type: 'email', name: 'sent', properties: { messageId: r.id, provider: r.provider, sourceType: r.source_type }, messageId: `email:sent:${r.id}` });
      byWorkspace.set(r.workspace_id, list);
    }
    for (const [workspaceId, events] of byWorkspace) await recordEvents(tx, eventSink, workspaceId, events, now);
    return result.rows;
  });
  return {
    sent: rows.filter((r) => r.status === 'sent').length,
    requeued: rows.filter((r) => r.status === 'queued' && !r.handed).length,
    retriedWithKey: rows.filter((r) => r.status === 'queued' && r.handed && r.idempotent).length,
    uncertain: rows.filter((r) => r.status === 'uncertain').length,
  };
}
