/**
 * Reclaiming the messages of a dead sender (db/holder.ts says who is dead: its advisory lock is
 * gone). What happens to each of its 'sending' messages depends on the hand-off mark
 * (send-journal.ts), committed before the message could leave:
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
import type { Clock } from '../platform/clock.js';

export interface Reclaimed {
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
    SELECT m.id, m.handed_to, m.handed_idempotent, m.handed_at
      FROM messages m JOIN dead d ON m.holder_id = d.holder
     WHERE m.status = 'sending'
       FOR UPDATE OF m SKIP LOCKED
  ), reclaimed AS (
    UPDATE messages m
       SET status = CASE WHEN t.handed_to IS NULL OR t.handed_idempotent THEN 'queued' ELSE 'uncertain' END,
           -- Due at once, back at the head of the line it was claimed from: a millisecond before its
           -- due time, so ahead of the messages queued for the same instant (a bulk insert).
           next_attempt_at = CASE WHEN t.handed_to IS NULL OR t.handed_idempotent THEN LEAST(m.next_attempt_at, $1::timestamptz) - interval '1 millisecond' ELSE m.next_attempt_at END,
           pinned_provider = CASE WHEN t.handed_idempotent THEN t.handed_to ELSE m.pinned_provider END,
           provider = COALESCE(t.handed_to, m.provider),
           last_error = CASE
             WHEN t.handed_to IS NULL THEN 'the sending process died before handing the message to a provider; sent again'
             WHEN t.handed_idempotent THEN 'the sending process died after handing the message to ' || t.handed_to || '; sent again with the same idempotency key'
             ELSE 'the sending process died after handing the message to ' || t.handed_to || ' and before its answer was recorded; it may have been accepted'
           END,
           locked_until = NULL, claim_token = NULL, holder_id = NULL,
           handed_to = NULL, handed_idempotent = NULL, handed_at = NULL
      FROM taken t
     WHERE m.id = t.id
    RETURNING m.id, m.workspace_id, m.status, m.last_error, t.handed_to, t.handed_idempotent, t.handed_at
  ), attempts AS (
    INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, error, attempted_at)
    SELECT r.workspace_id, r.id, r.handed_to, 'ambiguous', GREATEST(0, (extract(epoch FROM $1::timestamptz - r.handed_at) * 1000)::integer), r.last_error, $1
      FROM reclaimed r
     WHERE r.handed_to IS NOT NULL
  )
  SELECT count(*) FILTER (WHERE handed_to IS NULL)::integer AS requeued,
         count(*) FILTER (WHERE handed_to IS NOT NULL AND handed_idempotent)::integer AS retried_with_key,
         count(*) FILTER (WHERE status = 'uncertain')::integer AS uncertain
    FROM reclaimed`;

/** Settles the 'sending' messages of every dead holder (see the module comment). */
export async function reclaimDeadSenders(db: Database, clock: Clock): Promise<Reclaimed> {
  const result = await db.query<{ requeued: number; retried_with_key: number; uncertain: number }>(RECLAIM_SQL, [clock.now()]);
  const row = result.rows[0] ?? { requeued: 0, retried_with_key: 0, uncertain: 0 };
  return { requeued: row.requeued, retriedWithKey: row.retried_with_key, uncertain: row.uncertain };
}
