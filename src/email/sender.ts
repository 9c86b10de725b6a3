/**
 * The email sender: a background worker that claims due queued messages in batches, checks the
 * suppression list, hands each message to the provider and records the outcome.
 *
 * Delivery guarantees:
 * - A claim is a lease (`locked_until`) with a claim token. Claims use FOR UPDATE SKIP LOCKED, so
 *   two senders never hold the same message; a sender that crashed leaves 'sending' rows whose
 *   lease expires and another sender claims them again.
 * - A message is marked 'sent' only after the provider accepted it, and only by the holder of the
 *   current claim. Providers receive the message's idempotency key (the dev inbox stores one row
 *   per key) and a Message-ID derived from it, so a re-claimed message is not delivered twice.
 * - Transient failures go back to 'queued' with exponential backoff and jitter; permanent ones and
 *   exhausted attempts end as 'failed'. Every attempt is a `send_attempts` row.
 * - An ambiguous failure on a provider without idempotency keys (provider.ts) parks the message
 *   as 'uncertain', neither retried nor failed over: an operator resends it or marks it sent
 *   (messages.ts), since a retry could deliver it twice.
 */
import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventSink, type NewEvent } from '../events/events.js';
import { assertUnreachable } from '../http/errors.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { addTracking, unsubscribeHeaders, type LinkSigner } from './links.js';
import { MESSAGES_CHANNEL } from './outbox.js';
import { asProviderError, rfcMessageIdFor, settleAmbiguous, type EmailProvider, type ProviderAttempt, type ProviderMessage } from './provider.js';
import { addressOf, refusedBeforeSend } from './suppressions.js';

export interface EmailSenderOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Read at use, so a sink wired after the sender is built is still used. */
  eventSink: () => EventSink;
  /** The default provider: used for workspaces with no providers of their own. */
  provider: EmailProvider;
  /** A workspace's own providers (routed with failover), or null to use the default. */
  providerFor?: (workspaceId: string) => Promise<EmailProvider | null>;
  signer: LinkSigner;
  /** Called once the sender stopped (releases the workspace providers' connections). */
  onStop?: () => Promise<void>;
  /** PUBLIC_URL, the base of tracking and unsubscribe links. */
  publicUrl: string;
  batchSize?: number;
  /** Messages handed to the provider at once within a batch. */
  concurrency?: number;
  /** Batches in flight at once in this worker. */
  lanes?: number;
  leaseMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  /** Backoff of the first retry; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  /**
   * Personalizes a campaign message whose node asked for it (ai_mode), before tracking is added.
   * It never throws for AI failures and returns the content to send (the original on any failure).
   */
  personalize?: (message: { id: string; workspaceId: string; contactId: string | null; sourceType: string; sourceId: string | null; subject: string; html: string; text: string; aiMode: 'offline' | 'provider' }) => Promise<{ subject: string; html: string; text: string }>;
}

interface ClaimedMessage {
  id: string;
  workspace_id: string;
  contact_id: string | null;
  idempotency_key: string;
  source_type: string;
  from_address: string;
  to_address: string;
  subject: string;
  html: string;
  text_body: string;
  headers: Record<string, string>;
  attempts: number;
  topic_id: string | null;
  pinned_provider: string | null;
  source_id: string | null;
  ai_mode: 'offline' | 'provider' | null;
  ai_outcome: string | null;
}

/** `earlier`: the providers a router tried before the one the outcome names (each an attempt row). */
type Outcome = (
  | { kind: 'sent'; provider: string; providerMessageId: string; latencyMs: number }
  | { kind: 'retry'; provider: string; error: string; latencyMs: number; nextAttemptAt: Date; pinTo: string | null }
  | { kind: 'failed'; provider: string; error: string; latencyMs: number; result: 'transient_error' | 'permanent_error' }
  | { kind: 'uncertain'; provider: string; error: string; latencyMs: number }
  | { kind: 'suppressed'; reason: string }
) & { earlier?: ProviderAttempt[] };

/** Sources whose emails are marketing: they get tracking and unsubscribe headers. */
const MARKETING_SOURCES = new Set(['campaign', 'broadcast']);

export class EmailSender implements BackgroundWorker {
  readonly name = 'email-sender';
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxAttempts: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  private readonly lanes: number;
  private running = false;
  private loops: Array<Promise<void>> = [];
  private readonly waiters = new Set<() => void>();
  private pendingWake = false;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly options: EmailSenderOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.concurrency = options.concurrency ?? 50;
    this.lanes = options.lanes ?? 2;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.pollMs = options.pollMs ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseBackoffMs = options.baseBackoffMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 6 * 3_600_000;
    this.random = options.random ?? Math.random;
  }

  get provider(): EmailProvider {
    return this.options.provider;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const listening = this.options.db
      .listen(MESSAGES_CHANNEL, () => this.notify())
      .then((unlisten) => {
        this.unlisten = unlisten;
      })
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'email sender cannot LISTEN; polling only'));
    this.loops = Array.from({ length: this.lanes }, () => listening.then(() => this.lane()));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await Promise.all(this.loops);
    this.loops = [];
    if (this.unlisten) await this.unlisten().catch(() => undefined);
    this.unlisten = null;
    await this.options.provider.close?.();
    await this.options.onStop?.();
  }

  private notify(): void {
    this.pendingWake = true;
    for (const wake of this.waiters) wake();
  }

  /**
   * One claim-deliver-finish loop. Several lanes run in the worker so that one batch's database
   * work overlaps another batch's sends; SKIP LOCKED keeps their batches disjoint.
   */
  private async lane(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (error) {
        this.options.logger.error({ err: error }, 'email sender batch failed');
      }
      if (!this.running) break;
      if (handled >= this.batchSize) continue;
      if (this.pendingWake) {
        this.pendingWake = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, this.pollMs);
        this.waiters.add(wake);
      });
    }
  }

  /** Claims one batch of due messages and delivers it; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const now = this.options.clock.now();
    const claimToken = randomUUID();
    const claimed = await this.claim(now, claimToken);
    if (claimed.length === 0) return 0;
    const refused = await refusedBeforeSend(
      this.options.db,
      claimed.map((m) => ({ id: m.id, workspaceId: m.workspace_id, email: addressOf(m.to_address), contactId: m.contact_id, topicId: m.topic_id, marketing: MARKETING_SOURCES.has(m.source_type) })),
    );
    const outcomes = new Map<string, Outcome>();
    const toSend: ClaimedMessage[] = [];
    for (const message of claimed) {
      const reason = refused.get(message.id);
      if (reason) outcomes.set(message.id, { kind: 'suppressed', reason });
      else toSend.push(message);
    }
    let next = 0;
    const workers = Array.from({ length: Math.min(this.concurrency, toSend.length) }, async () => {
      while (next < toSend.length) {
        const message = toSend[next++]!;
        outcomes.set(message.id, await this.deliver(message));
      }
    });
    await Promise.all(workers);
    await this.finish(claimed, outcomes, claimToken);
    return claimed.length;
  }

  // name: claim-due-messages
  // Claims up to `limit` due messages for one lease. FOR UPDATE SKIP LOCKED lets concurrent senders
  // take disjoint batches without waiting on each other; messages_due_idx (partial on queued and
  // sending, ordered by next_attempt_at) serves the scan. A 'sending' row whose lease has expired
  // was held by a sender that died, and is claimed again.
  private async claim(now: Date, claimToken: string): Promise<ClaimedMessage[]> {
    const result = await this.options.db.query<ClaimedMessage>(
      `UPDATE messages m
          SET status = 'sending', locked_until = $2, claim_token = $4, attempts = m.attempts + 1
         FROM (SELECT id FROM messages
                WHERE status IN ('queued', 'sending')
                  AND next_attempt_at <= $1
                  AND (locked_until IS NULL OR locked_until <= $1)
                ORDER BY next_attempt_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED) due
        WHERE m.id = due.id
       RETURNING m.id, m.workspace_id, m.contact_id, m.idempotency_key, m.source_type, m.from_address, m.to_address,
                 m.subject, m.html, m.text_body, m.headers, m.attempts, m.topic_id, m.pinned_provider,
                 m.source_id, m.ai_mode, m.ai_outcome`,
      [now, new Date(now.getTime() + this.leaseMs), this.batchSize, claimToken],
    );
    return result.rows;
  }

  /** What the provider receives: tracking and unsubscribe headers on marketing email. */
  prepare(message: ClaimedMessage): ProviderMessage {
    const { signer, publicUrl } = this.options;
    const marketing = MARKETING_SOURCES.has(message.source_type);
    const headers: Record<string, string> = { ...message.headers };
    let html = message.html;
    if (marketing) {
      html = addTracking(html, { signer, baseUrl: publicUrl, workspaceId: message.workspace_id, messageId: message.id, contactId: message.contact_id });
      Object.assign(
        headers,
        unsubscribeHeaders(signer, publicUrl, { w: message.workspace_id, e: addressOf(message.to_address), c: message.contact_id, m: message.id, p: message.topic_id }),
      );
    }
    return {
      workspaceId: message.workspace_id,
      messageId: message.id,
      from: message.from_address,
      to: message.to_address,
      subject: message.subject,
      html,
      text: message.text_body,
      headers,
      rfcMessageId: rfcMessageIdFor(message.workspace_id, message.idempotency_key, message.from_address),
    };
  }

  private async deliver(claimed: ClaimedMessage): Promise<Outcome> {
    const started = performance.now();
    let provider = this.options.provider;
    let message = claimed;
    try {
      if (message.ai_mode && message.ai_outcome === null && this.options.personalize) {
        // Decided once per message (ai_outcome), so a retried send sends the same content.
        const content = await this.options.personalize({ id: message.id, workspaceId: message.workspace_id, contactId: message.contact_id, sourceType: message.source_type, sourceId: message.source_id, subject: message.subject, html: message.html, text: message.text_body, aiMode: message.ai_mode });
        message = { ...message, subject: content.subject, html: content.html, text_body: content.text };
      }
      provider = (await this.options.providerFor?.(message.workspace_id)) ?? this.options.provider;
      const result = await provider.send(this.prepare(message), { idempotencyKey: `${message.workspace_id}:${message.idempotency_key}`, onlyProvider: message.pinned_provider });
      const last = result.attempts?.at(-1);
      return { kind: 'sent', provider: result.provider ?? provider.name, providerMessageId: result.providerMessageId, latencyMs: last?.latencyMs ?? Math.round(performance.now() - started), earlier: result.attempts?.slice(0, -1) };
    } catch (thrown) {
      const error = settleAmbiguous(provider, asProviderError(thrown));
      // A router reports each provider it called: the last one is this outcome's, the others earlier attempts.
      const last = error.attempts?.at(-1);
      const latencyMs = last?.latencyMs ?? Math.round(performance.now() - started);
      const name = last?.provider ?? provider.name;
      const earlier = error.attempts?.slice(0, -1);
      if (error.kind === 'ambiguous') return { kind: 'uncertain', provider: name, error: error.message, latencyMs, earlier };
      if (error.kind === 'permanent') return { kind: 'failed', provider: name, error: error.message, latencyMs, result: 'permanent_error', earlier };
      if (message.attempts >= this.maxAttempts) return { kind: 'failed', provider: name, error: `${error.message} (gave up after ${message.attempts} attempts)`, latencyMs, result: 'transient_error', earlier };
      return { kind: 'retry', provider: name, error: error.message, latencyMs, nextAttemptAt: this.nextAttemptAt(message.attempts, error.retryAfterMs), pinTo: error.pinTo ?? message.pinned_provider, earlier };
    }
  }

  /** Exponential backoff with jitter (half to full delay), never sooner than Retry-After. */
  nextAttemptAt(attempts: number, retryAfterMs?: number): Date {
    const exponential = Math.min(this.baseBackoffMs * 2 ** Math.max(0, attempts - 1), this.maxBackoffMs);
    const jittered = exponential / 2 + (exponential / 2) * this.random();
    return new Date(this.options.clock.now().getTime() + Math.max(jittered, retryAfterMs ?? 0));
  }

  // name: finish-send-batch
  // Records the attempts and outcomes of one batch in one transaction: one statement for the
  // outcomes and attempts, then the `sent` events. Each message update requires the batch's claim token: a sender whose lease ran
  // out cannot overwrite what the sender that re-claimed the message decided.
  private async finish(claimed: ClaimedMessage[], outcomes: Map<string, Outcome>, claimToken: string): Promise<void> {
    const now = this.options.clock.now();
    const rows = claimed.map((m) => {
      const o = outcomes.get(m.id)!;
      switch (o.kind) {
        case 'sent':
          return { id: m.id, workspace_id: m.workspace_id, status: 'sent', provider: o.provider, provider_message_id: o.providerMessageId, last_error: null, next_attempt_at: null, result: 'sent', latency_ms: o.latencyMs };
        case 'retry':
          return { id: m.id, workspace_id: m.workspace_id, status: 'queued', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: o.nextAttemptAt.toISOString(), result: 'transient_error', latency_ms: o.latencyMs, pinned_provider: o.pinTo };
        case 'failed':
          return { id: m.id, workspace_id: m.workspace_id, status: 'failed', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: null, result: o.result, latency_ms: o.latencyMs };
        case 'uncertain':
          return { id: m.id, workspace_id: m.workspace_id, status: 'uncertain', provider: o.provider, provider_message_id: null, last_error: o.error, next_attempt_at: null, result: 'ambiguous', latency_ms: o.latencyMs };
        case 'suppressed':
          return { id: m.id, workspace_id: m.workspace_id, status: 'suppressed', provider: 'suppression_list', provider_message_id: null, last_error: `suppressed: ${o.reason}`, next_attempt_at: null, result: 'suppressed', latency_ms: 0 };
        default:
          return assertUnreachable(o);
      }
    });
    const byWorkspace = new Map<string, NewEvent[]>();
    for (const m of claimed) {
      const o = outcomes.get(m.id)!;
      if (o.kind !== 'sent') continue;
      const list = byWorkspace.get(m.workspace_id) ?? [];
      list.push({ contactId: m.contact_id, type: 'email', name: 'sent', properties: { messageId: m.id, provider: o.provider, sourceType: m.source_type }, messageId: `email:sent:${m.id}` });
      byWorkspace.set(m.workspace_id, list);
    }
    const payload = JSON.stringify(rows);
    const earlier = JSON.stringify(
      claimed.flatMap((m) =>
        (outcomes.get(m.id)!.earlier ?? []).map((a, seq) => ({ workspace_id: m.workspace_id, message_id: m.id, provider: a.provider, result: a.result, latency_ms: a.latencyMs, provider_message_id: a.providerMessageId, error: a.error, seq })),
      ),
    );
    await this.options.db.transaction(async (tx) => {
      // One statement: the batch's outcomes and its attempts. Every attempt is recorded, also
      // for a message whose claim was lost (the provider was called); only `owned` rows changed.
      const updated = await tx.query<{ id: string; workspace_id: string }>(
        `WITH r AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb)
             AS r(id uuid, workspace_id uuid, status text, provider text, provider_message_id text, last_error text, pinned_provider text,
                  next_attempt_at timestamptz, result text, latency_ms integer)
         ), attempts AS (
           -- A router's earlier calls first, then the deciding one, in order (send_attempts.id).
           INSERT INTO send_attempts (workspace_id, message_id, provider, result, latency_ms, provider_message_id, error, attempted_at)
           SELECT a.workspace_id, a.message_id, a.provider, a.result, a.latency_ms, a.provider_message_id, a.error, $3
             FROM (SELECT e.workspace_id, e.message_id, e.provider, e.result, e.latency_ms, e.provider_message_id, e.error, 0 AS phase, e.seq
                     FROM jsonb_to_recordset($4::jsonb) AS e(workspace_id uuid, message_id uuid, provider text, result text, latency_ms integer, provider_message_id text, error text, seq integer)
                   UNION ALL
                   SELECT r.workspace_id, r.id, r.provider, r.result, r.latency_ms, r.provider_message_id, r.last_error, 1, 0 FROM r) a
            ORDER BY a.message_id, a.phase, a.seq
         )
         UPDATE messages m
            SET status = r.status,
                pinned_provider = r.pinned_provider,
                provider = r.provider,
                provider_message_id = COALESCE(r.provider_message_id, m.provider_message_id),
                last_error = r.last_error,
                next_attempt_at = COALESCE(r.next_attempt_at, m.next_attempt_at),
                sent_at = CASE WHEN r.status = 'sent' THEN $3::timestamptz ELSE m.sent_at END,
                locked_until = NULL,
                claim_token = NULL
           FROM r
          WHERE m.id = r.id AND m.claim_token = $2
         RETURNING m.id, m.workspace_id`,
        [payload, claimToken, now, earlier],
      );
      if (updated.rowCount < claimed.length) {
        this.options.logger.warn({ expected: claimed.length, updated: updated.rowCount }, 'email sender lost the claim on some messages (lease expired)');
      }
      const owned = new Set(updated.rows.map((r) => r.id));
      for (const [workspaceId, events] of byWorkspace) {
        const mine = events.filter((e) => owned.has(String(e.properties?.messageId)));
        await recordEvents(tx, this.options.eventSink(), workspaceId, mine, now);
      }
    });
  }
}

/** The attempts recorded for a message, oldest first (delivery logs). */
export async function listSendAttempts(q: Queryable, workspaceId: string, messageId: string): Promise<Array<{ provider: string; result: string; latencyMs: number; providerMessageId: string | null; error: string | null; attemptedAt: string }>> {
  const result = await q.query<{ provider: string; result: string; latency_ms: number; provider_message_id: string | null; error: string | null; attempted_at: Date }>(
    `SELECT provider, result, latency_ms, provider_message_id, error, attempted_at
       FROM send_attempts
      WHERE workspace_id = $1 AND message_id = $2
      ORDER BY id`,
    [workspaceId, messageId],
  );
  return result.rows.map((r) => ({ provider: r.provider, result: r.result, latencyMs: r.latency_ms, providerMessageId: r.provider_message_id, error: r.error, attemptedAt: r.attempted_at.toISOString() }));
}
