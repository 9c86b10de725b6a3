-- CSV imports of contacts: one row per import, its progress updated after every chunk, and the
-- first row-level errors kept for the report. status is a persisted string: never rename.
CREATE TABLE contact_imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  source text NOT NULL,
  filename text,
  mapping jsonb NOT NULL DEFAULT '{}'::jsonb,
  bytes_read bigint NOT NULL DEFAULT 0,
  rows_processed integer NOT NULL DEFAULT 0,
  rows_created integer NOT NULL DEFAULT 0,
  rows_updated integer NOT NULL DEFAULT 0,
  rows_failed integer NOT NULL DEFAULT 0,
  errors jsonb NOT NULL DEFAULT '[]'::jsonb,
  failure text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX contact_imports_workspace_idx ON contact_imports (workspace_id, created_at DESC);
