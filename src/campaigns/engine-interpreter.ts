/**
 * The campaign interpreter: runs one enrollment's consecutive due nodes in memory — triggers,
 * email (rendered, frequency-capped), waits, conditions, splits, actions, exits — until it waits,
 * ends or fails, staging every effect in the run's scratch. Nothing is written here.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/database.js';
import { aiModeOf } from '../ai/mode.js';
import { contactVariables, renderContent } from '../email/render.js';
import { assertUnreachable } from '../http/errors.js';
import { DEFAULT_HANDLE, NEXT_HANDLE, TIMEOUT_HANDLE, type CompiledDefinition, type DefinitionNode, type RuleGroup } from './definition.js';
import { act } from './engine-actions.js';
import { matches } from './engine-conditions.js';
import {
  PermanentStepError,
  restore,
  snapshot,
  StepFailure,
  type ContactRow,
  type EnrollmentRow,
  type FrequencyCap,
  type NextState,
  type RunContext,
  type RunScratch,
  type WaitState,
} from './engine-state.js';
import { isTimeZone, nextAllowedTime } from './schedule.js';

/** What the interpreter needs from the engine's options and config. */
export interface StepRunner {
  /** Consecutive nodes one claim may run for one enrollment. */
  maxStepsPerClaim: number;
  /** The sender address of notifications and of emails whose node names none. */
  emailFrom: string;
}

type NodeOutcome =
  | { kind: 'advance'; handle: string; detail: Record<string, unknown>; skipped?: boolean }
  | { kind: 'wait'; until: Date; state: WaitState }
  | { kind: 'exit'; reason: string | null; detail: Record<string, unknown>; skipped?: boolean };

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

/** Runs consecutive nodes for one enrollment until it waits, ends, or fails. */
export async function runEnrollment(
  runner: StepRunner,
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
  for (let step = 0; step < runner.maxStepsPerClaim; step++) {
    const node = compiled.nodes.get(nodeId);
    if (!node) throw new PermanentStepError(`node ${nodeId} is not in version ${e.version}`);
    // The nodes already run in this claim keep their effects; a failing node is retried alone.
    const mark = step === 0 ? null : snapshot(contact, scratch);
    let outcome: NodeOutcome;
    try {
      outcome = await execute(runner, tx, e, node, contact, scratch, now, names, waitingFor, compiled);
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

async function execute(
  runner: StepRunner,
  tx: Queryable,
  e: EnrollmentRow,
  node: DefinitionNode,
  contact: ContactRow,
  scratch: RunScratch,
  now: Date,
  names: RunContext,
  waitingFor: WaitState | null,
  compiled: CompiledDefinition,
): Promise<NodeOutcome> {
  switch (node.type) {
    case 'trigger':
      return { kind: 'advance', handle: NEXT_HANDLE, detail: {} };
    case 'email': {
      if (contact.subscription_state === 'unsubscribed') return { kind: 'advance', handle: NEXT_HANDLE, detail: { reason: 'unsubscribed' }, skipped: true };
      const priority = compiled.definition.settings?.priority ?? 'lifecycle';
      if (names.cap && priority !== 'transactional') {
        const deferUntil = await frequencyCapDefer(tx, e, names.cap, priority, scratch, now);
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
      scratch.emails.push({ workspaceId: e.workspace_id, contactId: contact.id, campaignId: e.campaign_id, key, from: node.config.from ?? runner.emailFrom, to: contact.email, ...rendered, ...topic, ...aiModeOf(node.config.personalization) });
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
        if (await matches(tx, e, contact, scratch, branch.match as RuleGroup, now, compiled)) return { kind: 'advance', handle: branch.id, detail: { branch: branch.id } };
      }
      return { kind: 'advance', handle: DEFAULT_HANDLE, detail: { branch: DEFAULT_HANDLE } };
    }
    case 'split': {
      const winner = names.winners.get(node.id);
      if (winner !== undefined && node.config.variants.some((v) => v.id === winner)) {
        // After a decision later contacts go to the winner; a contact this split assigned before
        // (an earlier pass or enrollment) keeps its variant.
        const earlier = await earlierVariant(tx, e, node.id);
        if (earlier !== null && earlier !== winner && node.config.variants.some((v) => v.id === earlier)) return { kind: 'advance', handle: earlier, detail: { variant: earlier, kept: true } };
        return { kind: 'advance', handle: winner, detail: { variant: winner, winner: true } };
      }
      const variant = splitVariant(contact.id, node.id, node.config.variants);
      return { kind: 'advance', handle: variant, detail: { variant } };
    }
    case 'action':
      return { kind: 'advance', handle: NEXT_HANDLE, detail: await act(tx, runner.emailFrom, e, node, contact, scratch) };
    case 'exit':
      return { kind: 'exit', reason: node.config.reason ?? null, detail: node.config.reason ? { reason: node.config.reason } : {} };
    default:
      return assertUnreachable(node);
  }
}

/** The variant this split gave the contact in an earlier pass or enrollment of the campaign, if any. */
async function earlierVariant(tx: Queryable, e: EnrollmentRow, nodeId: string): Promise<string | null> {
  // Uses enrollments_contact_idx, then enrollment_steps_enrollment_idx; runs only after a decision.
  const result = await tx.query<{ handle: string }>(
    `SELECT s.handle FROM enrollments en JOIN enrollment_steps s ON s.enrollment_id = en.id
      WHERE en.workspace_id = $1 AND en.contact_id = $2 AND en.campaign_id = $3 AND s.node_id = $4 AND s.outcome = 'completed' AND s.handle IS NOT NULL
      ORDER BY s.id LIMIT 1`,
    [e.workspace_id, e.contact_id, e.campaign_id, nodeId],
  );
  return result.rows[0]?.handle ?? null;
}

/**
 * Campaign emails the contact got within the cap's window (journey rows of email steps, in
 * engine time), plus those staged in this claim. Promotional emails keep one slot free for
 * lifecycle ones; transactional emails are never capped.
 */
async function frequencyCapDefer(tx: Queryable, e: EnrollmentRow, cap: FrequencyCap, priority: 'lifecycle' | 'promotional', scratch: RunScratch, now: Date): Promise<Date | null> {
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
