-- A queued batch that keeps failing must not stop the processing of everyone else's events: after
-- a failed claim the processor takes rows one at a time, and a row that fails alone this many
-- times in a row (event processor: MAX_ROW_ATTEMPTS) is parked — kept, with its last error, and
-- skipped until an operator clears parked_at.
ALTER TABLE event_work ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE event_work ADD COLUMN last_error text;
ALTER TABLE event_work ADD COLUMN parked_at timestamptz;
