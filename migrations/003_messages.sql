-- The email outbox: one row per email to send. The campaign engine inserts rows in the same
-- transaction that advances an enrollment; the sender claims queued rows and delivers them.
-- idempotency_key is unique per workspace, so a retried step never creates a second message.
CREATE TABLE messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id uuid REFERENCES contacts(id) ON DELETE SET NULL,
  idempotency_key text NOT NULL,
  source_type text NOT NULL,
  source_id text,
  from_address text NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  html text NOT NULL,
  text_body text NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  provider text,
  provider_message_id text,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE UNIQUE INDEX messages_idempotency_key ON messages (workspace_id, idempotency_key);
-- The sender's claim query scans queued rows by due time.
CREATE INDEX messages_due_idx ON messages (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX messages_workspace_created_idx ON messages (workspace_id, created_at DESC);
