-- Segments: dynamic (a stored definition evaluated against contacts) or static (hand-picked).
-- kind is a persisted string: never rename.
CREATE TABLE segments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('dynamic', 'static')),
  definition jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segments_workspace_idx ON segments (workspace_id, kind);

-- Current membership, kept up to date as contacts and events change.
CREATE TABLE segment_members (
  segment_id uuid NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_members_contact_idx ON segment_members (contact_id);
