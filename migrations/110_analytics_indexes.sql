-- The dashboard's "recent band crossings" (newest first per workspace) without walking the
-- workspace's other events: crossings are a small share of all events.
CREATE INDEX events_band_crossings_idx ON events (workspace_id, occurred_at DESC)
  WHERE type = 'system' AND name = 'score_threshold_crossed';
