/**
 * The AI call log: one ai_calls row for every call, including refused and failed ones, and the
 * usage reads over it (filtered list, spend per day by model).
 */
import type { Queryable } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import { uuidv7 } from '../platform/uuid.js';

import type { AI_OPERATIONS, AI_OUTCOMES } from './ai.schemas.js';

export { AI_OPERATIONS, AI_OUTCOMES } from './ai.schemas.js';
export type AiOperation = (typeof AI_OPERATIONS)[number];
export type AiOutcome = (typeof AI_OUTCOMES)[number];

export interface AiCallRecord {
  workspaceId: string;
  actor: Actor;
  operation: AiOperation;
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number;
  outcome: AiOutcome;
  reasonCode: string | null;
  reason: string | null;
  messageId?: string | null;
  templateId?: string | null;
  campaignId?: string | null;
  contactId?: string | null;
  at: Date;
}

export async function logCall(q: Queryable, call: AiCallRecord): Promise<string> {
  return (await logCalls(q, [call]))[0]!;
}

/** Writes a batch of calls' rows in one statement; returns their ids in order. */
export async function logCalls(q: Queryable, calls: AiCallRecord[]): Promise<string[]> {
  if (calls.length === 0) return [];
  const rows = calls.map((call) => ({
    // Time-ordered: a batch's rows land on the right edge of the primary key, not on random pages.
    id: uuidv7(call.at.getTime()),
    workspace_id: call.workspaceId,
    actor_type: call.actor.type,
    actor_id: call.actor.id,
    operation: call.operation,
    provider: call.provider,
    model: call.model,
    tokens_in: call.tokensIn,
    tokens_out: call.tokensOut,
    cost: call.cost,
    latency_ms: call.latencyMs,
    outcome: call.outcome,
    reason_code: call.reasonCode,
    reason: call.reason?.slice(0, 1000) ?? null,
    message_id: call.messageId ?? null,
    template_id: call.templateId ?? null,
    campaign_id: call.campaignId ?? null,
    contact_id: call.contactId ?? null,
    created_at: call.at.toISOString(),
  }));
  const columns = Object.keys(rows[0]!).join(', ');
  await q.query(`INSERT INTO ai_calls (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::ai_calls, $1::json)`, [JSON.stringify(rows)]);
  return rows.map((r) => r.id);
}

export interface CallFilters {
  from?: string | undefined;
  to?: string | undefined;
  operation?: AiOperation | undefined;
  outcome?: AiOutcome | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  campaignId?: string | undefined;
  limit: number;
  /** created_at of the last row of the previous page (ISO), for paging backwards in time. */
  before?: string | undefined;
}

export interface AiCallView {
  id: string;
  actorType: string;
  actorId: string | null;
  operation: string;
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number;
  outcome: string;
  reasonCode: string | null;
  reason: string | null;
  messageId: string | null;
  templateId: string | null;
  campaignId: string | null;
  contactId: string | null;
  createdAt: string;
}

const FILTER = `workspace_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
  AND ($4::text IS NULL OR operation = $4) AND ($5::text IS NULL OR outcome = $5) AND ($6::text IS NULL OR provider = $6)
  AND ($7::text IS NULL OR model = $7) AND ($8::uuid IS NULL OR campaign_id = $8)`;

function filterParams(workspaceId: string, f: CallFilters): unknown[] {
  return [workspaceId, f.from ?? null, f.to ?? null, f.operation ?? null, f.outcome ?? null, f.provider ?? null, f.model ?? null, f.campaignId ?? null];
}

export async function listCalls(q: Queryable, workspaceId: string, f: CallFilters): Promise<AiCallView[]> {
  const result = await q.query<Record<string, unknown>>(
    `SELECT id, actor_type, actor_id, operation, provider, model, tokens_in, tokens_out, cost, latency_ms, outcome, reason_code, reason,
            message_id, template_id, campaign_id, contact_id, created_at
       FROM ai_calls WHERE ${FILTER} AND ($9::timestamptz IS NULL OR created_at < $9)
      ORDER BY created_at DESC, id DESC LIMIT $10`,
    [...filterParams(workspaceId, f), f.before ?? null, f.limit],
  );
  return result.rows.map((r) => ({
    id: r.id as string,
    actorType: r.actor_type as string,
    actorId: (r.actor_id as string | null) ?? null,
    operation: r.operation as string,
    provider: r.provider as string,
    model: r.model as string,
    tokensIn: Number(r.tokens_in),
    tokensOut: Number(r.tokens_out),
    cost: Number(r.cost),
    latencyMs: Number(r.latency_ms),
    outcome: r.outcome as string,
    reasonCode: (r.reason_code as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    messageId: (r.message_id as string | null) ?? null,
    templateId: (r.template_id as string | null) ?? null,
    campaignId: (r.campaign_id as string | null) ?? null,
    contactId: (r.contact_id as string | null) ?? null,
    createdAt: (r.created_at as Date).toISOString(),
  }));
}

/** Spend and calls per UTC day and model, for the usage chart. */
export async function spendPerDay(q: Queryable, workspaceId: string, f: CallFilters): Promise<Array<{ day: string; provider: string; model: string; calls: number; cost: number; tokensIn: number; tokensOut: number }>> {
  const result = await q.query<{ day: string; provider: string; model: string; calls: number; cost: string; tokens_in: number; tokens_out: number }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, provider, model, count(*)::int AS calls, sum(cost) AS cost,
            sum(tokens_in)::int AS tokens_in, sum(tokens_out)::int AS tokens_out
       FROM ai_calls WHERE ${FILTER}
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    filterParams(workspaceId, f),
  );
  return result.rows.map((r) => ({ day: r.day, provider: r.provider, model: r.model, calls: r.calls, cost: Number(r.cost), tokensIn: r.tokens_in, tokensOut: r.tokens_out }));
}
