/**
 * The email sender: a background worker that claims due queued messages in batches, checks the
 * suppression list, hands each message to the provider and records the outcome.
 *
 * Delivery guarantees (docs/email.md, "When a process dies"):
 * - A claim carries this process's holder id (db/holder.ts) and a claim token. Claims use FOR
 *   UPDATE SKIP LOCKED, so two senders never hold the same message; a sender that died is seen
 *   dead at once (its advisory lock is gone) and its messages are reclaimed (reclaim.ts) by any
 *   live sender within about a second.
 * - Right before a message can leave, its hand-off mark is committed (send-journal.ts); as soon
 *   as the provider accepted, its acceptance is, and its outcome shortly after. So a dead
 *   sender's message either certainly never left (sent again at once), was accepted (recorded as
 *   sent), or may have been accepted ('uncertain', or sent again with the same key on a provider
 *   that honours idempotency keys) — never sent twice on a guess.
 * - A message is marked 'sent' only after the provider accepted it, and only by the holder of the
 *   current claim. Providers receive the message's idempotency key (the dev inbox stores one row
 *   per key) and a Message-ID derived from it.
 * - Transient failures go back to 'queued' with exponential backoff and jitter; permanent ones and
 *   exhausted attempts end as 'failed'. Every attempt is a `send_attempts` row.
 * - An ambiguous failure on a provider without idempotency keys (provider.ts) parks the message
 *   as 'uncertain', neither retried nor failed over: an operator resends it or marks it sent
 *   (messages.ts), since a retry could deliver it twice.
 */
import { randomUUID } from 'node:crypto';
import { backoffDelay } from '../platform/backoff.js';
import type { Database, Queryable } from '../db/database.js';
import type { WorkHolder } from '../db/holder.js';
import type { EventSink } from '../core/events.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { addTracking, unsubscribeHeaders, type LinkSigner } from './links.js';
import { MESSAGES_CHANNEL } from './outbox.js';
import { asProviderError, rfcMessageIdFor, settleAmbiguous, type EmailProvider, type ProviderMessage } from './provider.js';
import { reclaimDeadSenders } from './reclaim.js';
import { SendJournal, type Outcome } from './send-journal.js';
import { addressOf, refusedBeforeSend } from './suppressions.js';

export interface EmailSenderOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Read at use, so a sink wired after the sender is built is still used. */
  eventSink: () => EventSink;
  /** This process's identity as the holder of claimed work (shared with the other workers). */
  holder: WorkHolder;
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
  /**
   * The lease written with each claim. Claims are released by their holder's death, not by the
   * lease; it only keeps a sender of a version before migration 089 off the message.
   */
  leaseMs?: number;
  pollMs?: number;
  /** How often dead holders' messages are looked for (reclaim.ts). */
  reclaimEveryMs?: number;
  maxAttempts?: number;
  /** Backoff of the first retry; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
  /**
   * Personalizes a claimed batch's campaign messages whose node asked for it (ai_mode, ai_outcome
   * not decided yet) before tracking is added, replacing their subject, html and text_body in
   * place (src/ai/send-time.ts). It never throws; on any AI failure the original stays.
   */
  personalize?: (messages: ClaimedMessage[], concurrency: number) => Promise<void>;
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
  private readonly reclaimEveryMs: number;
  private readonly journal: SendJournal;
  private lastReclaim = Number.NEGATIVE_INFINITY;
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
    this.reclaimEveryMs = options.reclaimEveryMs ?? 1000;
    this.journal = new SendJournal({ db: options.db, clock: options.clock, logger: options.logger, eventSink: options.eventSink });
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
    // The previous batch's outcomes are committed while this lane delivers the next batch; it
    // waits for them before claiming another, so a lane has at most two batches unrecorded.
    let recording: Promise<void> = Promise.resolve();
    while (this.running) {
      let handled = 0;
      try {
        const batch = await this.deliverBatch();
        handled = batch.claimed;
        await recording;
        recording = batch.recorded.catch((error: unknown) => this.options.logger.error({ err: error }, 'email sender could not record a batch'));
      } catch (error) {
        this.options.logger.error({ err: error }, 'email sender batch failed');
      }
      if (!this.running) break;
      // A short batch does not mean nothing is due: the other lanes' claims skip each other's
      // rows. Only an empty claim waits for a wake-up or the poll.
      if (handled > 0) continue;
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
    await recording;
  }

  /**
   * Claims one batch of due messages and delivers it; returns how many were claimed, once every
   * outcome of the batch is committed.
   */
  async runOnce(): Promise<number> {
    const { claimed, recorded } = await this.deliverBatch();
    await recorded;
    return claimed;
  }

  /**
   * Claims one batch and delivers it. Resolves once every message of the batch is safe from a
   * crash (Recording.safe); `recorded` resolves once their outcomes are committed too.
   */
  private async deliverBatch(): Promise<{ claimed: number; recorded: Promise<void> }> {
    await this.reclaimIfDue();
    const now = this.options.clock.now();
    const claimToken = randomUUID();
    const claimed = await this.claim(now, claimToken, await this.options.holder.id());
    if (claimed.length === 0) return { claimed: 0, recorded: Promise.resolve() };
    const refused = await refusedBeforeSend(
      this.options.db,
      claimed.map((m) => ({ id: m.id, workspaceId: m.workspace_id, email: addressOf(m.to_address), contactId: m.contact_id, topicId: m.topic_id, marketing: MARKETING_SOURCES.has(m.source_type) })),
    );
    const recorded: Array<Promise<boolean>> = [];
    const toSend: ClaimedMessage[] = [];
    for (const message of claimed) {
      const reason = refused.get(message.id);
      if (reason) recorded.push(this.journal.record(message, claimToken, { kind: 'suppressed', reason }).recorded);
      else toSend.push(message);
    }
    await this.options.personalize?.(toSend, this.concurrency);
    // Each delivery worker takes its next message only once its current one is safe (its
    // acceptance, or any other outcome, committed): what a dead process leaves handed off
    // without either is at most one message per worker. A sent message's full outcome is
    // committed meanwhile, with others'.
    let next = 0;
    const workers = Array.from({ length: Math.min(this.concurrency, toSend.length) }, async () => {
      while (next < toSend.length) {
        const message = toSend[next++]!;
        const recording = this.journal.record(message, claimToken, await this.deliver(message, claimToken));
        recorded.push(recording.recorded);
        await recording.safe;
      }
    });
    await Promise.all(workers);
    return { claimed: claimed.length, recorded: Promise.all(recorded).then(() => undefined) };
  }

  /** Settles dead senders' messages, at most once per `reclaimEveryMs` (of any lane). */
  private async reclaimIfDue(): Promise<void> {
    const at = performance.now();
    if (at - this.lastReclaim < this.reclaimEveryMs) return;
    this.lastReclaim = at;
    const reclaimed = await reclaimDeadSenders(this.options.db, this.options.clock, this.options.eventSink());
    if (reclaimed.sent + reclaimed.requeued + reclaimed.retriedWithKey + reclaimed.uncertain > 0) {
      this.options.logger.warn({ ...reclaimed }, 'email sender reclaimed the messages of a sender that died');
    }
  }

  // name: claim-due-messages
  // Claims up to `limit` due messages for one lease. FOR UPDATE SKIP LOCKED lets concurrent senders
  // take disjoint batches without waiting on each other; messages_due_idx (partial on queued and
  // sending, ordered by next_attempt_at) serves the scan. A 'sending' row with a holder is never
  // claimed here: it is settled by reclaim.ts once its holder is dead. A 'sending' row without one
  // was claimed by a sender of a version before migration 089, and is claimed again when its
  // lease has expired, as that version did.
  private async claim(now: Date, claimToken: string, holderId: number): Promise<ClaimedMessage[]> {
    const result = await this.options.db.query<ClaimedMessage>(
      `UPDATE messages m
          SET status = 'sending', locked_until = $2, claim_token = $4, holder_id = $5, attempts = m.attempts + 1
         FROM (SELECT id FROM messages
                WHERE status IN ('queued', 'sending')
                  AND next_attempt_at <= $1
                  AND (status = 'queued' OR (holder_id IS NULL AND locked_until <= $1))
                ORDER BY next_attempt_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED) due
        WHERE m.id = due.id
       RETURNING m.id, m.workspace_id, m.contact_id, m.idempotency_key, m.source_type, m.from_address, m.to_address,
                 m.subject, m.html, m.text_body, m.headers, m.attempts, m.topic_id, m.pinned_provider,
                 m.source_id, m.ai_mode, m.ai_outcome`,
      [now, new Date(now.getTime() + this.leaseMs), this.batchSize, claimToken, holderId],
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

  private async deliver(claimed: ClaimedMessage, claimToken: string): Promise<Outcome> {
    const started = performance.now();
    let provider = this.options.provider;
    const message = claimed;
    try {
      provider = (await this.options.providerFor?.(message.workspace_id)) ?? this.options.provider;
      const result = await provider.send(this.prepare(message), {
        idempotencyKey: `${message.workspace_id}:${message.idempotency_key}`,
        onlyProvider: message.pinned_provider,
        handOff: (to) => this.journal.markHandOff(message.id, claimToken, to),
      });
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
    const jittered = backoffDelay(attempts, { baseMs: this.baseBackoffMs, maxMs: this.maxBackoffMs }, this.random);
    return new Date(this.options.clock.now().getTime() + Math.max(jittered, retryAfterMs ?? 0));
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
