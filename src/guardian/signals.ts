/**
 * Guardian signals: computed from the product's own rows, per workspace, over a rolling window,
 * set-based — one statement per signal for a whole batch of rules, each workspace reading one
 * index range (indexes in migrations 076, 089, 098). The catalog (keys, units, labels) is
 * signal-catalog.schemas.ts; docs/guardian.md says where each signal comes from.
 *
 * A reading is { value, volume }: value null means "no data" (no sends, no budget), which never
 * fires; volume is what the rule's minimum volume is compared with (null for signals without one).
 */
import type { Queryable } from '../db/database.js';
import { readWatermark, splitWindow } from './rollup.js';
import type { SignalKey } from './signal-catalog.schemas.js';

export interface SignalInput {
  workspaceId: string;
  windowSeconds: number;
  scope: Record<string, unknown>;
  minVolume: number;
}

export interface SignalReading {
  value: number | null;
  volume: number | null;
}

type Compute = (q: Queryable, now: Date, inputs: SignalInput[]) => Promise<SignalReading[]>;

/** Heartbeats and circuit rows older than this belong to a process that is gone. */
export const LIVE_PROCESS_SECONDS = 30;

function pct(hits: number, volume: number): number | null {
  return volume > 0 ? (hits / volume) * 100 : null;
}

/** Distinct (workspace, window) pairs of the inputs, and each input's pair index. */
function pairs(inputs: SignalInput[]): { workspaces: string[]; windows: number[]; index: number[] } {
  const seen = new Map<string, number>();
  const workspaces: string[] = [];
  const windows: number[] = [];
  const index = inputs.map((input) => {
    const key = `${input.workspaceId}/${input.windowSeconds}`;
    let i = seen.get(key);
    if (i === undefined) {
      i = workspaces.length;
      seen.set(key, i);
      workspaces.push(input.workspaceId);
      windows.push(input.windowSeconds);
    }
    return i;
  });
  return { workspaces, windows, index };
}

function distinctWorkspaces(inputs: SignalInput[]): string[] {
  return [...new Set(inputs.map((i) => i.workspaceId))];
}

/** Each input's window split into message ranges and rolled-up hours (rollup.ts). */
async function windows(q: Queryable, now: Date, inputs: SignalInput[]) {
  const watermark = await readWatermark(q);
  const split = inputs.map((i) => ({ from: new Date(now.getTime() - i.windowSeconds * 1000), ...splitWindow(now.getTime() - i.windowSeconds * 1000, now.getTime(), watermark) }));
  return { from: split.map((s) => s.from), fullStart: split.map((s) => s.fullStart), rolledEnd: split.map((s) => s.rolledEnd) };
}

/**
 * Emails sent in the window and provider-reported `eventName` events in the window, per rule.
 * Sends: messages in the window's ragged edges plus the rolled-up hours between them.
 * name: guardian-send-outcomes — messages_sent_at_idx (two short ranges), guardian_send_hours
 * (primary key) and events_email_outcomes_idx per rule (migration 098). `eventName` is a constant
 * from this module, inlined so the planner can match the partial index.
 */
function outcomeRate(eventName: 'bounced' | 'complained'): Compute {
  return async (q, now, inputs) => {
    const w = await windows(q, now, inputs);
    const { rows } = await q.query<{ i: string; sends: string; hits: string }>(
      `SELECT r.i,
              (SELECT count(*) FROM messages m WHERE m.workspace_id = r.w AND m.sent_at IS NOT NULL AND m.sent_at > r.f AND m.sent_at < r.fs)
            + (SELECT count(*) FROM messages m WHERE m.workspace_id = r.w AND m.sent_at IS NOT NULL AND m.sent_at >= r.re AND m.sent_at <= $5)
            + (SELECT coalesce(sum(h.sends), 0) FROM guardian_send_hours h WHERE h.workspace_id = r.w AND h.hour >= r.fs AND h.hour < r.re) AS sends,
              (SELECT count(*) FROM events e
                WHERE e.workspace_id = r.w AND e.type = 'email' AND e.name = '${eventName}' AND e.occurred_at > r.f AND e.occurred_at <= $5) AS hits
         FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS r(w, f, fs, re, i)`,
      [inputs.map((i) => i.workspaceId), w.from, w.fullStart, w.rolledEnd, now],
    );
    const byInput = new Map(rows.map((r) => [Number(r.i) - 1, { sends: Number(r.sends), hits: Number(r.hits) }]));
    return inputs.map((_, i) => {
      const r = byInput.get(i) ?? { sends: 0, hits: 0 };
      return { value: pct(r.hits, r.sends), volume: r.sends };
    });
  };
}

/**
 * Unsubscribes per campaign: the campaign's emails sent in the window (edges from messages, the
 * rest from the rolled-up hours), and unsubscribe events in the window whose message belongs to
 * that campaign. The reading is the worst campaign with at least the rule's minimum volume of
 * sends (or the campaign in scope).
 * name: guardian-unsubscribe-rate — as guardian-send-outcomes, and the (few) unsubscribes joined
 * to their message by primary key.
 */
const unsubscribeRate: Compute = async (q, now, inputs) => {
  const w = await windows(q, now, inputs);
  const { rows } = await q.query<{ i: string; sends: string; unsubscribes: string }>(
    `WITH r AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS r(w, f, fs, re, campaign, i)),
     sends AS (
       SELECT r.i, x.campaign, sum(x.n) AS sends FROM r CROSS JOIN LATERAL (
         SELECT m.source_id AS campaign, count(*) AS n FROM messages m
          WHERE m.workspace_id = r.w AND m.sent_at IS NOT NULL AND m.sent_at > r.f AND m.sent_at < r.fs AND m.source_type = 'campaign' AND (r.campaign IS NULL OR m.source_id = r.campaign)
          GROUP BY m.source_id
         UNION ALL
         SELECT m.source_id, count(*) FROM messages m
          WHERE m.workspace_id = r.w AND m.sent_at IS NOT NULL AND m.sent_at >= r.re AND m.sent_at <= $6 AND m.source_type = 'campaign' AND (r.campaign IS NULL OR m.source_id = r.campaign)
          GROUP BY m.source_id
         UNION ALL
         SELECT h.campaign_id, sum(h.sends) FROM guardian_send_hours h
          WHERE h.workspace_id = r.w AND h.hour >= r.fs AND h.hour < r.re AND h.campaign_id <> '' AND (r.campaign IS NULL OR h.campaign_id = r.campaign)
          GROUP BY h.campaign_id) x
        GROUP BY r.i, x.campaign),
     unsubs AS (
       SELECT r.i, x.campaign, x.unsubscribes FROM r CROSS JOIN LATERAL (
         SELECT m.source_id AS campaign, count(*) AS unsubscribes FROM events e
           JOIN messages m ON m.id = (CASE WHEN e.properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (e.properties->>'messageId')::uuid END)
          WHERE e.workspace_id = r.w AND e.type = 'email' AND e.name = 'unsubscribed' AND e.occurred_at > r.f AND e.occurred_at <= $6
            AND m.workspace_id = r.w AND m.source_type = 'campaign' AND (r.campaign IS NULL OR m.source_id = r.campaign)
          GROUP BY m.source_id) x)
     SELECT s.i, s.sends, coalesce(u.unsubscribes, 0) AS unsubscribes FROM sends s LEFT JOIN unsubs u ON u.i = s.i AND u.campaign = s.campaign`,
    [inputs.map((i) => i.workspaceId), w.from, w.fullStart, w.rolledEnd, inputs.map((i) => (typeof i.scope.campaignId === 'string' ? i.scope.campaignId : null)), now],
  );
  const best: SignalReading[] = inputs.map(() => ({ value: null, volume: 0 }));
  for (const row of rows) {
    const index = Number(row.i) - 1;
    const sends = Number(row.sends);
    if (sends < inputs[index]!.minVolume) continue;
    const value = pct(Number(row.unsubscribes), sends);
    const current = best[index]!;
    if (value !== null && (current.value === null || value > current.value)) best[index] = { value, volume: sends };
  }
  return best;
};

/**
 * Messages queued in the window with a given status, and all messages queued in the window.
 * name: guardian-message-status — messages_workspace_created_idx per pair.
 */
function messagesWithStatus(status: 'failed' | 'uncertain', withVolume: boolean): Compute {
  return async (q, now, inputs) => {
    const p = pairs(inputs);
    const { rows } = await q.query<{ i: string; total: string; hits: string }>(
      `SELECT r.i, x.total, x.hits FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS r(w, s, i)
        CROSS JOIN LATERAL (
          SELECT count(*) AS total, count(*) FILTER (WHERE m.status = '${status}') AS hits FROM messages m
           WHERE m.workspace_id = r.w AND m.created_at > $3::timestamptz - r.s * interval '1 second' AND m.created_at <= $3) x`,
      [p.workspaces, p.windows, now],
    );
    const byPair = new Map(rows.map((r) => [Number(r.i) - 1, { total: Number(r.total), hits: Number(r.hits) }]));
    return p.index.map((i) => {
      const r = byPair.get(i) ?? { total: 0, hits: 0 };
      return { value: r.hits, volume: withVolume ? r.total : null };
    });
  };
}

const ageSeconds = (now: Date, oldest: unknown): number => Math.max(0, (now.getTime() - new Date(oldest as string).getTime()) / 1000);

/** Per-workspace readings from one grouped statement; workspaces without a row read `empty`. */
function perWorkspace(sql: string, empty: SignalReading, map: (row: Record<string, unknown>, now: Date) => SignalReading): Compute {
  return async (q, now, inputs) => {
    const { rows } = await q.query<Record<string, unknown> & { workspace_id: string }>(sql, [distinctWorkspaces(inputs), now]);
    const byWorkspace = new Map(rows.map((r) => [r.workspace_id, map(r, now)]));
    return inputs.map((input) => byWorkspace.get(input.workspaceId) ?? empty);
  };
}

/**
 * Providers whose circuit some live process (its monitor wrote within LIVE_PROCESS_SECONDS) reports
 * open. With split roles the sender's breakers live in the worker process; an api process's deep
 * health reads them here.
 */
export async function openCircuitProviders(q: Queryable, now: Date): Promise<string[]> {
  const { rows } = await q.query<{ provider_id: string }>(
    `SELECT DISTINCT provider_id FROM guardian_circuit_states WHERE state = 'open' AND seen_at > $1::timestamptz - interval '${LIVE_PROCESS_SECONDS} seconds'`,
    [now],
  );
  return rows.map((r) => r.provider_id);
}

/** name: guardian-circuits — guardian_circuit_states_workspace_idx (open rows only), live processes only. */
const providerCircuitOpen: Compute = async (q, now, inputs) => {
  const { rows } = await q.query<{ workspace_id: string; open: string }>(
    `SELECT workspace_id, count(DISTINCT provider_id) AS open FROM guardian_circuit_states
      WHERE workspace_id = ANY($1::uuid[]) AND state = 'open' AND seen_at > $2::timestamptz - interval '${LIVE_PROCESS_SECONDS} seconds'
      GROUP BY workspace_id`,
    [distinctWorkspaces(inputs), now],
  );
  const open = new Map(rows.map((r) => [r.workspace_id, Number(r.open)]));
  return inputs.map((input) => ({ value: open.get(input.workspaceId) ?? 0, volume: null }));
};

/** name: guardian-ai-budget — ai_budgets and ai_spend by primary key. */
const aiBudgetSpent: Compute = async (q, now, inputs) => {
  const { rows } = await q.query<{ workspace_id: string; spent: string | null; monthly_limit: string }>(
    `SELECT b.workspace_id, s.spent, b.monthly_limit FROM ai_budgets b
       LEFT JOIN ai_spend s ON s.workspace_id = b.workspace_id AND s.month = date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC')::date
      WHERE b.workspace_id = ANY($1::uuid[])`,
    [distinctWorkspaces(inputs), now],
  );
  const spent = new Map(rows.map((r) => [r.workspace_id, (Number(r.spent ?? 0) / Number(r.monthly_limit)) * 100]));
  return inputs.map((input) => ({ value: spent.get(input.workspaceId) ?? null, volume: null }));
};

/** name: guardian-engine-lag — enrollments_due_idx gives the due rows (few, when the engine keeps up). */
const engineLag = perWorkspace(
  `SELECT workspace_id, min(next_run_at) AS oldest, count(*) AS due FROM enrollments
    WHERE status = 'active' AND next_run_at <= $2 AND workspace_id = ANY($1::uuid[]) GROUP BY workspace_id`,
  { value: 0, volume: 0 },
  (r, now) => ({ value: ageSeconds(now, r.oldest), volume: Number(r.due) }),
);

/** name: guardian-outbox-age — messages_due_idx gives the queued due rows. */
const outboxAge = perWorkspace(
  `SELECT workspace_id, min(next_attempt_at) AS oldest, count(*) AS due FROM messages
    WHERE status = 'queued' AND next_attempt_at <= $2 AND workspace_id = ANY($1::uuid[]) GROUP BY workspace_id`,
  { value: 0, volume: 0 },
  (r, now) => ({ value: ageSeconds(now, r.oldest), volume: Number(r.due) }),
);

/** name: guardian-event-backlog — event_work holds only unprocessed batches (a small table). */
const eventBacklog = perWorkspace(
  `SELECT workspace_id, min(created_at) AS oldest, count(*) AS due FROM event_work
    WHERE parked_at IS NULL AND workspace_id = ANY($1::uuid[]) AND created_at <= $2 GROUP BY workspace_id`,
  { value: 0, volume: 0 },
  (r, now) => ({ value: ageSeconds(now, r.oldest), volume: Number(r.due) }),
);

const eventBacklogCount: Compute = async (q, now, inputs) => (await eventBacklog(q, now, inputs)).map((r) => ({ value: r.volume ?? 0, volume: null }));

/** name: guardian-webhook-failures — campaign_webhooks_workspace_created_idx per pair. */
const webhookFailures: Compute = async (q, now, inputs) => {
  const p = pairs(inputs);
  const { rows } = await q.query<{ i: string; total: string; failed: string }>(
    `SELECT r.i, count(h.id) AS total, count(h.id) FILTER (WHERE h.status = 'failed') AS failed
       FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS r(w, s, i)
       LEFT JOIN campaign_webhooks h ON h.workspace_id = r.w AND h.created_at > $3::timestamptz - r.s * interval '1 second' AND h.created_at <= $3
      GROUP BY r.i`,
    [p.workspaces, p.windows, now],
  );
  const byPair = new Map(rows.map((r) => [Number(r.i) - 1, { total: Number(r.total), failed: Number(r.failed) }]));
  return p.index.map((i) => {
    const r = byPair.get(i) ?? { total: 0, failed: 0 };
    return { value: r.failed, volume: r.total };
  });
};

/** Installation-wide: 5xx responses over all responses, from every process's per-minute counters. */
const apiErrorRate: Compute = async (q, now, inputs) => {
  const windows = [...new Set(inputs.map((i) => i.windowSeconds))];
  const { rows } = await q.query<{ s: number; requests: string; errors: string }>(
    `SELECT w.s, coalesce(sum(h.requests), 0) AS requests, coalesce(sum(h.errors_5xx), 0) AS errors
       FROM unnest($1::int[]) AS w(s)
       LEFT JOIN guardian_http_minutes h ON h.minute > $2::timestamptz - w.s * interval '1 second' AND h.minute <= $2
      GROUP BY w.s`,
    [windows, now],
  );
  const bySeconds = new Map(rows.map((r) => [Number(r.s), { requests: Number(r.requests), errors: Number(r.errors) }]));
  return inputs.map((input) => {
    const r = bySeconds.get(input.windowSeconds) ?? { requests: 0, errors: 0 };
    return { value: pct(r.errors, r.requests), volume: r.requests };
  });
};

/**
 * Installation-wide: for each background worker any process reported running in the last 7 days,
 * the seconds since the newest heartbeat of a process running it; the worst of them. Null when no
 * process has run workers in 7 days (nothing to watch).
 */
export async function workerHeartbeatAge(q: Queryable, now: Date): Promise<number | null> {
  const { rows } = await q.query<{ age: number | null }>(
    `SELECT max(extract(epoch FROM ($1::timestamptz - newest)))::float8 AS age FROM (
       SELECT w.worker, max(h.seen_at) AS newest FROM guardian_heartbeats h, unnest(h.workers) AS w(worker)
        WHERE h.seen_at > $1::timestamptz - interval '7 days' GROUP BY w.worker) per_worker`,
    [now],
  );
  const age = rows[0]?.age;
  return age === null || age === undefined ? null : Math.max(0, Number(age));
}

const workerHeartbeat: Compute = async (q, now, inputs) => {
  const age = await workerHeartbeatAge(q, now);
  return inputs.map(() => ({ value: age, volume: null }));
};

const COMPUTE: Record<SignalKey, Compute> = {
  bounce_rate: outcomeRate('bounced'),
  complaint_rate: outcomeRate('complained'),
  unsubscribe_rate: unsubscribeRate,
  failed_sends: messagesWithStatus('failed', true),
  uncertain_sends: messagesWithStatus('uncertain', false),
  provider_circuit_open: providerCircuitOpen,
  ai_budget_spent: aiBudgetSpent,
  engine_lag: engineLag,
  outbox_age: outboxAge,
  event_backlog_age: eventBacklog,
  event_backlog_count: eventBacklogCount,
  webhook_failures: webhookFailures,
  api_error_rate: apiErrorRate,
  worker_heartbeat: workerHeartbeat,
};

/** Readings for `inputs` of one signal, in the same order. */
export async function readSignal(q: Queryable, signal: SignalKey, now: Date, inputs: SignalInput[]): Promise<SignalReading[]> {
  if (inputs.length === 0) return [];
  return COMPUTE[signal](q, now, inputs);
}
