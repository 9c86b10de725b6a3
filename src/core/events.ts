/**
 * Recording events about contacts. Every producer (Segment-compatible ingestion, contact changes,
 * email tracking and provider webhooks, campaign actions) writes through `recordEvents` in its
 * own transaction, and the registered `EventSink` sees the same events in that transaction: the
 * campaign engine's triggers and waits (so a trigger or a waiting step can never miss an event
 * that was stored) and the event processor's queue (lead score and segment membership, applied
 * shortly after the commit by `src/events/processor.ts`).
 */
import type { Queryable } from '../db/database.js';
import { uuidv7 } from '../platform/uuid.js';

/** Event kinds are persisted strings: never rename them. */
export type EventType = 'track' | 'identify' | 'page' | 'screen' | 'group' | 'alias' | 'system' | 'email';

/**
 * Well-known names. `system`: contact_created, tag_added, tag_removed, score_threshold_crossed,
 * segment_entered, segment_exited, field_updated. `email`: sent, delivered, opened, clicked,
 * replied, bounced, complained, unsubscribed.
 */
export interface NewEvent {
  contactId: string | null;
  type: EventType;
  name: string;
  properties?: Record<string, unknown>;
  /** Deduplicates ingestion (Segment messageId); a repeated id is dropped. */
  messageId?: string | null;
  occurredAt?: Date;
  /** Segment identities of the sender, kept so identify/alias can attribute the event later. */
  anonymousId?: string | null;
  userId?: string | null;
  /** Segment `context` (ip, userAgent, library, page …). */
  context?: Record<string, unknown> | null;
}

export interface RecordedEvent {
  id: string;
  workspaceId: string;
  contactId: string | null;
  type: EventType;
  name: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
  /**
   * True when the event was stored earlier without a contact and has just been attributed to one
   * (Segment identify/alias); the campaign engine applies its rule for late events (docs/events.md).
   */
  attributedLate?: boolean;
}

/** Receives every stored event inside the transaction that stored it. */
export interface EventSink {
  onEvents(q: Queryable, events: RecordedEvent[]): Promise<void>;
}

export const NO_EVENT_SINK: EventSink = { onEvents: async () => undefined };

/** Runs every sink in order on the same transaction. */
export function combineEventSinks(...sinks: EventSink[]): EventSink {
  return {
    async onEvents(q, events) {
      for (const sink of sinks) await sink.onEvents(q, events);
    },
  };
}

/**
 * Stores events in one statement and hands the ones actually inserted (not deduplicated away)
 * to the sink. `now` is the received time.
 */
export async function recordEvents(
  q: Queryable,
  sink: EventSink,
  workspaceId: string,
  events: NewEvent[],
  now: Date,
): Promise<RecordedEvent[]> {
  if (events.length === 0) return [];
  const ids = events.map(() => uuidv7());
  // name: insert-events — one statement for the batch; a repeated messageId is skipped (the
  // unique index arbitrates concurrent batches) and only the inserted ids come back.
  const result = await q.query<{ id: string }>(
    `INSERT INTO events (id, workspace_id, contact_id, type, name, properties, message_id, occurred_at, received_at, anonymous_id, user_id, context)
     SELECT e.id, $1, e.contact_id, e.type, e.name, e.properties, e.message_id, COALESCE(e.occurred_at, $3), $3, e.anonymous_id, e.user_id, e.context
       FROM jsonb_to_recordset($2::jsonb) AS e(id uuid, contact_id uuid, type text, name text, properties jsonb, message_id text, occurred_at timestamptz, anonymous_id text, user_id text, context jsonb)
     ON CONFLICT (workspace_id, message_id) WHERE message_id IS NOT NULL DO NOTHING
     RETURNING id`,
    [
      workspaceId,
      JSON.stringify(
        events.map((e, i) => ({
          id: ids[i],
          contact_id: e.contactId,
          type: e.type,
          name: e.name,
          properties: e.properties ?? {},
          message_id: e.messageId ?? null,
          occurred_at: e.occurredAt?.toISOString() ?? null,
          anonymous_id: e.anonymousId ?? null,
          user_id: e.userId ?? null,
          context: e.context ?? null,
        })),
      ),
      now,
    ],
  );
  const inserted = new Set(result.rows.map((r) => r.id));
  const recorded: RecordedEvent[] = [];
  events.forEach((e, i) => {
    const id = ids[i]!;
    if (!inserted.has(id)) return;
    recorded.push({ id, workspaceId, contactId: e.contactId, type: e.type, name: e.name, properties: e.properties ?? {}, occurredAt: e.occurredAt ?? now });
  });
  if (recorded.length > 0) await sink.onEvents(q, recorded);
  return recorded;
}
