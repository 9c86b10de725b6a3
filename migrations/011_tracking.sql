-- Segment-compatible tracking. A write key authenticates /v1/* ingestion only (it can send
-- events and identify contacts, nothing else), so it can live in browsers and apps; stored hashed.
CREATE TABLE write_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  prefix text NOT NULL,
  key_hash text NOT NULL,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE UNIQUE INDEX write_keys_hash_key ON write_keys (key_hash);
CREATE INDEX write_keys_workspace_idx ON write_keys (workspace_id);

-- Which contact a Segment userId or anonymousId belongs to (identify and alias create links).
-- kind is a persisted string: never rename.
CREATE TABLE contact_identities (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('user_id', 'anonymous_id')),
  value text NOT NULL,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX contact_identities_contact_idx ON contact_identities (contact_id);

-- Events sent before their sender was identified keep the ids, so identify/alias can merge them.
ALTER TABLE events ADD COLUMN anonymous_id text;
ALTER TABLE events ADD COLUMN user_id text;
ALTER TABLE events ADD COLUMN context jsonb;
CREATE INDEX events_unattributed_idx ON events (workspace_id, anonymous_id) WHERE contact_id IS NULL AND anonymous_id IS NOT NULL;
CREATE INDEX events_unattributed_user_idx ON events (workspace_id, user_id) WHERE contact_id IS NULL AND user_id IS NOT NULL;
