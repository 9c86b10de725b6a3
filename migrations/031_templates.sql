-- Email templates: Liquid subject and body (HTML or MJML) and an optional hand-written text part.
-- Content is checked (syntax, variables, MJML) before it is stored.
CREATE TABLE templates (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  subject text NOT NULL,
  html text NOT NULL,
  text_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX templates_workspace_name_key ON templates (workspace_id, lower(name));
CREATE INDEX templates_workspace_updated_idx ON templates (workspace_id, updated_at DESC, id);
