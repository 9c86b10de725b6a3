/**
 * The sender's durable journal: what a message is about to do, and what it did, committed as
 * soon as practical so that a process dying at any instant leaves an exact record.
 *
 * - The hand-off mark (a `message_handoffs` row, migration 113) is committed right before a
 *   message's data (SMTP, after the server's 354) or its HTTP request leaves. The provider waits for
 *   it: a message whose mark cannot be committed — the database is unreachable, or the claim was
 *   lost (reclaim.ts) — is not sent.
 * - An acceptance (a `message_handoffs` row with `accepted`) is committed as soon as a provider
 *   accepted, in the same short statement as the marks that arrived meanwhile, so that a process
 *   dying before the full outcome leaves the message known as sent rather than uncertain. From then
 *   on the message is safe (`Recording.safe`): the delivery worker takes its next message.
 * - The outcome (sent, retry, failed, uncertain, suppressed) with its attempt rows and `sent`
 *   event is committed soon after the provider answered, in transactions of up to a few hundred
 *   answers, and deletes the message's hand-off rows; a message other than a sent one is safe only
 *   once its outcome is committed. A sent message's outcome is submitted once its acceptance is
 *   committed, so that the outcome finds (and deletes) it.
 *
 * Both are group commits (platform/group-commit.ts): one statement for every mark and acceptance
 * that arrived while the previous one was written, one transaction for the outcomes gathered
 * meanwhile (lingering up to 100 ms for 200), so throughput holds while each message waits about
 * two commits before it leaves and one after it was accepted. Marks and acceptances are narrow
 * inserts, not updates of the wide `messages` row (migration 113). Every write requires the
 * message's claim token: a claim that was lost records nothing.
 */
import { preparedStatement, type Database } from '../db/database.js';
import { recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { assertUnreachable } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import { GroupCommit } from '../platform/group-commit.js';
import type { Logger } from '../platform/logger.js';
import { ProviderError, type HandOff, type ProviderAttempt } from './provider.js';

/** `earlier`: the providers a router tried before the one the outcome names (each an attempt row). */
export type Outcome = (
  | { kind: 'sent'; provider: string; providerMessageId: string; latencyMs: number }
  | { kind: 'retry'; provider: string; error: string; latencyMs: number; nextAttemptAt: Date; pinTo: string | null }
  | { kind: 'failed'; provider: string; error: string; latencyMs: number; result: 'transient_error' | 'permanent_error' }
  | { kind: 'uncertain'; provider: string; error: string; latencyMs: number }
  | { kind: 'suppressed'; reason: string }
) & { earlier?: ProviderAttempt[] };

/** The message fields an outcome needs. */
export interface JournalMessage {
  id: string;
  workspace_id: string;
  contact_id: string | null;
  source_type: string;
}

/**
 * One row of the journal's short statement: a hand-off mark, or a provider's acceptance. Both
 * kinds share one statement, so an acceptance rides on the next marks' write instead of a
 * statement of its own (a message's acceptance and its mark are never in the same write: the
 * acceptance comes after the provider answered, which waits for the mark).
 */
type JournalWrite =
  | { kind: 'mark'; id: string; claimToken: string; to: HandOff }
  | { kind: 'accept'; id: string; workspaceId: string; claimToken: string; provider: string; providerMessageId: string };

interface OutcomeItem {
  message: JournalMessage;
  claimToken: string;
  outcome: Outcome;
}

export interface SendJournalOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  eventSink: () => EventSink;
}

/** What `record` promises: when the message is safe from a crash, and when its outcome is written. */
export interface Recording {
  /**
   * Resolves once a process dying would no longer leave the message `uncertain`: a sent message
   * once its acceptance is committed, any other once its outcome is. Never rejects.
   */
  safe: Promise<void>;
  /** The outcome committed; false when the claim was lost (nothing recorded but the attempts). */
  recorded: Promise<boolean>;
}

export class SendJournal {
  private readonly writes: GroupCommit<JournalWrite, boolean>;
  private readonly outcomes: GroupCommit<OutcomeItem, boolean>;
  /** Messages whose hand-off mark was written (or tried) and whose outcome is not committed yet. */
  private readonly marked = new Set<string>();

  constructor(private readonly options: SendJournalOptions) {
    // One statement at a time: each carries everything that arrived while the previous one was
    // written. A statement's fixed cost in PostgreSQL (its commit) outweighs its rows' many times,
    // and a busy writer's rate is statements in flight ÷ latency whatever the load, so a second one
    // in flight doubled the statements per email for about a quarter less waiting per mark (which
    // the SMTP client hides behind the previous message's data).
    this.writes = new GroupCommit({ write: (items) => this.writeMarksAndAcceptances(items), maxBatch: 500 });
    this.outcomes = new GroupCommit({
      write: (items) => this.writeOutcomes(items),
      maxBatch: 500,
      // Each write is a transaction of several statements (outcomes, attempts, events). Nothing
      // waits for a sent message's outcome (its acceptance made it safe), nor for an unmarked
      // message's, so up to 100 ms spent gathering 200 answers costs no sends and saves several
      // statements per message.
      lingerMs: 100,
      minBatch: 200,
      // An outcome is never dropped: the message stays 'sending' under this live process until
      // it is written (a later restart would park a handed-off message as uncertain).
      retryAfterMs: (error, failures) => {
        options.logger.error({ err: error, failures }, 'email sender cannot record outcomes; retrying');
        return Math.min(5000, 100 * 2 ** failures);
      },
    });
  }

  /** Commits the hand-off mark; rejects (the message must not leave) when it cannot. */
  async markHandOff(id: string, claimToken: string, to: HandOff): Promise<void> {
    let owned: boolean;
    // Counted as marked from before the write: a mark whose answer is lost may have committed.
    this.marked.add(id);
    try {
      owned = await this.writes.submit({ kind: 'mark', id, claimToken, to });
    } catch (error) {
      throw new ProviderError('transient', `not handed to ${to.provider}: the hand-off could not be recorded (${(error as Error).message})`);
    }
    if (!owned) throw new ProviderError('transient', `not handed to ${to.provider}: this sender no longer holds the message`);
  }

  /**
   * Commits the outcome (see Recording). A `sent` outcome is first recorded as an acceptance, in
   * the journal's short statement, which usually commits long before the outcome's transaction:
   * the message is safe from then on. When the acceptance cannot be written, it is safe once
   * its outcome is. Any other outcome of a message whose mark was never written is safe at once
   * (a crash leaves it unmarked: sent again); of a marked one, once it is committed.
   */
  record(message: JournalMessage, claimToken: string, outcome: Outcome): Recording {
    const handedOff = this.marked.has(message.id);
    const submit = () => this.outcomes.submit({ message, claimToken, outcome });
    if (outcome.kind !== 'sent') {
      const recorded = submit();
      void recorded.finally(() => this.marked.delete(message.id)).catch(noop);
      // Never handed off (refused before its mark, or suppressed): a crash leaves it unmarked, and
      // it is sent again; there is nothing to wait for.
      if (!handedOff) return { safe: Promise.resolve(), recorded };
      return { safe: recorded.then(noop, noop), recorded };
    }
    const accepted = this.writes.submit({ kind: 'accept', id: message.id, workspaceId: message.workspace_id, claimToken, provider: outcome.provider, providerMessageId: outcome.providerMessageId }).then(
      () => true,
      (error: unknown) => {
        this.options.logger.warn({ err: error }, 'email sender could not record an acceptance early; its outcome follows');
        return false;
      },
    );
    // The outcome follows the acceptance, so that it finds (and deletes) the acceptance's row.
    const recorded = accepted.then(submit);
    void recorded.finally(() => this.marked.delete(message.id)).catch(noop);
    return { safe: accepted.then((written) => (written ? undefined : recorded.then(noop, noop))), recorded };
  }

  // name: mark-hand-off-and-accepted
  // One statement for the marks and acceptances that arrived during the previous write, each a
  // narrow message_handoffs row (migration 113). A mark says the message is about to leave; it is
  // written only while the message is 'sending' under this claim token, checked under a KEY SHARE
  // lock of the message row: a reclaim (reclaim.ts, FOR UPDATE) that ran first changed the row and
  // the mark finds nothing (the message is not sent); a mark that ran first makes the reclaim skip
  // the row until it committed, and the reclaim reads the marks after taking its locks. An
  // acceptance needs no check: a row of a claim that was lost is never read (the claim token
  // differs) and is deleted with the message's next outcome. `id = ANY` lets the planner see how
  // few rows it touches (the set alone is estimated at 100 rows and made it scan the table). The
  // rows travel as typed arrays, one per column: parsing a JSON document per statement cost
  // about a sixth of this statement's backend CPU, which is paid once per handful of emails.
  // The status is checked on the locked rows, outside the scan: in the scan, `status = 'sending'`
  // let the planner read messages_sending_holder_idx, whose entries of messages sent since the
  // last vacuum are dead but still read by a bitmap scan, so that every mark read one index entry
  // per message sent (3,000 after 3,000 emails, 1 ms of the statement). The claim token alone
  // decides which rows are locked; a row whose token matches is 'sending' (the claim sets both,
  // every outcome and reclaim clears the token), and the check stays for what it guards.
  private async writeMarksAndAcceptances(items: JournalWrite[]): Promise<boolean[]> {
    const marks = items.filter((i): i is Extract<JournalWrite, { kind: 'mark' }> => i.kind === 'mark');
    const accepts = items.filter((i): i is Extract<JournalWrite, { kind: 'accept' }> => i.kind === 'accept');
    const result = await this.options.db.query<{ message_id: string }>(JOURNAL_SQL, [
      marks.map((m) => m.id),
      marks.map((m) => m.claimToken),
      marks.map((m) => m.to.provider),
      marks.map((m) => (m.to.idempotent ? 't' : 'f')),
      accepts.map((a) => a.id),
      accepts.map((a) => a.workspaceId),
      accepts.map((a) => a.claimToken),
      accepts.map((a) => a.provider),
      accepts.map((a) => a.providerMessageId),
      this.options.clock.now(),
    ]);
    const written = new Set(result.rows.map((r) => r.message_id));
    return items.map((i) => written.has(i.id));
  }

  // name: record-send-outcomes
  // One transaction for the outcomes that arrived during the previous write: one statement for
  // the outcomes and their attempts, then the `sent` events. Each message update requires its
  // claim token; attempts are recorded also for a message whose claim was lost (the provider was
  // called). Holder, lease and hand-off rows are cleared with the outcome. `id = ANY`: as above.
  private async writeOutcomes(items: OutcomeItem[]): Promise<boolean[]> {
    const now = this.options.clock.now();
    const rows = items.map(({ message: m, claimToken, outcome: o }) => ({ ...outcomeRow(o), id: m.id, workspace_id: m.workspace_id, claim_token: claimToken }));
    const earlier = items.flatMap(({ message: m, outcome: o }) =>
      (o.earlier ?? []).map((a, seq) => ({ workspace_id: m.workspace_id, message_id: m.id, provider: a.provider, result: a.result, latency_ms: a.latencyMs, provider_message_id: a.providerMessageId, error: a.error, seq })),
    );
    return this.options.db.transaction(async (tx) => {
      const updated = await tx.query<{ id: string }>(
        OUTCOMES_SQL,
        [JSON.stringify(rows), now, JSON.stringify(earlier), items.map((i) => i.message.id)],
      );
      if (updated.rowCount < items.length) {
        this.options.logger.warn({ expected: items.length, updated: updated.rowCount }, 'email sender lost the claim on some messages (their holder was taken for dead)');
      }
      const owned = new Set(updated.rows.map((r) => r.id));
      const byWorkspace = new Map<string, NewEvent[]>();
      for (const { message: m, outcome: o } of items) {
        if (o.kind !== 'sent' || !owned.has(m.id)) continue;
        const list = byWorkspace.get(m.workspace_id) ?? [];
        list.push({ contactId: m.contact_id, type: 'email', name: 'sent', properties: { messageId: m.id, provider: o.provider, sourceType: m.source_type }, messageId: `email:sent:${m.id}` });
        byWorkspace.set(m.workspace_id, list);
      }
      for (const [workspaceId, events] of byWorkspace) await recordEvents(tx, this.options.eventSink(), workspaceId, events, now);
      return items.map((i) => owned.has(i.message.id));
    });
  }
}

/** The journal's short statement (exported for its plan test, send-journal.test.ts). */
export const JOURNAL_SQL = preparedStatement(
  'mark-hand-off-and-accepted',
  `WITH marked AS MATERIALIZED (
     SELECT m.workspace_id, m.id, m.status, r.claim_token, r.provider, r.idempotent
       FROM messages m
       JOIN unnest($1::uuid[], $2::uuid[], $3::text[], $4::boolean[]) AS r(id, claim_token, provider, idempotent)
         ON m.id = r.id AND m.claim_token = r.claim_token
      WHERE m.id = ANY($1::uuid[])
        FOR KEY SHARE OF m
   )
   INSERT INTO message_handoffs (workspace_id, message_id, claim_token, accepted, provider, idempotent, provider_message_id, at)
   SELECT workspace_id, id, claim_token, false, provider, idempotent, NULL, $10::timestamptz FROM marked WHERE status = 'sending'
   UNION ALL
   SELECT a.workspace_id, a.id, a.claim_token, true, a.provider, NULL, a.provider_message_id, $10::timestamptz
     FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[]) AS a(id, workspace_id, claim_token, provider, provider_message_id)
   RETURNING message_id`,
);

const OUTCOMES_SQL = preparedStatement(
  'record-send-outcomes',
  `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS r(id uuid, workspace_id uuid, claim_token uuid, status text, provider text, provider_message_id text, last_error text, pinned_provider text,
              next_attempt_at timestamptz, result text, latency_ms integer)
     ), attempts AS (
       -- A router's earlier calls first, then the deciding one, in order (send_attempts.id).
       INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, provider_message_id, error, attempted_at)
       SELECT a.workspace_id, a.message_id, a.provider, a.result, a.latency_ms, a.provider_message_id, a.error, $2
         FROM (SELECT e.workspace_id, e.message_id, e.provider, e.result, e.latency_ms, e.provider_message_id, e.error, 0 AS phase, e.seq
                 FROM jsonb_to_recordset($3::jsonb) AS e(workspace_id uuid, message_id uuid, provider text, result text, latency_ms integer, provider_message_id text, error text, seq integer)
               UNION ALL
               SELECT r.workspace_id, r.id, r.provider, r.result, r.latency_ms, r.provider_message_id, r.last_error, 1, 0 FROM r) a
        ORDER BY a.message_id, a.phase, a.seq
     ), updated AS (
       UPDATE messages m
        SET status = r.status,
            pinned_provider = r.pinned_provider,
            provider = r.provider,
            provider_message_id = COALESCE(r.provider_message_id, m.provider_message_id),
            last_error = r.last_error,
            next_attempt_at = COALESCE(r.next_attempt_at, m.next_attempt_at),
            sent_at = CASE WHEN r.status = 'sent' THEN $2::timestamptz ELSE m.sent_at END,
            locked_until = NULL, claim_token = NULL, holder_id = NULL,
            handed_to = NULL, handed_idempotent = NULL, handed_at = NULL, accepted_at = NULL
       FROM r
      WHERE m.id = ANY($4::uuid[]) AND m.id = r.id AND m.claim_token = r.claim_token
     RETURNING m.id
     ), cleared AS (
       -- The hand-off rows of every message whose outcome this is (any claim's: while this
       -- claim holds the message, no other can have marked it).
       DELETE FROM message_handoffs h WHERE h.message_id IN (SELECT id FROM updated)
     )
     SELECT id FROM updated`,
);

function noop(): void {}

function outcomeRow(o: Outcome): Record<string, unknown> {
  switch (o.kind) {
    case 'sent':
      return { status: 'sent', provider: o.provider, provider_message_id: o.providerMessageId, last_error: null, next_attempt_at: null, result: 'sent', latency_ms: o.latencyMs };
    case 'retry':
      return { status: 'queued', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: o.nextAttemptAt.toISOString(), result: 'transient_error', latency_ms: o.latencyMs, pinned_provider: o.pinTo };
    case 'failed':
      return { status: 'failed', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: null, result: o.result, latency_ms: o.latencyMs };
    case 'uncertain':
      return { status: 'uncertain', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: null, result: 'ambiguous', latency_ms: o.latencyMs };
    case 'suppressed':
      return { status: 'suppressed', provider: 'suppression_list', provider_message_id: null, last_error: `suppressed: ${o.reason}`, next_attempt_at: null, result: 'suppressed', latency_ms: 0 };
    default:
      return assertUnreachable(o);
  }
}
