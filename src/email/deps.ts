/**
 * The deps object of the email domain's writes (templates, topics, suppressions, message actions):
 * the database, the clock the time comes from and the sink that records contact events.
 */
import type { EventSink } from '../core/events.js';
import type { Database } from '../db/database.js';
import type { Clock } from '../platform/clock.js';

export interface EmailDeps {
  db: Database;
  clock: Clock;
  eventSink: EventSink;
}
