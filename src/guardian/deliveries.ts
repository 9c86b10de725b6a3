/**
 * The delivery log: a workspace's deliveries, newest first, filtered by channel, status, alert and
 * time, paged by a keyset cursor; and one delivery with its attempts.
 */
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import type { DeliveryFilter, DeliveryView } from './deliveries.schemas.js';
import { summaryOf, type NotificationPayload } from './render.js';

interface DeliveryRow {
  id: string;
  channel_id: string;
  channel_kind: string | null;
  channel_name: string | null;
  purpose: DeliveryView['purpose'];
  alert_id: string | null;
  payload: NotificationPayload;
  status: DeliveryView['status'];
  attempts: number;
  next_attempt_at: Date;
  last_response_status: number | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
}

const COLUMNS = 'id, channel_id, channel_kind, channel_name, purpose, alert_id, payload, status, attempts, next_attempt_at, last_response_status, last_error, created_at, sent_at, failed_at';
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const toView = (r: DeliveryRow): DeliveryView => ({
  id: r.id,
  channelId: r.channel_id,
  channelKind: r.channel_kind,
  channelName: r.channel_name,
  purpose: r.purpose,
  alertId: r.alert_id,
  summary: summaryOf(r.payload),
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.status === 'pending' || r.status === 'retrying' ? iso(r.next_attempt_at) : null,
  lastResponseStatus: r.last_response_status,
  lastError: r.last_error,
  createdAt: iso(r.created_at)!,
  sentAt: iso(r.sent_at),
  failedAt: iso(r.failed_at),
});

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    if (typeof parsed.at === 'string' && typeof parsed.id === 'string' && !Number.isNaN(Date.parse(parsed.at)) && /^[0-9a-f-]{36}$/.test(parsed.id)) return { at: parsed.at, id: parsed.id };
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('INVALID_CURSOR', 'The cursor is not one this list returned');
}

export async function listDeliveries(q: Queryable, workspaceId: string, filter: DeliveryFilter): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null }> {
  const limit = filter.limit ?? 50;
  const after = filter.cursor ? decodeCursor(filter.cursor) : null;
  const { rows } = await q.query<DeliveryRow>(
    `SELECT ${COLUMNS} FROM guardian_deliveries
      WHERE workspace_id = $1
        AND ($2::uuid IS NULL OR channel_id = $2) AND ($3::text IS NULL OR status = $3) AND ($4::uuid IS NULL OR alert_id = $4)
        AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
        AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $9`,
    [workspaceId, filter.channelId ?? null, filter.status ?? null, filter.alertId ?? null, filter.from ?? null, filter.to ?? null, after?.at ?? null, after?.id ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify({ at: new Date(last.created_at).toISOString(), id: last.id })).toString('base64url') : null;
  return { deliveries: page.map(toView), nextCursor };
}

export async function getDelivery(q: Queryable, workspaceId: string, id: string) {
  const { rows } = await q.query<DeliveryRow>(`SELECT ${COLUMNS} FROM guardian_deliveries WHERE workspace_id = $1 AND id = $2`, [workspaceId, id]);
  if (!rows[0]) throw notFound('Delivery');
  const attempts = await q.query<{ attempt: number; started_at: Date; duration_ms: number; response_status: number | null; error: string | null; outcome: 'sent' | 'retry' | 'failed' }>(
    'SELECT attempt, started_at, duration_ms, response_status, error, outcome FROM guardian_delivery_attempts WHERE delivery_id = $1 ORDER BY id',
    [id],
  );
  return {
    ...toView(rows[0]),
    attemptLog: attempts.rows.map((a) => ({ attempt: a.attempt, startedAt: iso(a.started_at)!, durationMs: a.duration_ms, responseStatus: a.response_status, error: a.error, outcome: a.outcome })),
  };
}
