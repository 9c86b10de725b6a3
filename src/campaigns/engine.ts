/**
 * The campaign engine: a worker that claims due enrollments in batches and runs their steps.
 *
 * Locking choice: one short transaction per batch. It claims up to `batchSize` due rows with
 * `FOR UPDATE SKIP LOCKED` (so two workers never take the same enrollment and never wait on each
 * other), runs every consecutive node that is due now for each of them in memory (rendering is
 * CPU work; nothing leaves the process), then writes all effects — outbox messages, contact
 * changes, events, journey rows and the enrollments' next state — and commits. A crash before
 * commit leaves nothing behind and the rows are claimed again; after commit every effect exists
 * exactly once. Emails carry the idempotency key `enrollment:<id>:node:<nodeId>`, so even a
 * replayed step finds its message instead of sending twice. Writes are set-based (one
 * `UPDATE … FROM unnest(…)` for the enrollments, one INSERT for the journey) so a batch costs a
 * handful of round trips whatever its size.
 *
 * This file is the claim and the batch loop; the nodes run in engine-interpreter.ts (actions in
 * engine-actions.ts, conditions in engine-conditions.ts), the batch is written by engine-write.ts,
 * and the shapes they share are in engine-state.ts.
 */
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { RenderError } from '../email/render.js';
import type { BackgroundWorker } from '../init.js';
import { backoffDelay } from '../platform/backoff.js';
import type { Logger } from '../platform/logger.js';
import { createWorkerLoop } from '../platform/worker-loop.js';
import { compileDefinition, type CampaignDefinition, type CompiledDefinition } from './definition.js';
import { runEnrollment, type StepRunner } from './engine-interpreter.js';
import {
  BatchEffects,
  DEFAULT_ENGINE_OPTIONS,
  PermanentStepError,
  StepFailure,
  type ContactChange,
  type ContactRow,
  type EngineDeps,
  type EngineOptions,
  type EnrollmentRow,
  type FrequencyCap,
  type NextState,
  type RunScratch,
} from './engine-state.js';
import { writeBatch } from './engine-write.js';
import { runDueBroadcasts } from './broadcasts.js';
import { ENROLLMENTS_CHANNEL } from './campaign-rows.js';
import { evaluateDueSplitTests } from './split-tests.js';

const NO_WINNERS: ReadonlyMap<string, string> = new Map();

export { DEFAULT_ENGINE_OPTIONS, type EngineDeps, type EngineOptions, type WaitState } from './engine-state.js';

export class CampaignEngine {
  private readonly versions = new Map<string, CompiledDefinition>();
  private readonly options: EngineOptions;
  private readonly runner: StepRunner;

  constructor(
    private readonly deps: EngineDeps,
    options: Partial<EngineOptions> = {},
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.runner = { maxStepsPerClaim: this.options.maxStepsPerClaim, emailFrom: deps.config.emailFrom };
  }

  /** Runs batches until nothing is due; returns the number of enrollments processed. */
  async runDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runBatch();
      total += n;
      if (n < this.options.batchSize) return total;
    }
  }

  /**
   * Claims and runs one batch. If writing the batch fails (a database error on one row), the
   * batch rolls back and its enrollments are re-run one per transaction, so one bad row only
   * holds back itself.
   */
  async runBatch(): Promise<number> {
    // Due broadcasts first, in their own transaction, so their enrollments run in this batch.
    await this.deps.db.transaction((tx) => runDueBroadcasts(tx, this.deps.clock.now()));
    // Then due A/B split looks, so a winner decided now already routes this batch's contacts.
    try {
      await evaluateDueSplitTests(this.deps.db, this.deps.clock.now());
    } catch (error) {
      // A failing look (rolled back, retried next tick) must not hold back the journeys.
      this.deps.logger.warn({ err: error }, 'A/B split evaluation failed; retrying on the next tick');
    }
    try {
      return await this.deps.db.transaction((tx) => this.process(tx, null, this.deps.clock.now()));
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'campaign batch failed; re-running its enrollments one by one');
      const due = await this.deps.db.query<{ id: string }>(
        `SELECT e.id FROM enrollments e JOIN campaigns c ON c.id = e.campaign_id AND c.status = 'active'
          WHERE e.status = 'active' AND e.next_run_at <= $1 ORDER BY e.next_run_at LIMIT $2`,
        [this.deps.clock.now(), this.options.batchSize],
      );
      let n = 0;
      for (const { id } of due.rows) {
        try {
          n += await this.deps.db.transaction((tx) => this.process(tx, id, this.deps.clock.now()));
        } catch (single) {
          await this.recordFailure(id, single);
          n += 1;
        }
      }
      return n;
    }
  }

  private async definitionOf(q: Queryable, campaignId: string, version: number): Promise<CompiledDefinition> {
    const key = `${campaignId}:${version}`;
    let compiled = this.versions.get(key);
    if (!compiled) {
      // Published versions are immutable (a trigger refuses updates), so caching them is safe.
      const result = await q.query<{ definition: CampaignDefinition }>('SELECT definition FROM campaign_versions WHERE campaign_id = $1 AND version = $2', [campaignId, version]);
      const row = result.rows[0];
      if (!row) throw new Error(`campaign ${campaignId} has no version ${version}`);
      compiled = compileDefinition(row.definition);
      this.versions.set(key, compiled);
    }
    return compiled;
  }

  private backoffMs(attempts: number): number {
    // Jitter over the upper half keeps retries of one failing batch from landing together.
    return Math.round(backoffDelay(attempts, { baseMs: this.options.baseBackoffMs, maxMs: this.options.maxBackoffMs }, this.deps.random));
  }

  private failureState(e: EnrollmentRow, error: unknown, now: Date): NextState {
    const attempts = e.attempts + 1;
    const permanent = error instanceof PermanentStepError || error instanceof RenderError;
    const message = (error as Error).message ?? String(error);
    if (permanent || attempts >= this.options.maxAttempts) {
      return { status: 'failed', nodeId: e.current_node_id, nextRunAt: now, attempts, lastError: message, exitReason: null, waitingFor: e.waiting_for };
    }
    return { status: 'active', nodeId: e.current_node_id, nextRunAt: new Date(now.getTime() + this.backoffMs(attempts)), attempts, lastError: message, exitReason: null, waitingFor: e.waiting_for };
  }

  /** Counts an attempt for an enrollment whose own transaction failed. */
  private async recordFailure(enrollmentId: string, error: unknown): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const rows = await tx.query<EnrollmentRow>(
        `SELECT id, workspace_id, campaign_id, version, contact_id, current_node_id, attempts, entry_event, waiting_for
           FROM enrollments WHERE id = $1 AND status = 'active' FOR UPDATE SKIP LOCKED`,
        [enrollmentId],
      );
      const e = rows.rows[0];
      if (!e) return;
      const state = this.failureState(e, error, now);
      await tx.query('UPDATE enrollments SET status = $2, attempts = $3, next_run_at = $4, last_error = $5, updated_at = $6 WHERE id = $1', [
        enrollmentId,
        state.status,
        state.attempts,
        state.nextRunAt,
        state.lastError,
        now,
      ]);
      if (state.status === 'failed') {
        await tx.query(`INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, detail, at) VALUES ($1, $2, $3, $4, 'failed', $5, $6)`, [
          e.workspace_id,
          e.campaign_id,
          e.id,
          e.current_node_id,
          JSON.stringify({ error: state.lastError }),
          now,
        ]);
      }
    });
  }

  /**
   * Runs one enrollment, if due at `now`, inside the caller's transaction (simulation runs a
   * journey in a transaction it then rolls back).
   */
  async runEnrollmentAt(tx: Queryable, enrollmentId: string, now: Date): Promise<number> {
    return this.process(tx, enrollmentId, now);
  }

  private async process(tx: Queryable, onlyId: string | null, now: Date): Promise<number> {
    // name: claimDueEnrollments — the partial index enrollments_due_idx gives due rows in time
    // order; SKIP LOCKED lets concurrent workers take disjoint batches without waiting. Rows of
    // paused campaigns stay due and are passed over until the campaign resumes.
    const claimed = await tx.query<EnrollmentRow>(
      `SELECT e.id, e.workspace_id, e.campaign_id, e.version, e.contact_id, e.current_node_id, e.attempts, e.entry_event, e.waiting_for
         FROM enrollments e
        WHERE e.status = 'active' AND e.next_run_at <= $1 AND ($3::uuid IS NULL OR e.id = $3)
          AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = e.campaign_id AND c.status = 'active')
        ORDER BY e.next_run_at
        LIMIT $2
        FOR UPDATE OF e SKIP LOCKED`,
      [now, this.options.batchSize, onlyId],
    );
    if (claimed.rows.length === 0) return 0;
    const enrollments = claimed.rows;

    const contacts = new Map<string, ContactRow>();
    const contactRows = await tx.query<ContactRow>(
      `SELECT id, email, first_name, last_name, company, job_title, phone, status, tags, custom_fields, timezone, subscription_state, score
         FROM contacts WHERE id = ANY((SELECT $1::uuid[])::uuid[])`,
      [[...new Set(enrollments.map((e) => e.contact_id))]],
    );
    for (const c of contactRows.rows) contacts.set(c.id, c);
    const names = await tx.query<{ id: string; campaign_name: string; workspace_name: string; cap: FrequencyCap | null }>(
      `SELECT c.id, c.name AS campaign_name, w.name AS workspace_name, w.settings->'campaigns'->'frequencyCap' AS cap
         FROM campaigns c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = ANY((SELECT $1::uuid[])::uuid[])`,
      [[...new Set(enrollments.map((e) => e.campaign_id))]],
    );
    const campaignNames = new Map(names.rows.map((r) => [r.id, r]));
    // name: splitWinners — the batch's campaigns' decided A/B splits (split_tests primary key).
    const winnerRows = await tx.query<{ campaign_id: string; node_id: string; winner_variant: string }>(
      `SELECT campaign_id, node_id, winner_variant FROM split_tests WHERE campaign_id = ANY((SELECT $1::uuid[])::uuid[]) AND winner_variant IS NOT NULL`,
      [[...campaignNames.keys()]],
    );
    const winners = new Map<string, Map<string, string>>();
    for (const r of winnerRows.rows) {
      const forCampaign = winners.get(r.campaign_id) ?? new Map<string, string>();
      forCampaign.set(r.node_id, r.winner_variant);
      winners.set(r.campaign_id, forCampaign);
    }

    const batch = new BatchEffects();
    for (const e of enrollments) {
      const scratch: RunScratch = {
        fieldTypes: batch.fieldTypes,
        emails: [],
        webhooks: [],
        contact: batch.contacts.get(e.contact_id) ?? { workspaceId: e.workspace_id, addTags: [], removeTags: [], scoreDelta: 0, fields: {}, custom: {} },
        events: [],
        steps: [],
      };
      // Work on a copy so a failed run leaves the batch's view of the contact untouched.
      const contactCopy = contacts.get(e.contact_id);
      const working: ContactChange = { ...scratch.contact, addTags: [...scratch.contact.addTags], removeTags: [...scratch.contact.removeTags], fields: { ...scratch.contact.fields }, custom: { ...scratch.contact.custom } };
      scratch.contact = working;
      let state: NextState;
      const contact: ContactRow | null = contactCopy ? { ...contactCopy, tags: [...contactCopy.tags], custom_fields: { ...contactCopy.custom_fields } } : null;
      try {
        if (!contact) throw new PermanentStepError('the contact no longer exists');
        const compiled = await this.definitionOf(tx, e.campaign_id, e.version);
        const meta = campaignNames.get(e.campaign_id);
        state = await runEnrollment(this.runner, tx, e, compiled, contact, scratch, now, {
          campaign: meta?.campaign_name ?? '',
          workspace: meta?.workspace_name ?? '',
          cap: meta?.cap ?? null,
          winners: winners.get(e.campaign_id) ?? NO_WINNERS,
        });
        contacts.set(contact.id, contact);
        this.mergeScratch(batch, e, scratch);
      } catch (error) {
        if (error instanceof StepFailure) {
          // Keep what the earlier nodes did; the failing node starts its own attempt count.
          if (contact) contacts.set(contact.id, contact);
          this.mergeScratch(batch, e, scratch);
          state = this.failureState({ ...e, current_node_id: error.nodeId, attempts: 0, waiting_for: error.waitingFor }, error.failure, now);
        } else {
          state = this.failureState(e, error, now);
        }
        if (state.status === 'failed') {
          batch.steps.push({ nodeId: state.nodeId, outcome: 'failed', handle: null, detail: { error: state.lastError }, enrollmentId: e.id, workspaceId: e.workspace_id, campaignId: e.campaign_id });
        }
      }
      batch.states.set(e.id, state);
    }

    await writeBatch(tx, this.deps.eventSink(), batch, now);
    return enrollments.length;
  }

  private mergeScratch(batch: BatchEffects, e: EnrollmentRow, scratch: RunScratch): void {
    batch.contacts.set(e.contact_id, scratch.contact);
    batch.emails.push(...scratch.emails);
    batch.webhooks.push(...scratch.webhooks);
    if (scratch.events.length > 0) {
      const list = batch.events.get(e.workspace_id) ?? [];
      list.push(...scratch.events);
      batch.events.set(e.workspace_id, list);
    }
    for (const s of scratch.steps) batch.steps.push({ ...s, enrollmentId: e.id, workspaceId: e.workspace_id, campaignId: e.campaign_id });
  }
}

/**
 * Runs the engine in the background: wakes on NOTIFY (new or resumed enrollments) and polls every
 * `workerPollMs` for waits that came due. `stop()` lets the batch in hand finish.
 */
export function createEngineWorker(engine: CampaignEngine, deps: { db: Database; logger: Logger; config: Config }): BackgroundWorker & { engine: CampaignEngine } {
  const loop = createWorkerLoop({ name: 'campaign engine', db: deps.db, logger: deps.logger, channel: ENROLLMENTS_CHANNEL, pollMs: deps.config.workerPollMs, runBatch: () => engine.runBatch() });

  return {
    name: 'campaign-engine',
    engine,
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
