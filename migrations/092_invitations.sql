-- Invitations to join a workspace (docs/access.md#invitations). An owner invites an email with a
-- role; the link in the email carries a random token of which only the SHA-256 is kept here. The
-- invitee becomes a member only by accepting (signed in with that email) or by signing up through
-- the link. A pending invitation is one neither accepted nor revoked (it may have expired: a resend
-- renews it with a new token).
CREATE TABLE invitations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  -- Normalized (trimmed, lower-cased) like users.email.
  email text NOT NULL,
  -- Role values are persisted strings: never rename them.
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  token_hash text NOT NULL,
  invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL,
  -- The latest email; send_count numbers the emails, so each has its own outbox idempotency key.
  sent_at timestamptz NOT NULL,
  send_count integer NOT NULL DEFAULT 1 CHECK (send_count >= 1),
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
  revoked_at timestamptz,
  CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
-- One pending invitation per address and workspace; accepted and revoked ones stay as history.
CREATE UNIQUE INDEX invitations_pending_key ON invitations (workspace_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, created_at DESC);
