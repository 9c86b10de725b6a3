/**
 * The shapes one engine batch works with: the claimed enrollment rows, the contact view a step
 * reads and changes, the effects staged per run and per batch (written together by
 * engine-write.ts), the enrollment's next state, and the two kinds of step failure.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ContactRow as StoredContactRow } from '../core/contact.js';
import type { FieldTypes } from '../contacts/custom-fields.js';
import type { EventSink, NewEvent } from '../core/events.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';

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
export class PermanentStepError extends Error {}

/** A node failed after earlier nodes of the same claim succeeded: park at the failing node. */
export class StepFailure extends Error {
  constructor(
    readonly nodeId: string,
    readonly waitingFor: WaitState | null,
    readonly failure: unknown,
  ) {
    super((failure as Error).message ?? String(failure));
  }
}

export interface Snapshot {
  contact: ContactRow;
  change: ContactChange;
  emails: number;
  webhooks: number;
  events: number;
  steps: number;
}

export function snapshot(contact: ContactRow, scratch: RunScratch): Snapshot {
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

export function restore(contact: ContactRow, scratch: RunScratch, mark: Snapshot): void {
  Object.assign(contact, mark.contact);
  Object.assign(scratch.contact, mark.change);
  scratch.emails.length = mark.emails;
  scratch.webhooks.length = mark.webhooks;
  scratch.events.length = mark.events;
  scratch.steps.length = mark.steps;
}

export interface EnrollmentRow {
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
export type ContactRow = Omit<StoredContactRow, 'score_inputs' | 'created_at' | 'updated_at'>;

export const CONTACT_COLUMNS = ['first_name', 'last_name', 'company', 'job_title', 'phone', 'status', 'timezone'] as const;
export type ContactColumn = (typeof CONTACT_COLUMNS)[number];

/**
 * The contact column a definition's field name means: camelCase like the API (`firstName`), or the
 * snake_case a stored definition may still hold (`first_name`); null for a custom field.
 */
const FIELD_COLUMNS: ReadonlyMap<string, ContactColumn> = new Map([
  ...CONTACT_COLUMNS.map((c) => [c, c] as const),
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['jobTitle', 'job_title'],
]);
export function contactColumnOf(field: string): ContactColumn | null {
  return FIELD_COLUMNS.get(field) ?? null;
}
export const CONTACT_STATUSES = ['prospect', 'lead', 'customer'];

export interface ContactChange {
  workspaceId: string;
  addTags: string[];
  removeTags: string[];
  scoreDelta: number;
  fields: Partial<Record<ContactColumn, string | null>>;
  custom: Record<string, unknown>;
}

export interface StepRecord {
  nodeId: string;
  outcome: 'completed' | 'skipped' | 'failed';
  handle: string | null;
  detail: Record<string, unknown>;
}

export interface NextState {
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

export interface RunContext {
  campaign: string;
  workspace: string;
  cap: FrequencyCap | null;
  /** The campaign's A/B split winners (split_tests.winner_variant) by node id. */
  winners: ReadonlyMap<string, string>;
}

export interface PendingWebhook {
  workspaceId: string;
  campaignId: string;
  enrollmentId: string;
  key: string;
  url: string;
  secret: string;
  body: Record<string, unknown>;
}

export interface PendingEmail {
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
export class BatchEffects {
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
export interface RunScratch {
  /** The batch's cache of declared custom-field types (shared by its runs). */
  fieldTypes: Map<string, Promise<FieldTypes>>;
  emails: PendingEmail[];
  webhooks: PendingWebhook[];
  contact: ContactChange;
  events: NewEvent[];
  steps: StepRecord[];
}
