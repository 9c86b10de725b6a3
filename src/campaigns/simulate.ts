/**
 * Simulation: runs a definition for a real or hypothetical contact with time fast-forwarded and
 * supplied events, and reports the path, the emails that would be sent and the waits. It runs the
 * real engine inside one transaction that is always rolled back, so nothing is stored or sent
 * (NOTIFY is discarded on rollback too) and the simulated path is exactly the engine's.
 */
import type { Static } from '@sinclair/typebox';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { recordEvents, type EventType } from '../core/events.js';
import { AppError, notFound } from '../http/errors.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { goalEventOf, goalSegmentOf, type CampaignDefinition } from './definition.js';
import type { SimulatedContact } from './campaigns.schemas.js';
import { CampaignEngine } from './engine.js';
import { createCampaignEventSink } from './sink.js';
import { assertValidDefinition } from './definition-checks.js';
import { enrollContacts } from './enrollment.js';

export interface SimulationInput {
  definition: unknown;
  contactId?: string | undefined;
  /** camelCase; the old snake_case spellings (first_name, …) are still accepted (campaigns.schemas.ts). */
  contact?: Static<typeof SimulatedContact> | undefined;
  entryEvent?: { name: string; properties?: Record<string, unknown> } | undefined;
  /** Events that happen during the journey, `afterSeconds` from the start. */
  events?: Array<{ afterSeconds: number; type?: EventType; name: string; properties?: Record<string, unknown> }> | undefined;
  /** How far time may be fast-forwarded; 365 days at most. */
  horizonDays?: number | undefined;
}

export interface SimulationResult {
  status: string;
  exitReason: string | null;
  error: string | null;
  path: Array<{ nodeId: string; type: string | null; outcome: string; handle: string | null; at: string; detail: Record<string, unknown> }>;
  emails: Array<{ nodeId: string; to: string; from: string; subject: string; html: string; text: string; at: string }>;
  waits: Array<{ nodeId: string; from: string; until: string }>;
  endedAt: string;
}

class Rollback extends Error {
  constructor(readonly result: SimulationResult) {
    super('simulation rollback');
  }
}

const MAX_ROUNDS = 500;

export async function simulateCampaign(deps: { db: Database; clock: Clock; logger: Logger; config: Config }, workspaceId: string, campaignName: string, input: SimulationInput): Promise<SimulationResult> {
  const definition: CampaignDefinition = await assertValidDefinition(input.definition);
  const start = deps.clock.now();
  const horizon = start.getTime() + Math.min(input.horizonDays ?? 90, 365) * 86_400_000;
  const sink = createCampaignEventSink({ clock: deps.clock });
  const engine = new CampaignEngine({ db: deps.db, clock: deps.clock, logger: deps.logger, config: deps.config, random: () => 0.5, eventSink: () => sink }, { maxAttempts: 1 });
  try {
    await deps.db.transaction(async (tx) => {
      const campaign = await tx.query<{ id: string }>(`INSERT INTO campaigns (workspace_id, name, status, draft_definition, current_version, created_at, updated_at) VALUES ($1, $2, 'active', $3, 1, $4, $4) RETURNING id`, [
        workspaceId,
        campaignName,
        JSON.stringify(definition),
        start,
      ]);
      const campaignId = campaign.rows[0]!.id;
      await tx.query('INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition, published_at, goal_event, goal_segment_id) VALUES ($1, $2, 1, $3, $4, $5, $6)', [
        workspaceId,
        campaignId,
        JSON.stringify(definition),
        start,
        goalEventOf(definition),
        goalSegmentOf(definition),
      ]);
      const contactId = await simulatedContact(tx, workspaceId, input);
      const entry = input.entryEvent ? { id: null, type: 'track', name: input.entryEvent.name, properties: input.entryEvent.properties ?? {}, occurredAt: start.toISOString() } : null;
      const [enrolled] = await enrollContacts(tx, workspaceId, campaignId, [{ contactId, entryEvent: entry }], start);
      const enrollmentId = enrolled!.enrollmentId!;
      const pending = [...(input.events ?? [])].sort((a, b) => a.afterSeconds - b.afterSeconds);
      let now = start;
      const waits: SimulationResult['waits'] = [];
      for (let round = 0; round < MAX_ROUNDS; round++) {
        await engine.runEnrollmentAt(tx, enrollmentId, now);
        const state = await tx.query<{ status: string; next_run_at: Date; current_node_id: string }>('SELECT status, next_run_at, current_node_id FROM enrollments WHERE id = $1', [enrollmentId]);
        const row = state.rows[0]!;
        if (row.status !== 'active') break;
        const nextEvent = pending[0] ? new Date(start.getTime() + pending[0].afterSeconds * 1000) : null;
        if (nextEvent && nextEvent.getTime() <= row.next_run_at.getTime()) {
          const event = pending.shift()!;
          now = new Date(Math.max(now.getTime(), nextEvent.getTime()));
          await recordEvents(tx, sink, workspaceId, [{ contactId, type: event.type ?? 'track', name: event.name, properties: event.properties ?? {}, occurredAt: now }], now);
          continue;
        }
        if (row.next_run_at.getTime() > horizon) break;
        if (row.next_run_at.getTime() > now.getTime()) {
          waits.push({ nodeId: row.current_node_id, from: now.toISOString(), until: row.next_run_at.toISOString() });
          now = row.next_run_at;
        }
      }
      const types = new Map(definition.nodes.map((n) => [n.id, n.type]));
      const steps = await tx.query<{ node_id: string; outcome: string; handle: string | null; at: Date; detail: Record<string, unknown> }>('SELECT node_id, outcome, handle, at, detail FROM enrollment_steps WHERE enrollment_id = $1 ORDER BY id', [enrollmentId]);
      const emails = await tx.query<{ idempotency_key: string; to_address: string; from_address: string; subject: string; html: string; text_body: string; created_at: Date }>(
        `SELECT idempotency_key, to_address, from_address, subject, html, text_body, created_at FROM messages WHERE workspace_id = $1 AND source_id = $2 ORDER BY idempotency_key`,
        [workspaceId, campaignId],
      );
      const order = steps.rows.map((s) => s.node_id);
      const stepAt = new Map(steps.rows.map((s) => [s.node_id, s.at.toISOString()]));
      const final = await tx.query<{ status: string; exit_reason: string | null; last_error: string | null }>('SELECT status, exit_reason, last_error FROM enrollments WHERE id = $1', [enrollmentId]);
      const f = final.rows[0]!;
      throw new Rollback({
        status: f.status,
        exitReason: f.exit_reason,
        error: f.last_error,
        path: steps.rows.map((s) => ({ nodeId: s.node_id, type: types.get(s.node_id) ?? null, outcome: s.outcome, handle: s.handle, at: s.at.toISOString(), detail: s.detail })),
        emails: emails.rows
          .map((m) => {
            const nodeId = m.idempotency_key.split(':node:')[1] ?? '';
            return { nodeId, to: m.to_address, from: m.from_address, subject: m.subject, html: m.html, text: m.text_body, at: stepAt.get(nodeId) ?? now.toISOString() };
          })
          .sort((a, b) => order.indexOf(a.nodeId) - order.indexOf(b.nodeId)),
        waits,
        endedAt: now.toISOString(),
      });
    });
  } catch (error) {
    if (error instanceof Rollback) return error.result;
    throw error;
  }
  throw new Error('simulation ended without a result');
}

async function simulatedContact(tx: Queryable, workspaceId: string, input: SimulationInput): Promise<string> {
  if (input.contactId) {
    const found = await tx.query<{ id: string }>('SELECT id FROM contacts WHERE workspace_id = $1 AND id = $2', [workspaceId, input.contactId]);
    if (!found.rows[0]) throw notFound('Contact');
    return found.rows[0].id;
  }
  const c = input.contact ?? {};
  if (c.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: c.timezone });
    } catch {
      throw new AppError('VALIDATION_FAILED', `"${c.timezone}" is not a time zone`);
    }
  }
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO contacts (workspace_id, email, first_name, last_name, company, job_title, timezone, tags, score, custom_fields)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [workspaceId, (c.email ?? `simulated-${Date.now()}@example.invalid`).toLowerCase(), c.firstName ?? c.first_name ?? null, c.lastName ?? c.last_name ?? null, c.company ?? null, c.jobTitle ?? c.job_title ?? null, c.timezone ?? null, c.tags ?? [], c.score ?? 0, JSON.stringify(c.customFields ?? c.custom_fields ?? {})],
  );
  return inserted.rows[0]!.id;
}
