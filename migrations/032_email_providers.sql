-- Email providers configured per workspace, tried in priority order (lowest first). Credentials
-- are encrypted at rest (AES-256-GCM, key derived from the app secret); kind is a persisted string.
CREATE TABLE email_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('smtp', 'resend', 'postmark', 'sendgrid', 'ses')),
  priority integer NOT NULL DEFAULT 100,
  enabled boolean NOT NULL DEFAULT true,
  credentials_encrypted text NOT NULL,
  rate_per_second integer CHECK (rate_per_second IS NULL OR rate_per_second > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_providers_workspace_idx ON email_providers (workspace_id, priority, created_at);
