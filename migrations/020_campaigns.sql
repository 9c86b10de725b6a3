-- Campaigns (drip workflows). A campaign holds an editable draft; publishing freezes the draft
-- into an immutable campaign_versions row. Enrollments carry the version they run on, so
-- publishing v2 never changes the path of contacts already in v1. Status strings are persisted:
-- never rename them.
CREATE TABLE campaigns (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
  draft_definition jsonb NOT NULL,
  current_version integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_workspace_idx ON campaigns (workspace_id, created_at DESC);

CREATE TABLE campaign_versions (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  -- The goal event of this version (settings.goal.eventName), so the event sink finds goals by
  -- name without reading every definition.
  goal_event text,
  PRIMARY KEY (campaign_id, version)
);
CREATE INDEX campaign_versions_goal_idx ON campaign_versions (workspace_id, goal_event) WHERE goal_event IS NOT NULL;

-- A published definition is history that enrollments point at: refuse any change to it.
CREATE FUNCTION campaign_versions_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'campaign_versions rows are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER campaign_versions_no_update BEFORE UPDATE ON campaign_versions
  FOR EACH ROW EXECUTE FUNCTION campaign_versions_immutable();

-- One row per contact's journey through one campaign. 'active' rows are due at next_run_at
-- (a wait is simply a future next_run_at); 'failed' rows are parked until retried by hand;
-- 'paused' rows keep their node and due time until resumed.
CREATE TABLE enrollments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  version integer NOT NULL,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'completed', 'exited', 'failed')),
  current_node_id text NOT NULL,
  next_run_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  exit_reason text,
  entry_event jsonb,
  -- Set while the enrollment waits for an event: { name, correlation?: { key, value } , timeoutAt }.
  waiting_for jsonb,
  enrolled_at timestamptz NOT NULL,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL
);
-- The worker's claim scans due active rows in time order (see engine.ts, claimDueEnrollments).
CREATE INDEX enrollments_due_idx ON enrollments (next_run_at) WHERE status = 'active';
-- At most one running journey per contact and campaign; re-entry rules decide about finished ones.
CREATE UNIQUE INDEX enrollments_one_active_key ON enrollments (campaign_id, contact_id) WHERE status IN ('active', 'paused', 'failed');
CREATE INDEX enrollments_contact_idx ON enrollments (workspace_id, contact_id, enrolled_at DESC);
CREATE INDEX enrollments_campaign_node_idx ON enrollments (campaign_id, status, current_node_id);
-- Event waits are found by contact when an event arrives.
CREATE INDEX enrollments_event_wait_idx ON enrollments (workspace_id, contact_id) WHERE waiting_for IS NOT NULL;

-- The journey: one row per node an enrollment finished (or failed at), with the branch taken.
-- Per-node metrics are computed from it and from the enrollments' current nodes.
-- Only enrollment_id is a foreign key (its cascade covers campaign and workspace deletion): this
-- is the engine's hottest insert, and each extra key check costs a lookup per row.
CREATE TABLE enrollment_steps (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  enrollment_id uuid NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
  node_id text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('completed', 'skipped', 'failed')),
  handle text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb,
  at timestamptz NOT NULL
);
CREATE INDEX enrollment_steps_enrollment_idx ON enrollment_steps (enrollment_id, id);
CREATE INDEX enrollment_steps_campaign_node_idx ON enrollment_steps (campaign_id, node_id, outcome);

-- Per-email metrics find a campaign's messages by source.
CREATE INDEX messages_source_idx ON messages (workspace_id, source_type, source_id);
