-- The event processor's queue: one row per stored batch of events that have a contact (written by
-- the producer in its own transaction, so nothing stored is ever missed). A worker claims rows
-- with FOR UPDATE SKIP LOCKED and deletes them in the transaction that applies their effects
-- (lead score, segment membership), so a crash before commit leaves the row for another try and
-- a commit applies the effects exactly once. contact_ids: contacts whose score and segments must
-- be recomputed without new events (the processor found them locked by a producer and came back).
CREATE TABLE event_work (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  event_ids uuid[] NOT NULL,
  contact_ids uuid[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- When a contact's membership of a dynamic segment with a time window ("3 opens in 7 days") can
-- next change without a new event: the moment its oldest counted event leaves the window. The
-- event processor re-evaluates due rows and schedules the next edge.
CREATE TABLE segment_window_checks (
  segment_id uuid NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  due_at timestamptz NOT NULL,
  PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_window_checks_due_idx ON segment_window_checks (due_at);
