-- Scheduled broadcasts: a campaign whose trigger is { kind: 'broadcast', segmentId, at? } enrolls
-- every member of the segment once per published version. Publishing writes the row; it runs in
-- the publishing transaction when already due, else the engine worker starts it when run_at has
-- passed. The enrollment INSERT and the move to 'done' commit together, so a crash mid-broadcast
-- leaves the row 'scheduled' with nobody enrolled, and a finished broadcast never runs again.
-- status is a persisted string: never rename.
CREATE TABLE campaign_broadcasts (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  version integer NOT NULL,
  segment_id uuid NOT NULL,
  run_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'done', 'superseded')),
  enrolled integer,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  PRIMARY KEY (campaign_id, version)
);
-- The worker's due check scans only scheduled rows in time order.
CREATE INDEX campaign_broadcasts_due_idx ON campaign_broadcasts (run_at) WHERE status = 'scheduled';

-- Segment goals: entering this segment exits the enrollment as a conversion (settings.goal
-- { kind: 'segment', segmentId }). Adding a column leaves the immutable rows untouched.
ALTER TABLE campaign_versions ADD COLUMN goal_segment_id uuid;
CREATE INDEX campaign_versions_goal_segment_idx ON campaign_versions (workspace_id, goal_segment_id) WHERE goal_segment_id IS NOT NULL;
