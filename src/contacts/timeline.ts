/**
 * The contact's timeline: its events, emails and campaign steps merged newest first under one
 * cursor, and the SQL that reads a webhook step's delivery (shared with campaign journeys).
 */
import type { Queryable } from '../db/database.js';
import { cursorParts, decodeCursor } from '../http/cursor.js';
import type { StepDelivery } from './contacts.schemas.js';
import { getContact } from './contacts.js';

export type TimelineItem =
  | { kind: 'event'; id: string; at: string; type: string; name: string; properties: Record<string, unknown> }
  | { kind: 'message'; id: string; at: string; subject: string; status: string; toAddress: string; sentAt: string | null }
  | { kind: 'step'; id: string; at: string; campaignId: string; campaignName: string; enrollmentId: string; nodeId: string; outcome: string; detail: Record<string, unknown>; delivery: StepDelivery | null };

/**
 * SQL for the delivery of a webhook step `s` (an enrollment_steps row) as jsonb, NULL on other
 * steps: its campaign_webhooks row, found by the idempotency key the engine gave it, through
 * campaign_webhooks_idempotency_key. Read by the timeline and by campaign journeys.
 */
export function stepDeliverySql(s: string): string {
  return `CASE WHEN ${s}.detail ? 'webhook' THEN (
            SELECT jsonb_build_object('status', w.status, 'attempts', w.attempts, 'lastStatus', w.last_status, 'lastError', w.last_error,
                                      'sentAt', w.sent_at, 'nextAttemptAt', CASE WHEN w.status = 'queued' THEN w.next_attempt_at END)
              FROM campaign_webhooks w
             WHERE w.workspace_id = ${s}.workspace_id AND w.idempotency_key = 'enrollment:' || ${s}.enrollment_id || ':node:' || ${s}.node_id) END`;
}

/** jsonb spells a timestamptz with its offset; the API answers ISO-8601 in UTC. */
export function toStepDelivery(raw: StepDelivery | null | undefined): StepDelivery | null {
  if (!raw) return null;
  const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());
  return { ...raw, sentAt: iso(raw.sentAt), nextAttemptAt: iso(raw.nextAttemptAt) };
}

/** The timeline's sources, in their order among items of the same instant. */
const TIMELINE_KINDS = ['event', 'message', 'step'] as const;
type TimelineKind = (typeof TIMELINE_KINDS)[number];

interface TimelineRow {
  kind: TimelineKind;
  id: string;
  at_key: string;
  at: Date;
  /** The item's own fields, built by its source's branch of the query. */
  item: Record<string, unknown>;
}

interface TimelinePosition {
  at: string;
  rank: number;
  id: string;
}

function encodeTimelineCursor(position: TimelinePosition): string {
  return Buffer.from(JSON.stringify([position.at, position.rank, position.id])).toString('base64url');
}

/** [at, rank, id]; a cursor from before campaign steps joined the timeline ([at, uuid]) still reads. */
function decodeTimelineCursor(cursor: string): TimelinePosition {
  const parts = cursorParts(cursor);
  const [at, rank, id] = parts ?? [];
  if (parts?.length === 3 && Number.isInteger(rank) && (rank as number) >= 0 && (rank as number) < TIMELINE_KINDS.length && typeof id === 'string' && /^[0-9a-f-]{1,36}$/.test(id)) {
    return { at: at as string, rank: rank as number, id };
  }
  const legacy = decodeCursor(cursor);
  return { at: legacy.at, rank: 0, id: legacy.id };
}

/**
 * name: contact-timeline — the contact's events, emails and campaign steps merged newest first.
 * Events and emails use their (workspace_id, contact_id, time DESC) indexes; steps come through
 * the contact's enrollments (enrollments_contact_idx, then enrollment_steps_enrollment_idx). The
 * cursor is (time, source, id as text), one total order over the three sources.
 */
export async function contactTimeline(q: Queryable, workspaceId: string, contactId: string, limit: number, cursor?: string): Promise<{ items: TimelineItem[]; nextCursor: string | null }> {
  await getContact(q, workspaceId, contactId);
  const position = cursor ? decodeTimelineCursor(cursor) : null;
  // Before the cursor: an earlier time, or the same time and (source, id) before it.
  const before = (at: string, rank: string, id: string) =>
    `($3::timestamptz IS NULL OR (${at} <= $3::timestamptz AND (${at} < $3::timestamptz OR ${rank} < $4::int OR (${rank} = $4::int AND ${id} COLLATE "C" < $6::text COLLATE "C"))))`;
  const result = await q.query<TimelineRow>(
    `SELECT m.*, to_char(m.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at_key FROM (
        (SELECT 'event' AS kind, 0 AS rank, id::text AS id, occurred_at AS at, jsonb_build_object('type', type, 'name', name, 'properties', properties) AS item
           FROM events
          WHERE workspace_id = $1 AND contact_id = $2 AND ${before('occurred_at', '0', 'id::text')}
          ORDER BY occurred_at DESC, id::text COLLATE "C" DESC LIMIT $5)
        UNION ALL
        (SELECT 'message', 1, id::text, created_at, jsonb_build_object('subject', subject, 'status', status, 'toAddress', to_address, 'sentAt', sent_at)
           FROM messages
          WHERE workspace_id = $1 AND contact_id = $2 AND ${before('created_at', '1', 'id::text')}
          ORDER BY created_at DESC, id::text COLLATE "C" DESC LIMIT $5)
        UNION ALL
        (SELECT 'step', 2, s.id::text, s.at,
                jsonb_build_object('campaignId', s.campaign_id, 'campaignName', c.name, 'enrollmentId', s.enrollment_id, 'nodeId', s.node_id, 'outcome', s.outcome, 'detail', s.detail,
                                   'delivery', ${stepDeliverySql('s')})
           FROM enrollments n
           JOIN enrollment_steps s ON s.enrollment_id = n.id
           JOIN campaigns c ON c.id = s.campaign_id
          WHERE n.workspace_id = $1 AND n.contact_id = $2 AND ${before('s.at', '2', 's.id::text')}
          ORDER BY s.at DESC, s.id::text COLLATE "C" DESC LIMIT $5)
      ) m
      ORDER BY m.at DESC, m.rank DESC, m.id COLLATE "C" DESC
      LIMIT $5`,
    [workspaceId, contactId, position?.at ?? null, position?.rank ?? null, limit + 1, position?.id ?? null],
  );
  const rows = result.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  const items = rows.map((r) => {
    const item = { kind: r.kind, id: r.id, at: new Date(r.at).toISOString(), ...r.item } as TimelineItem;
    // JSON spells a timestamptz with its offset; the API answers ISO-8601 in UTC.
    if (item.kind === 'message' && item.sentAt) item.sentAt = new Date(item.sentAt).toISOString();
    if (item.kind === 'step') item.delivery = toStepDelivery(item.delivery);
    return item;
  });
  return { items, nextCursor: result.rows.length > limit && last ? encodeTimelineCursor({ at: last.at_key, rank: TIMELINE_KINDS.indexOf(last.kind), id: last.id }) : null };
}
