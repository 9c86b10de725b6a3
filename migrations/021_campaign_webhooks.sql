-- Outgoing webhooks of campaign action steps: an outbox like messages. The engine inserts a row in
-- the transaction that advances the enrollment (idempotency_key unique per workspace); the webhook
-- worker claims due rows and delivers them, signed, outside any transaction.
CREATE TABLE campaign_webhooks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  enrollment_id uuid REFERENCES enrollments(id) ON DELETE SET NULL,
  idempotency_key text NOT NULL,
  url text NOT NULL,
  secret text NOT NULL,
  body jsonb NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL,
  sent_at timestamptz
);
CREATE UNIQUE INDEX campaign_webhooks_idempotency_key ON campaign_webhooks (workspace_id, idempotency_key);
-- The delivery worker's claim scans queued rows by due time.
CREATE INDEX campaign_webhooks_due_idx ON campaign_webhooks (next_attempt_at) WHERE status = 'queued';
