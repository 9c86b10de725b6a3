-- Email delivery: the sender's claim token, its attempt log, the dev inbox and the suppression list.
-- Persisted enum strings (send_attempts.result, suppressions.reason) are never renamed.

-- A claim token per lease: only the sender holding the current claim may finish a message, so a
-- sender whose lease expired cannot overwrite the outcome of the sender that re-claimed it.
ALTER TABLE messages ADD COLUMN claim_token uuid;

-- Every attempt to hand a message to a provider, with its outcome and latency.
CREATE TABLE send_attempts (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  provider text NOT NULL,
  result text NOT NULL CHECK (result IN ('sent', 'transient_error', 'permanent_error', 'suppressed')),
  latency_ms integer NOT NULL,
  provider_message_id text,
  error text,
  attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX send_attempts_message_idx ON send_attempts (workspace_id, message_id, id);

-- The built-in dev inbox: captured emails, one per idempotency key, so a retried send never
-- stores the same email twice.
CREATE TABLE dev_inbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  message_id uuid REFERENCES messages(id) ON DELETE SET NULL,
  idempotency_key text NOT NULL,
  from_address text NOT NULL,
  to_address text NOT NULL,
  subject text NOT NULL,
  html text NOT NULL,
  text_body text NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dev_inbox_idempotency_key ON dev_inbox (workspace_id, idempotency_key);
CREATE INDEX dev_inbox_workspace_created_idx ON dev_inbox (workspace_id, created_at DESC, id);

-- Addresses a workspace must not email. Email is normalized (trimmed, lower-cased).
CREATE TABLE suppressions (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email text NOT NULL,
  reason text NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual')),
  source text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, email)
);
