/**
 * Reclaiming the messages of a dead sender (db/holder.ts says who is dead: its advisory lock is
 * gone). What happens to each of its 'sending' messages depends on its hand-off rows of the
 * current claim (`message_handoffs`, send-journal.ts), the mark committed before the message could
 * leave and the acceptance committed once a provider took it:
 * - accepted: the provider took it — 'sent', with its attempt and
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
import { deadHoldersCtes } from '../db/holder.js';
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

// name: lock-dead-holders-messages
// The holders of 'sending' messages by probes of messages_sending_holder_idx (in-flight rows only;
// deadHoldersCtes, db/holder.ts); a holder is dead when nobody holds its lock. SKIP LOCKED: a row
// another reclaim is updating, or a late mark of a holder taken for dead is checking (KEY SHARE,
// send-journal.ts), is left for the next pass. Exported for its plan test (reclaim.test.ts).
export const LOCK_SQL = `
  WITH RECURSIVE ${deadHoldersCtes('messages', "status = 'sending'")}
  SELECT m.id FROM messages m JOIN dead_holders d ON m.holder_id = d.holder
   WHERE m.status = 'sending'
     FOR UPDATE OF m SKIP LOCKED`;

// name: reclaim-dead-holders
// Settles the locked messages by their hand-off rows (send-journal.ts), read by this second
// statement after the locks were taken: every mark committed before then is seen, and a mark
// after then finds the claim gone. The hand-off columns of `messages` are read too: a process of a
// version before migration 113 marks there.
const RECLAIM_SQL = `
  WITH taken AS (
    SELECT m.id,
           COALESCE(h.handed_to, m.handed_to) AS handed_to,
           COALESCE(h.handed_idempotent, m.handed_idempotent) AS handed_idempotent,
           COALESCE(h.handed_at, m.handed_at) AS handed_at,
           COALESCE(h.accepted_at, m.accepted_at) AS accepted_at,
           COALESCE(h.accepted_by, CASE WHEN m.accepted_at IS NOT NULL THEN m.provider END) AS accepted_by,
           COALESCE(h.provider_message_id, m.provider_message_id) AS accepted_id
      FROM messages m
      LEFT JOIN LATERAL (
        -- The last mark counts (a router marks each provider it tries, in turn).
        SELECT (array_agg(j.provider ORDER BY j.at DESC) FILTER (WHERE NOT j.accepted))[1] AS handed_to,
               (array_agg(j.idempotent ORDER BY j.at DESC) FILTER (WHERE NOT j.accepted))[1] AS handed_idempotent,
               max(j.at) FILTER (WHERE NOT j.accepted) AS handed_at,
               max(j.at) FILTER (WHERE j.accepted) AS accepted_at,
               max(j.provider) FILTER (WHERE j.accepted) AS accepted_by,
               max(j.provider_message_id) FILTER (WHERE j.accepted) AS provider_message_id
          FROM message_handoffs j
         WHERE j.message_id = m.id AND j.claim_token = m.claim_token
      ) h ON true
     WHERE m.id = ANY($2::uuid[]) AND m.status = 'sending'
  ), reclaimed AS (
    UPDATE messages m
       SET status = CASE WHEN t.accepted_at IS NOT NULL THEN 'sent' WHEN t.handed_to IS NULL OR t.handed_idempotent THEN 'queued' ELSE 'uncertain' END,
           -- Due at once, back at the head of the line it was claimed from: a millisecond before its
           -- due time, so ahead of the messages queued for the same instant (a bulk insert).
           next_attempt_at = CASE WHEN t.accepted_at IS NULL AND (t.handed_to IS NULL OR t.handed_idempotent) THEN LEAST(m.next_attempt_at, $1::timestamptz) - interval '1 millisecond' ELSE m.next_attempt_at END,
           pinned_provider = CASE WHEN t.accepted_at IS NULL AND t.handed_idempotent THEN t.handed_to ELSE m.pinned_provider END,
           provider = COALESCE(t.accepted_by, t.handed_to, m.provider),
           provider_message_id = CASE WHEN t.accepted_at IS NOT NULL THEN t.accepted_id ELSE m.provider_message_id END,
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
    SELECT r.workspace_id, r.id, CASE WHEN r.accepted_at IS NOT NULL THEN r.provider ELSE COALESCE(r.handed_to, r.provider) END, CASE WHEN r.accepted_at IS NOT NULL THEN 'sent' ELSE 'ambiguous' END,
           GREATEST(0, (extract(epoch FROM COALESCE(r.accepted_at, $1::timestamptz) - COALESCE(r.handed_at, r.accepted_at, $1::timestamptz)) * 1000)::integer),
           CASE WHEN r.accepted_at IS NOT NULL THEN r.provider_message_id END,
           CASE WHEN r.accepted_at IS NOT NULL THEN 'accepted; recorded after the sending process died' ELSE r.last_error END, $1
      FROM reclaimed r
     WHERE r.handed_to IS NOT NULL OR r.accepted_at IS NOT NULL
  ), cleared AS (
    DELETE FROM message_handoffs j WHERE j.message_id IN (SELECT id FROM reclaimed)
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
    // Two statements: the second one's snapshot is taken after the first one's locks.
    const locked = await tx.query<{ id: string }>(LOCK_SQL);
    if (locked.rows.length === 0) return [];
    const result = await tx.query<ReclaimedRow>(RECLAIM_SQL, [now, locked.rows.map((r) => r.id)]);
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
