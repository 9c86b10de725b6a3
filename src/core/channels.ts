/**
 * PostgreSQL NOTIFY channel names that cross domains (the lower layer: imports nothing). A
 * producer in one domain wakes a worker of another without importing it.
 */

/** The event processor's queue (event_work rows): NOTIFY at the commit of a queued batch. */
export const EVENT_WORK_CHANNEL = 'event_work';
