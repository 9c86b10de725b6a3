/**
 * The event processor: lead-score recomputation and segment re-evaluation, out of the producer's
 * transaction. A producer's `recordEvents` only queues one `event_work` row per stored batch (the
 * `eventWorkSink`, in the producer's transaction, with a NOTIFY delivered at commit). A processor
 * — any number of them, in worker processes on one database — claims queued rows with
 * `FOR UPDATE SKIP LOCKED`, deletes them and applies their effects in one transaction:
 *
 *   1. scoring: the batch's counter deltas (one upsert), the touched contacts' scores (one locked
 *      read, one update) and a `score_threshold_crossed` event per band change. Contacts are
 *      locked with SKIP LOCKED: one a producer holds right now is queued again as a
 *      recompute-only row instead of waited for, so the processor never deadlocks with producers;
 *   2. segments: every dynamic segment re-evaluated for the touched contacts (one statement for
 *      all of them) and their time-window checks rescheduled;
 *   3. the derived events recorded through the application's whole event sink, so the campaign
 *      engine's triggers, waits and goals see them in that same transaction.
 *
 * A crash before commit leaves the rows queued for the next claim; a commit applies them once.
 * A derived event is emitted once per change because it comes from a compare-and-set on a locked
 * row: a score compared with the stored one under its row lock, a membership row inserted
 * (ON CONFLICT DO NOTHING) or deleted with RETURNING. Time-window edges
 * (`segment_window_checks`) are claimed the same way, by the injected clock.
 */
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createWorkerLoop } from '../platform/worker-loop.js';
import { isDerivedEvent, type LeadScoring } from '../scoring/scoring.js';
import { reevaluateContacts, runDueWindowChecks } from '../segments/segments.js';
import { EVENT_WORK_CHANNEL } from '../core/channels.js';
import { recordEvents, type EventSink, type EventType, type RecordedEvent } from '../core/events.js';

/**
 * Queued work per claim: up to this many rows, stopping once this many events are in hand. A
 * larger claim coalesces more events per contact (one score update each) when the queue is behind.
 */
const MAX_ROWS = 1000;
const MAX_EVENTS = 50_000;
const MAX_WINDOW_CHECKS = 2000;
/**
 * The plan_cache_mode of a claim's transaction. Its statements are short lookups of the batch's
 * contacts by primary key (`id = ANY($n::uuid[])`, a few ids) and of their rows in other tables.
 * Under the default (`auto`) PostgreSQL keeps planning them on every execution: a generic plan
 * estimates an array parameter at 10 elements, so it always looks costlier than a custom plan for
 * one contact, though it is the same index lookup. Measured with log_planner_stats on the tag
 * endpoint, that planning was 80–280 µs per statement (segments, scores, the campaign sink's
 * enrollment check). Generic plans are planned once per connection and statement.
 */
const GENERIC_PLANS = 'force_generic_plan';
/** A row that fails this many times alone is parked (migration 082). */
export const MAX_ROW_ATTEMPTS = 5;

/**
 * The producer side: queues the stored events that have a contact, one row per workspace and
 * batch, in the producer's transaction. Derived events (band crossings, segment entries/exits)
 * are the processor's own output and are not queued again.
 */
export const eventWorkSink: EventSink = {
  async onEvents(q: Queryable, events: RecordedEvent[]): Promise<void> {
    const byWorkspace = new Map<string, string[]>();
    for (const event of events) {
      if (!event.contactId || isDerivedEvent(event)) continue;
      const ids = byWorkspace.get(event.workspaceId);
      if (ids) ids.push(event.id);
      else byWorkspace.set(event.workspaceId, [event.id]);
    }
    for (const [workspaceId, ids] of byWorkspace) {
      // name: queue-event-work — one row and one NOTIFY (delivered at commit) per batch.
      await q.query(
        `WITH w AS (INSERT INTO event_work (workspace_id, event_ids) VALUES ($1, $2::uuid[]) RETURNING id)
         SELECT pg_notify('${EVENT_WORK_CHANNEL}', '') FROM w`,
        [workspaceId, ids],
      );
    }
  },
};

export interface EventProcessorDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'workerPollMs' | 'eventGatherMs'>;
  scoring: LeadScoring;
  /** The application's whole event sink, read lazily (it is built around this processor's queue). */
  eventSink: () => EventSink;
}

export interface EventProcessor extends BackgroundWorker {
  /** Claims and applies one batch of queued events, then the due window checks; returns how many items it handled. */
  runBatch(): Promise<number>;
  /** Runs batches until nothing is queued or due (tests, and a worker that wants to catch up). */
  drain(): Promise<void>;
}

interface StoredEventRow {
  workspace_id: string;
  contact_id: string;
  type: EventType;
  name: string;
  properties: Record<string, unknown>;
  occurred_at: Date;
}

export function createEventProcessor(deps: EventProcessorDeps): EventProcessor {
  /** The row a one-row claim holds, so its failure can be counted after the rollback. */
  let isolatedRow: string | null = null;

  /** One transaction: claim queued rows, load their events, score, re-evaluate segments, record what changed. */
  async function processQueued(maxRows: number): Promise<number> {
    return deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      // name: claim-event-work — the oldest rows nobody else holds, cut at MAX_EVENTS events
      // (at least one row); deleted here, so they are gone exactly when this transaction commits.
      // `generic` sets plan_cache_mode for the rest of this transaction (SET LOCAL, without a
      // round trip of its own): see GENERIC_PLANS.
      const claimed = await tx.query<{ id: string; workspace_id: string; event_ids: string[]; contact_ids: string[] }>(
        `WITH candidate AS (
            SELECT id, cardinality(event_ids) + cardinality(contact_ids) AS n FROM event_work WHERE parked_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
          picked AS (
            SELECT id FROM (SELECT id, sum(n) OVER (ORDER BY id) - n AS before FROM candidate) c WHERE before < $2),
          generic AS (SELECT set_config('plan_cache_mode', $3, true) AS mode)
         DELETE FROM event_work w USING picked, generic WHERE w.id = picked.id
         RETURNING w.id, w.workspace_id, w.event_ids, w.contact_ids`,
        [maxRows, MAX_EVENTS, GENERIC_PLANS],
      );
      if (claimed.rows.length === 0) return 0;
      isolatedRow = maxRows === 1 ? claimed.rows[0]!.id : null;
      const ids = claimed.rows.flatMap((r) => r.event_ids);
      // Current attribution: an event merged onto another contact since it was queued counts there.
      const stored = ids.length === 0 ? { rows: [] as StoredEventRow[] } : await tx.query<StoredEventRow>(
        // Scoring reads properties of replies only (their text); the rest need not be shipped or parsed.
        `SELECT workspace_id, contact_id, type, name, occurred_at, CASE WHEN type = 'email' AND name = 'replied' THEN properties ELSE '{}'::jsonb END AS properties
           FROM events WHERE id = ANY($1::uuid[]) AND contact_id IS NOT NULL`,
        [ids],
      );
      const byWorkspace = new Map<string, { events: StoredEventRow[]; recompute: string[] }>();
      const entry = (workspaceId: string) => {
        let found = byWorkspace.get(workspaceId);
        if (!found) byWorkspace.set(workspaceId, (found = { events: [], recompute: [] }));
        return found;
      };
      for (const row of stored.rows) entry(row.workspace_id).events.push(row);
      for (const row of claimed.rows) if (row.contact_ids.length > 0) entry(row.workspace_id).recompute.push(...row.contact_ids);
      let progress = stored.rows.length;
      for (const [workspaceId, work] of [...byWorkspace.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const scored = await deps.scoring.applyEvents(
          tx,
          workspaceId,
          work.events.map((r) => ({ contactId: r.contact_id, type: r.type, name: r.name, properties: r.properties, occurredAt: r.occurred_at })),
          now,
        );
        const done = new Set(scored.recomputed);
        const again = await deps.scoring.recompute(tx, workspaceId, work.recompute.filter((id) => !done.has(id)));
        progress += again.recomputed.length;
        const deferred = [...new Set([...scored.deferred, ...again.deferred])];
        const crossings = [...scored.crossings, ...again.crossings];
        // Recorded before segments are evaluated, so a segment counting band crossings sees them.
        if (crossings.length > 0) await recordEvents(tx, deps.eventSink(), workspaceId, crossings, now);
        // Segments wait for the score: a deferred contact is re-evaluated when it is recomputed,
        // and a contact that is gone (its event outlived it) is not evaluated at all.
        const touched = [...scored.recomputed, ...again.recomputed];
        const changes = await reevaluateContacts(tx, workspaceId, touched, now);
        if (changes.length > 0) await recordEvents(tx, deps.eventSink(), workspaceId, changes, now);
        if (deferred.length > 0) {
          // name: defer-recompute — the contacts a producer held come back as their own work row.
          await tx.query(`INSERT INTO event_work (workspace_id, event_ids, contact_ids) VALUES ($1, '{}', $2::uuid[])`, [workspaceId, deferred]);
        }
      }
      // Only deferred contacts, still held: report no progress, so the worker naps instead of spinning.
      return progress > 0 ? claimed.rows.length : 0;
    });
  }

  async function processWindowChecks(): Promise<number> {
    return deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      const { checked, changes } = await runDueWindowChecks(tx, now, MAX_WINDOW_CHECKS);
      for (const [workspaceId, list] of changes) if (list.length > 0) await recordEvents(tx, deps.eventSink(), workspaceId, list, now);
      return checked;
    });
  }

  /**
   * After a failed claim the next ones take a single row, so one batch that cannot be applied (a
   * bug, bad data) holds up only itself: a row failing alone MAX_ROW_ATTEMPTS times in a row is
   * parked with its error, and the rows behind it go on. A success returns to full claims.
   */
  let isolating = false;
  async function processQueuedGuarded(): Promise<number> {
    isolatedRow = null;
    try {
      const n = await processQueued(isolating ? 1 : MAX_ROWS);
      if (n > 0) isolating = false;
      return n;
    } catch (error) {
      const row = isolatedRow;
      isolating = true;
      if (row) {
        // name: count-event-work-failure — in its own transaction: the claim was rolled back.
        const counted = await deps.db.query<{ attempts: number; parked: boolean }>(
          `UPDATE event_work SET attempts = attempts + 1, last_error = left($2, 2000),
                  parked_at = CASE WHEN attempts + 1 >= $3 THEN $4::timestamptz END
            WHERE id = $1 RETURNING attempts, parked_at IS NOT NULL AS parked`,
          [row, error instanceof Error ? error.message : String(error), MAX_ROW_ATTEMPTS, deps.clock.now()],
        );
        if (counted.rows[0]?.parked) {
          deps.logger.error({ err: error, eventWorkId: row, attempts: counted.rows[0].attempts }, 'event processor parked a queued batch that keeps failing; clear event_work.parked_at to retry it');
        }
      }
      throw error;
    }
  }

  /**
   * name: pending-work — one autocommit look at both queues before opening a transaction for
   * either: after each batch the loop runs again until nothing is left, and most of those runs
   * (and every window-check run between edges) find nothing. A row committed after this look
   * NOTIFYs the loop, which runs again.
   */
  async function runBatch(): Promise<number> {
    const pending = await deps.db.query<{ queued: boolean; due: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM event_work WHERE parked_at IS NULL) AS queued, EXISTS (SELECT 1 FROM segment_window_checks WHERE due_at <= $1) AS due`,
      [deps.clock.now()],
    );
    const { queued, due } = pending.rows[0]!;
    return (queued ? await processQueuedGuarded() : 0) + (due ? await processWindowChecks() : 0);
  }

  // Woken at once by the producers' commits; the poll interval is the fallback.
  const loop = createWorkerLoop({
    name: 'event processor',
    db: deps.db,
    logger: deps.logger,
    channel: EVENT_WORK_CHANNEL,
    pollMs: deps.config.workerPollMs,
    // Under load, the events of many requests in one claim: the claim's statements (scores,
    // segments, the sink) cost about the same for one event as for fifty.
    gatherMs: deps.config.eventGatherMs,
    runBatch,
  });

  return {
    name: 'event-processor',
    runBatch,
    async drain() {
      while ((await runBatch()) > 0);
    },
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
