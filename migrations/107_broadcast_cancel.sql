-- Scheduled broadcasts can be cancelled by an operator before they run (POST
-- /api/campaigns/:id/broadcasts/:version/cancel): a fourth status, 'cancelled', which the due check
-- (status = 'scheduled') never picks up. status is a persisted string: never rename.
ALTER TABLE campaign_broadcasts DROP CONSTRAINT campaign_broadcasts_status_check;
ALTER TABLE campaign_broadcasts ADD CONSTRAINT campaign_broadcasts_status_check CHECK (status IN ('scheduled', 'done', 'superseded', 'cancelled'));
-- The list of a workspace's broadcasts, newest run time first.
CREATE INDEX campaign_broadcasts_workspace_idx ON campaign_broadcasts (workspace_id, run_at DESC);
