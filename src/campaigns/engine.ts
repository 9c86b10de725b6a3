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
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { enqueueEmail } from '../email/outbox.js';
import type { ContactRow as StoredContactRow } from '../core/contact.js';
import { coerceCustomValue, loadFieldTypes, type FieldTypes } from '../contacts/custom-fields.js';
import { contactVariables, renderContent, RenderError } from '../email/render.js';
import { aiModeOf } from '../ai/mode.js';
import { recordEvents, type EventSink, type NewEvent } from '../core/events.js';
import { assertUnreachable } from '../http/errors.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import {
  compileDefinition,
  DEFAULT_HANDLE,
  NEXT_HANDLE,
  TIMEOUT_HANDLE,
  type CampaignDefinition,
  type CompiledDefinition,
  type ConditionRuleValue,
  type DefinitionNode,
  type RuleGroup,
} from './definition.js';
import { compare } from './compare.js';
import { isTimeZone, nextAllowedTime } from './schedule.js';
import { ENROLLMENTS_CHANNEL, runDueBroadcasts } from './store.js';
import { createWorkerLoop } from '../platform/worker-loop.js';

export interface EngineOptions {
  batchSize: number;
  /** Attempts of a failing step before the enrollment is parked as failed. */
  maxAttempts: number;
  /** First retry delay; doubled per attempt, with jitter, capped at `maxBackoffMs`. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Consecutive nodes one claim may run for one enrollment (a guard; loops need waits anyway). */
  maxStepsPerClaim: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { batchSize: 500, maxAttempts: 5, baseBackoffMs: 30_000, maxBackoffMs: 6 * 3_600_000, maxStepsPerClaim: 50 };

export interface EngineDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  config: Config;
  /** Randomness for retry jitter, in [0, 1). */
  random: () => number;
  /** Where events recorded by actions go (the engine's own triggers). */
  eventSink: () => EventSink;
}

/** A step failure that retrying cannot fix (a template variable missing for this contact). */
class PermanentStepError extends Error {}

/** A node failed after earlier nodes of the same claim succeeded: park at the failing node. */
class StepFailure extends Error {
  constructor(
    readonly nodeId: string,
    readonly waitingFor: WaitState | null,
    readonly failure: unknown,
  ) {
    super((failure as Error).message ?? String(failure));
  }
}

interface Snapshot {
  contact: ContactRow;
  change: ContactChange;
  emails: number;
  webhooks: number;
  events: number;
  steps: number;
}

function snapshot(contact: ContactRow, scratch: RunScratch): Snapshot {
  const c = scratch.contact;
  return {
    contact: { ...contact, tags: [...contact.tags], custom_fields: { ...contact.custom_fields } },
    change: { ...c, addTags: [...c.addTags], removeTags: [...c.removeTags], fields: { ...c.fields }, custom: { ...c.custom } },
    emails: scratch.emails.length,
    webhooks: scratch.webhooks.length,
    events: scratch.events.length,
    steps: scratch.steps.length,
  };
}

function restore(contact: ContactRow, scratch: RunScratch, mark: Snapshot): void {
  Object.assign(contact, mark.contact);
  Object.assign(scratch.contact, mark.change);
  scratch.emails.length = mark.emails;
  scratch.webhooks.length = mark.webhooks;
  scratch.events.length = mark.events;
  scratch.steps.length = mark.steps;
}

interface EnrollmentRow {
  id: string;
  workspace_id: string;
  campaign_id: string;
  version: number;
  contact_id: string;
  current_node_id: string;
  attempts: number;
  entry_event: Record<string, unknown> | null;
  waiting_for: WaitState | null;
}

/** Persisted in enrollments.waiting_for while an enrollment sits at a wait node. */
export type WaitState =
  | { kind: 'duration'; until: string }
  | { kind: 'frequency_cap'; until: string }
  | { kind: 'until_time'; until: string }
  | { kind: 'event'; name: string; until: string; correlation: { key: string; value: unknown } | null; matched?: boolean; eventId?: string };

/** The contact columns a step reads and changes. */
type ContactRow = Omit<StoredContactRow, 'score_inputs' | 'created_at' | 'updated_at'>;

const CONTACT_COLUMNS = ['first_name', 'last_name', 'company', 'job_title', 'phone', 'status', 'timezone'] as const;
type ContactColumn = (typeof CONTACT_COLUMNS)[number];
const CONTACT_STATUSES = ['prospect', 'lead', 'customer'];

interface ContactChange {
  workspaceId: string;
  addTags: string[];
  removeTags: string[];
  scoreDelta: number;
  fields: Partial<Record<ContactColumn, string | null>>;
  custom: Record<string, unknown>;
}

interface StepRecord {
  nodeId: string;
  outcome: 'completed' | 'skipped' | 'failed';
  handle: string | null;
  detail: Record<string, unknown>;
}

interface NextState {
  status: 'active' | 'completed' | 'exited' | 'failed';
  nodeId: string;
  nextRunAt: Date;
  attempts: number;
  lastError: string | null;
  exitReason: string | null;
  waitingFor: WaitState | null;
}

/** Workspace setting `settings.campaigns.frequencyCap`: at most maxEmails campaign emails per contact per window. */
export interface FrequencyCap {
  maxEmails: number;
  windowHours: number;
}

interface RunContext {
  campaign: string;
  workspace: string;
  cap: FrequencyCap | null;
}

interface PendingWebhook {
  workspaceId: string;
  campaignId: string;
  enrollmentId: string;
  key: string;
  url: string;
  secret: string;
  body: Record<string, unknown>;
}

interface PendingEmail {
  workspaceId: string;
  contactId: string | null;
  campaignId: string;
  key: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Marketing email's topic (null: the workspace default); absent for transactional email. */
  topic?: { id: string | null };
  /** Personalized by the sender at send time (src/ai/variants.ts). */
  aiMode?: 'offline' | 'provider';
}

/** Everything one batch will write, gathered before any write happens. */
class BatchEffects {
  readonly emails: PendingEmail[] = [];
  readonly webhooks: PendingWebhook[] = [];
  readonly contacts = new Map<string, ContactChange>();
  readonly events = new Map<string, NewEvent[]>();
  readonly steps: Array<StepRecord & { enrollmentId: string; workspaceId: string; campaignId: string }> = [];
  readonly states = new Map<string, NextState>();
  /** Declared custom-field types per workspace, read once per batch by field_update steps. */
  readonly fieldTypes = new Map<string, Promise<FieldTypes>>();
}

/** Per enrollment, effects are staged here and merged into the batch only if the run succeeded. */
interface RunScratch {
  /** The batch's cache of declared custom-field types (shared by its runs). */
  fieldTypes: Map<string, Promise<FieldTypes>>;
  emails: PendingEmail[];
  webhooks: PendingWebhook[];
  contact: ContactChange;
  events: NewEvent[];
  steps: StepRecord[];
}

export function splitVariant(contactId: string, nodeId: string, variants: Array<{ id: string; weight: number }>): string {
  // Deterministic: the same contact always lands in the same variant of the same node.
  const bucket = createHash('sha256').update(`${contactId}:${nodeId}`).digest().readUInt32BE(0) % 100;
  let cumulative = 0;
  for (const v of variants) {
    cumulative += v.weight;
    if (bucket < cumulative) return v.id;
  }
  return variants[variants.length - 1]!.id;
}

export class CampaignEngine {
  private readonly versions = new Map<string, CompiledDefinition>();
  private readonly options: EngineOptions;

  constructor(
    private readonly deps: EngineDeps,
    options: Partial<EngineOptions> = {},
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
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
    const exponential = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** Math.max(0, attempts - 1));
    // Full jitter over the upper half keeps retries of one failing batch from landing together.
    return Math.round(exponential / 2 + (exponential / 2) * this.deps.random());
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
         FROM contacts WHERE id = ANY($1::uuid[])`,
      [[...new Set(enrollments.map((e) => e.contact_id))]],
    );
    for (const c of contactRows.rows) contacts.set(c.id, c);
    const names = await tx.query<{ id: string; campaign_name: string; workspace_name: string; cap: FrequencyCap | null }>(
      `SELECT c.id, c.name AS campaign_name, w.name AS workspace_name, w.settings->'campaigns'->'frequencyCap' AS cap
         FROM campaigns c JOIN workspaces w ON w.id = c.workspace_id WHERE c.id = ANY($1::uuid[])`,
      [[...new Set(enrollments.map((e) => e.campaign_id))]],
    );
    const campaignNames = new Map(names.rows.map((r) => [r.id, r]));

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
        state = await this.run(tx, e, compiled, contact, scratch, now, { campaign: meta?.campaign_name ?? '', workspace: meta?.workspace_name ?? '', cap: meta?.cap ?? null });
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

    await this.write(tx, batch, now);
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

  /** Runs consecutive nodes for one enrollment until it waits, ends, or fails. */
  private async run(
    tx: Queryable,
    e: EnrollmentRow,
    compiled: CompiledDefinition,
    contact: ContactRow,
    scratch: RunScratch,
    now: Date,
    names: RunContext,
  ): Promise<NextState> {
    let nodeId = e.current_node_id;
    let waitingFor = e.waiting_for;
    for (let step = 0; step < this.options.maxStepsPerClaim; step++) {
      const node = compiled.nodes.get(nodeId);
      if (!node) throw new PermanentStepError(`node ${nodeId} is not in version ${e.version}`);
      // The nodes already run in this claim keep their effects; a failing node is retried alone.
      const mark = step === 0 ? null : snapshot(contact, scratch);
      let outcome: Awaited<ReturnType<CampaignEngine['execute']>>;
      try {
        outcome = await this.execute(tx, e, node, contact, scratch, now, names, waitingFor, compiled);
      } catch (error) {
        if (!mark) throw error;
        restore(contact, scratch, mark);
        throw new StepFailure(nodeId, waitingFor, error);
      }
      if (outcome.kind === 'wait') {
        return { status: 'active', nodeId, nextRunAt: outcome.until, attempts: 0, lastError: null, exitReason: null, waitingFor: outcome.state };
      }
      scratch.steps.push({ nodeId, outcome: outcome.skipped ? 'skipped' : 'completed', handle: outcome.kind === 'exit' ? null : outcome.handle, detail: outcome.detail });
      if (outcome.kind === 'exit') {
        return { status: 'completed', nodeId, nextRunAt: now, attempts: 0, lastError: null, exitReason: outcome.reason, waitingFor: null };
      }
      const to = compiled.next.get(nodeId)?.get(outcome.handle);
      if (!to) throw new PermanentStepError(`node ${nodeId} has no edge for handle ${outcome.handle}`);
      nodeId = to;
      waitingFor = null;
    }
    // Guard reached: continue in the next claim.
    return { status: 'active', nodeId, nextRunAt: now, attempts: 0, lastError: null, exitReason: null, waitingFor: null };
  }

  private async execute(
    tx: Queryable,
    e: EnrollmentRow,
    node: DefinitionNode,
    contact: ContactRow,
    scratch: RunScratch,
    now: Date,
    names: RunContext,
    waitingFor: WaitState | null,
    compiled: CompiledDefinition,
  ): Promise<
    | { kind: 'advance'; handle: string; detail: Record<string, unknown>; skipped?: boolean }
    | { kind: 'wait'; until: Date; state: WaitState }
    | { kind: 'exit'; reason: string | null; detail: Record<string, unknown>; skipped?: boolean }
  > {
    switch (node.type) {
      case 'trigger':
        return { kind: 'advance', handle: NEXT_HANDLE, detail: {} };
      case 'email': {
        if (contact.subscription_state === 'unsubscribed') return { kind: 'advance', handle: NEXT_HANDLE, detail: { reason: 'unsubscribed' }, skipped: true };
        const priority = compiled.definition.settings?.priority ?? 'lifecycle';
        if (names.cap && priority !== 'transactional') {
          const deferUntil = await this.frequencyCapDefer(tx, e, names.cap, priority, scratch, now);
          // Deferred, not dropped: the step runs again when the oldest counted email leaves the window.
          if (deferUntil) return { kind: 'wait', until: deferUntil, state: { kind: 'frequency_cap', until: deferUntil.toISOString() } };
        }
        const variables = {
          contact: contactVariables(contact),
          workspace: { name: names.workspace },
          campaign: { name: names.campaign },
          event: e.entry_event?.properties ?? {},
        };
        const rendered = await renderContent(node.config, variables);
        const key = `enrollment:${e.id}:node:${node.id}`;
        // A transactional campaign's email has no subscription topic (topics.ts).
        const topic = priority === 'transactional' ? {} : { topic: { id: node.config.topicId ?? null } };
        scratch.emails.push({ workspaceId: e.workspace_id, contactId: contact.id, campaignId: e.campaign_id, key, from: node.config.from ?? this.deps.config.emailFrom, to: contact.email, ...rendered, ...topic, ...aiModeOf(node.config.personalization) });
        return { kind: 'advance', handle: NEXT_HANDLE, detail: { idempotencyKey: key, subject: rendered.subject, emailPriority: priority } };
      }
      case 'wait': {
        const config = node.config;
        switch (config.kind) {
          case 'duration': {
            const until = waitingFor?.kind === 'duration' ? new Date(waitingFor.until) : new Date(now.getTime() + config.seconds * 1000);
            if (until.getTime() <= now.getTime()) return { kind: 'advance', handle: NEXT_HANDLE, detail: { waitedUntil: until.toISOString() } };
            return { kind: 'wait', until, state: { kind: 'duration', until: until.toISOString() } };
          }
          case 'until_time': {
            const zone = contact.timezone && isTimeZone(contact.timezone) ? contact.timezone : (config.defaultTimezone ?? 'UTC');
            const until = waitingFor?.kind === 'until_time' ? new Date(waitingFor.until) : nextAllowedTime(now, zone, config);
            if (until.getTime() <= now.getTime()) return { kind: 'advance', handle: NEXT_HANDLE, detail: { waitedUntil: until.toISOString(), timezone: zone } };
            return { kind: 'wait', until, state: { kind: 'until_time', until: until.toISOString() } };
          }
          case 'event': {
            if (waitingFor?.kind === 'event') {
              if (waitingFor.matched) return { kind: 'advance', handle: NEXT_HANDLE, detail: { event: waitingFor.name, eventId: waitingFor.eventId ?? null } };
              if (new Date(waitingFor.until).getTime() <= now.getTime()) return { kind: 'advance', handle: TIMEOUT_HANDLE, detail: { event: waitingFor.name, timedOut: true } };
              return { kind: 'wait', until: new Date(waitingFor.until), state: waitingFor };
            }
            const until = new Date(now.getTime() + config.timeoutSeconds * 1000);
            const key = config.correlationKey;
            const entryProperties = (e.entry_event?.properties ?? {}) as Record<string, unknown>;
            // The event sink matches waiting rows by name and correlation value (see sink.ts).
            const correlation = key === undefined ? null : { key, value: entryProperties[key] ?? null };
            return { kind: 'wait', until, state: { kind: 'event', name: config.name, until: until.toISOString(), correlation } };
          }
          default:
            return assertUnreachable(config);
        }
      }
      case 'condition': {
        for (const branch of node.config.branches) {
          if (await this.matches(tx, e, contact, scratch, branch.match as RuleGroup, now, compiled)) return { kind: 'advance', handle: branch.id, detail: { branch: branch.id } };
        }
        return { kind: 'advance', handle: DEFAULT_HANDLE, detail: { branch: DEFAULT_HANDLE } };
      }
      case 'split': {
        const variant = splitVariant(contact.id, node.id, node.config.variants);
        return { kind: 'advance', handle: variant, detail: { variant } };
      }
      case 'action':
        return { kind: 'advance', handle: NEXT_HANDLE, detail: await this.act(tx, e, node, contact, scratch) };
      case 'exit':
        return { kind: 'exit', reason: node.config.reason ?? null, detail: node.config.reason ? { reason: node.config.reason } : {} };
      default:
        return assertUnreachable(node);
    }
  }

  /**
   * Campaign emails the contact got within the cap's window (journey rows of email steps, in
   * engine time), plus those staged in this claim. Promotional emails keep one slot free for
   * lifecycle ones; transactional emails are never capped.
   */
  private async frequencyCapDefer(tx: Queryable, e: EnrollmentRow, cap: FrequencyCap, priority: 'lifecycle' | 'promotional', scratch: RunScratch, now: Date): Promise<Date | null> {
    const windowMs = cap.windowHours * 3_600_000;
    const since = new Date(now.getTime() - windowMs);
    // Uses enrollments_contact_idx, then enrollment_steps_enrollment_idx.
    const sent = await tx.query<{ n: number; oldest: Date | null }>(
      `SELECT count(*)::int AS n, min(s.at) AS oldest
         FROM enrollments e JOIN enrollment_steps s ON s.enrollment_id = e.id
        WHERE e.workspace_id = $1 AND e.contact_id = $2 AND s.outcome = 'completed' AND s.at > $3 AND s.detail ? 'emailPriority'
          AND s.detail->>'emailPriority' <> 'transactional'`,
      [e.workspace_id, e.contact_id, since],
    );
    const staged = scratch.emails.filter((m) => m.contactId === e.contact_id).length;
    const count = sent.rows[0]!.n + staged;
    const limit = priority === 'promotional' && cap.maxEmails > 1 ? cap.maxEmails - 1 : cap.maxEmails;
    if (count < limit) return null;
    const oldest = sent.rows[0]!.oldest ?? now;
    return new Date(Math.max(oldest.getTime() + windowMs, now.getTime() + 60_000));
  }

  private async act(tx: Queryable, e: EnrollmentRow, node: Extract<DefinitionNode, { type: 'action' }>, contact: ContactRow, scratch: RunScratch): Promise<Record<string, unknown>> {
    const config = node.config;
    const change = scratch.contact;
    switch (config.kind) {
      case 'tag_add': {
        if (contact.tags.includes(config.tag)) return { tag: config.tag, changed: false };
        contact.tags.push(config.tag);
        change.addTags = [...change.addTags.filter((t) => t !== config.tag), config.tag];
        change.removeTags = change.removeTags.filter((t) => t !== config.tag);
        scratch.events.push({ contactId: contact.id, type: 'system', name: 'tag_added', properties: { tag: config.tag, campaignId: e.campaign_id, enrollmentId: e.id } });
        return { tag: config.tag, changed: true };
      }
      case 'tag_remove': {
        if (!contact.tags.includes(config.tag)) return { tag: config.tag, changed: false };
        contact.tags = contact.tags.filter((t) => t !== config.tag);
        change.removeTags = [...change.removeTags.filter((t) => t !== config.tag), config.tag];
        change.addTags = change.addTags.filter((t) => t !== config.tag);
        scratch.events.push({ contactId: contact.id, type: 'system', name: 'tag_removed', properties: { tag: config.tag, campaignId: e.campaign_id, enrollmentId: e.id } });
        return { tag: config.tag, changed: true };
      }
      case 'score_change': {
        const before = contact.score;
        contact.score = Math.max(0, Math.min(100, before + config.delta));
        change.scoreDelta += config.delta;
        return { from: before, to: contact.score };
      }
      case 'field_update': {
        const { field, value } = config;
        let stored: unknown = value;
        if ((CONTACT_COLUMNS as readonly string[]).includes(field)) {
          const column = field as ContactColumn;
          const text = value === null ? null : String(value);
          if (column === 'status' && (text === null || !CONTACT_STATUSES.includes(text))) throw new PermanentStepError(`status must be one of ${CONTACT_STATUSES.join(', ')}`);
          if (column === 'timezone' && text !== null) {
            try {
              new Intl.DateTimeFormat('en', { timeZone: text });
            } catch {
              throw new PermanentStepError(`"${text}" is not a time zone`);
            }
          }
          (contact as unknown as Record<string, unknown>)[column] = text;
          change.fields[column] = text;
        } else {
          // A declared custom field takes its type ("42" → 42); a value it cannot take fails the step.
          let types = scratch.fieldTypes.get(e.workspace_id);
          if (!types) scratch.fieldTypes.set(e.workspace_id, (types = loadFieldTypes(tx, e.workspace_id)));
          const type = value === null ? undefined : (await types).get(field);
          const coerced = type ? coerceCustomValue(type, value) : { ok: true as const, value };
          if (!coerced.ok) throw new PermanentStepError(`${field} ${coerced.message} (a ${type} custom field)`);
          contact.custom_fields[field] = coerced.value;
          change.custom[field] = coerced.value;
          stored = coerced.value;
        }
        scratch.events.push({ contactId: contact.id, type: 'system', name: 'field_updated', properties: { field, campaignId: e.campaign_id, enrollmentId: e.id } });
        return { field, value: stored };
      }
      case 'webhook': {
        const key = `enrollment:${e.id}:node:${node.id}`;
        scratch.webhooks.push({
          workspaceId: e.workspace_id,
          campaignId: e.campaign_id,
          enrollmentId: e.id,
          key,
          url: config.url,
          secret: config.secret,
          body: {
            type: 'campaign.step',
            campaignId: e.campaign_id,
            enrollmentId: e.id,
            nodeId: node.id,
            contact: { id: contact.id, email: contact.email, first_name: contact.first_name, last_name: contact.last_name, company: contact.company, job_title: contact.job_title, status: contact.status, score: contact.score, tags: contact.tags, custom_fields: contact.custom_fields },
            event: e.entry_event,
          },
        });
        return { webhook: config.url };
      }
      case 'notify': {
        const member = await tx.query<{ email: string; name: string }>(
          'SELECT u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2',
          [e.workspace_id, config.userId],
        );
        const user = member.rows[0];
        if (!user) throw new PermanentStepError(`user ${config.userId} is not a member of this workspace`);
        const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ') || contact.email;
        const text = `${config.text}\n\nContact: ${name} <${contact.email}>`;
        const key = `enrollment:${e.id}:node:${node.id}`;
        scratch.emails.push({ workspaceId: e.workspace_id, contactId: null, campaignId: e.campaign_id, key, from: this.deps.config.emailFrom, to: user.email, subject: config.subject, html: `<p>${escapeHtml(text).replace(/\n/g, '<br>')}</p>`, text });
        return { notified: config.userId };
      }
      default:
        return assertUnreachable(config);
    }
  }

  private async matches(tx: Queryable, e: EnrollmentRow, contact: ContactRow, scratch: RunScratch, group: RuleGroup, now: Date, compiled: CompiledDefinition): Promise<boolean> {
    for (const rule of group.rules) {
      const ok = 'operator' in rule ? await this.matches(tx, e, contact, scratch, rule, now, compiled) : await this.rule(tx, e, contact, scratch, rule, now);
      if (group.operator === 'and' && !ok) return false;
      if (group.operator === 'or' && ok) return true;
    }
    return group.operator === 'and';
  }

  private async rule(tx: Queryable, e: EnrollmentRow, contact: ContactRow, scratch: RunScratch, rule: ConditionRuleValue, now: Date): Promise<boolean> {
    switch (rule.kind) {
      case 'field': {
        const builtIn = (contact as unknown as Record<string, unknown>)[rule.field];
        const actual = rule.field === 'email' || (CONTACT_COLUMNS as readonly string[]).includes(rule.field) ? builtIn : contact.custom_fields[rule.field];
        return compare(actual, rule.op, rule.value);
      }
      case 'score':
        return compare(contact.score, rule.op, rule.value);
      case 'tag':
        return contact.tags.includes(rule.tag) === rule.present;
      case 'event': {
        if (scratch.events.some((ev) => ev.name === rule.name)) return rule.present;
        const since = rule.withinSeconds ? new Date(now.getTime() - rule.withinSeconds * 1000) : null;
        // Uses events_contact_idx (workspace_id, contact_id, occurred_at).
        const found = await tx.query(
          `SELECT 1 FROM events WHERE workspace_id = $1 AND contact_id = $2 AND name = $3 AND ($4::timestamptz IS NULL OR occurred_at >= $4) LIMIT 1`,
          [e.workspace_id, contact.id, rule.name, since],
        );
        return (found.rows.length > 0) === rule.present;
      }
      case 'email': {
        // Engagement with the message this enrollment got at that node (its idempotency key names both).
        const found = await tx.query(
          `SELECT 1 FROM messages m
             JOIN events ev ON ev.workspace_id = m.workspace_id AND ev.contact_id = m.contact_id AND ev.type = 'email'
                           AND ev.name = $3 AND ev.properties->>'messageId' = m.id::text
            WHERE m.workspace_id = $1 AND m.idempotency_key = $2
            LIMIT 1`,
          [e.workspace_id, `enrollment:${e.id}:node:${rule.nodeId}`, rule.event],
        );
        return (found.rows.length > 0) === rule.present;
      }
      default:
        return assertUnreachable(rule);
    }
  }

  /** Writes a batch's effects with set-based statements, in an order that keeps lock order stable. */
  private async write(tx: Queryable, batch: BatchEffects, now: Date): Promise<void> {
    const changed = [...batch.contacts.entries()].filter(([, c]) => c.addTags.length > 0 || c.removeTags.length > 0 || c.scoreDelta !== 0 || Object.keys(c.fields).length > 0 || Object.keys(c.custom).length > 0);
    if (changed.length > 0) {
      changed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      // name: applyContactChanges — relative changes (tags added/removed, score delta, fields set)
      // so concurrent writers compose; rows are locked in id order first to avoid deadlocks.
      await tx.query('SELECT id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [changed.map(([id]) => id)]);
      await tx.query(
        `UPDATE contacts c SET
            tags = ARRAY(SELECT t.x FROM unnest(c.tags || u.add_tags) WITH ORDINALITY AS t(x, n)
                          WHERE NOT (t.x = ANY(u.remove_tags)) GROUP BY t.x ORDER BY min(t.n)),
            score = LEAST(100, GREATEST(0, c.score + u.score_delta)),
            score_adjustment = c.score_adjustment + u.score_delta,
            -- The explanation is rendered from the stored inputs: they carry the new adjustment too.
            score_inputs = CASE WHEN u.score_delta = 0 OR c.score_inputs IS NULL THEN c.score_inputs
                                ELSE jsonb_set(c.score_inputs, '{scoreAdjustment}', to_jsonb(c.score_adjustment + u.score_delta)) END,
            first_name = CASE WHEN u.fields ? 'first_name' THEN u.fields->>'first_name' ELSE c.first_name END,
            last_name = CASE WHEN u.fields ? 'last_name' THEN u.fields->>'last_name' ELSE c.last_name END,
            company = CASE WHEN u.fields ? 'company' THEN u.fields->>'company' ELSE c.company END,
            job_title = CASE WHEN u.fields ? 'job_title' THEN u.fields->>'job_title' ELSE c.job_title END,
            phone = CASE WHEN u.fields ? 'phone' THEN u.fields->>'phone' ELSE c.phone END,
            status = CASE WHEN u.fields ? 'status' THEN u.fields->>'status' ELSE c.status END,
            timezone = CASE WHEN u.fields ? 'timezone' THEN u.fields->>'timezone' ELSE c.timezone END,
            custom_fields = c.custom_fields || u.custom,
            updated_at = $2
           FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, workspace_id uuid, add_tags text[], remove_tags text[], score_delta int, fields jsonb, custom jsonb)
          WHERE c.id = u.id AND c.workspace_id = u.workspace_id`,
        [
          JSON.stringify(changed.map(([id, c]) => ({ id, workspace_id: c.workspaceId, add_tags: c.addTags, remove_tags: c.removeTags, score_delta: c.scoreDelta, fields: c.fields, custom: c.custom }))),
          now,
        ],
      );
    }
    for (const [workspaceId, events] of batch.events) await recordEvents(tx, this.deps.eventSink(), workspaceId, events, now);
    for (const m of batch.emails) {
      await enqueueEmail(tx, { workspaceId: m.workspaceId, contactId: m.contactId, idempotencyKey: m.key, sourceType: 'campaign', sourceId: m.campaignId, from: m.from, to: m.to, subject: m.subject, html: m.html, text: m.text, ...(m.topic ? { topic: m.topic } : {}), ...(m.aiMode ? { aiMode: m.aiMode } : {}) });
    }
    if (batch.webhooks.length > 0) {
      // name: enqueueWebhooks — the idempotency key makes a replayed step find its row.
      await tx.query(
        `INSERT INTO campaign_webhooks (workspace_id, campaign_id, enrollment_id, idempotency_key, url, secret, body, next_attempt_at, created_at)
         SELECT w.workspace_id, w.campaign_id, w.enrollment_id, w.key, w.url, w.secret, w.body, $2, $2
           FROM jsonb_to_recordset($1::jsonb) AS w(workspace_id uuid, campaign_id uuid, enrollment_id uuid, key text, url text, secret text, body jsonb)
         ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`,
        [JSON.stringify(batch.webhooks.map((w) => ({ workspace_id: w.workspaceId, campaign_id: w.campaignId, enrollment_id: w.enrollmentId, key: w.key, url: w.url, secret: w.secret, body: w.body }))), now],
      );
    }
    if (batch.steps.length > 0) {
      // name: appendJourneySteps — one INSERT for the whole batch, from typed arrays.
      const steps = batch.steps;
      await tx.query(
        `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
         SELECT u.workspace_id, u.campaign_id, u.enrollment_id, u.node_id, u.outcome, u.handle, u.detail::jsonb, $8
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
                AS u(workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail)`,
        [
          steps.map((s) => s.workspaceId),
          steps.map((s) => s.campaignId),
          steps.map((s) => s.enrollmentId),
          steps.map((s) => s.nodeId),
          steps.map((s) => s.outcome),
          steps.map((s) => s.handle),
          steps.map((s) => JSON.stringify(s.detail)),
          now,
        ],
      );
    }
    const ids: string[] = [];
    const statuses: string[] = [];
    const nodes: string[] = [];
    const runAts: Date[] = [];
    const attempts: number[] = [];
    const errors: Array<string | null> = [];
    const reasons: Array<string | null> = [];
    const waits: Array<string | null> = [];
    for (const [id, s] of batch.states) {
      ids.push(id);
      statuses.push(s.status);
      nodes.push(s.nodeId);
      runAts.push(s.nextRunAt);
      attempts.push(s.attempts);
      errors.push(s.lastError);
      reasons.push(s.exitReason);
      waits.push(s.waitingFor === null ? null : JSON.stringify(s.waitingFor));
    }
    // name: advanceEnrollments — one UPDATE … FROM unnest for the whole batch; the rows are
    // already locked by the claim, so this takes no new locks.
    await tx.query(
      `UPDATE enrollments e SET
          status = u.status, current_node_id = u.node_id, next_run_at = u.next_run_at, attempts = u.attempts,
          last_error = u.last_error, exit_reason = u.exit_reason, waiting_for = u.waiting_for::jsonb,
          finished_at = CASE WHEN u.status IN ('completed', 'exited') THEN $9::timestamptz ELSE NULL END,
          updated_at = $9
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::text[], $7::text[], $8::text[])
              AS u(id, status, node_id, next_run_at, attempts, last_error, exit_reason, waiting_for)
        WHERE e.id = u.id`,
      [ids, statuses, nodes, runAts, attempts, errors, reasons, waits, now],
    );
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
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
