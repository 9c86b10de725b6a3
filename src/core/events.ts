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

/** The events of one batch as `insertEventsSql` reads them: fresh ids and one JSON parameter. */
export interface EventBatch {
  ids: string[];
  payload: string;
}

export function eventBatch(events: NewEvent[]): EventBatch {
  const ids = events.map(() => uuidv7());
  const payload = JSON.stringify(
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
  );
  return { ids, payload };
}

/**
 * name: insert-events — the INSERT of an `EventBatch` (workspace, payload and received time in
 * the given parameters), alone or as a CTE of a caller's statement (`onlyIf`: a condition the
 * rows are inserted under). A repeated messageId is skipped (the unique index arbitrates
 * concurrent batches) and only the inserted ids come back.
 */
export function insertEventsSql(workspaceParam: string, payloadParam: string, nowParam: string, onlyIf?: string): string {
  return `INSERT INTO events (id, workspace_id, contact_id, type, name, properties, message_id, occurred_at, received_at, anonymous_id, user_id, context)
     SELECT e.id, ${workspaceParam}, e.contact_id, e.type, e.name, e.properties, e.message_id, COALESCE(e.occurred_at, ${nowParam}), ${nowParam}, e.anonymous_id, e.user_id, e.context
       FROM jsonb_to_recordset(${payloadParam}::jsonb) AS e(id uuid, contact_id uuid, type text, name text, properties jsonb, message_id text, occurred_at timestamptz, anonymous_id text, user_id text, context jsonb)${onlyIf ? `\n      WHERE ${onlyIf}` : ''}
     ON CONFLICT (workspace_id, message_id) WHERE message_id IS NOT NULL DO NOTHING
     RETURNING id`;
}

/**
 * Hands the events of a batch that were actually inserted (their ids in `inserted`) to the sink,
 * in the transaction that inserted them; returns them.
 */
export async function deliverEvents(q: Queryable, sink: EventSink, workspaceId: string, events: NewEvent[], batch: EventBatch, inserted: Iterable<string>, now: Date): Promise<RecordedEvent[]> {
  const stored = new Set(inserted);
  const recorded: RecordedEvent[] = [];
  events.forEach((e, i) => {
    const id = batch.ids[i]!;
    if (!stored.has(id)) return;
    recorded.push({ id, workspaceId, contactId: e.contactId, type: e.type, name: e.name, properties: e.properties ?? {}, occurredAt: e.occurredAt ?? now });
  });
  if (recorded.length > 0) await sink.onEvents(q, recorded);
  return recorded;
}

/**
 * Stores events in one statement and hands the ones actually inserted (not deduplicated away)
 * to the sink. `now` is the received time.
 */
export async function recordEvents(q: Queryable, sink: EventSink, workspaceId: string, events: NewEvent[], now: Date): Promise<RecordedEvent[]> {
  if (events.length === 0) return [];
  const batch = eventBatch(events);
  const result = await q.query<{ id: string }>(insertEventsSql('$1', '$2', '$3'), [workspaceId, batch.payload, now]);
  return deliverEvents(q, sink, workspaceId, events, batch, result.rows.map((r) => r.id), now);
}
