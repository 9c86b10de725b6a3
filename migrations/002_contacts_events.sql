-- Contacts: email is normalized (trimmed, lower-cased) by the application and unique per workspace.
-- Status and subscription values are persisted strings: never rename them.
CREATE TABLE contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email text NOT NULL,
  first_name text,
  last_name text,
  company text,
  job_title text,
  phone text,
  status text NOT NULL DEFAULT 'prospect' CHECK (status IN ('prospect', 'lead', 'customer')),
  tags text[] NOT NULL DEFAULT '{}',
  custom_fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  timezone text,
  subscription_state text NOT NULL DEFAULT 'subscribed' CHECK (subscription_state IN ('subscribed', 'unsubscribed')),
  score integer NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_workspace_email_key ON contacts (workspace_id, email);
-- Cursor pagination walks (workspace_id, created_at, id).
CREATE INDEX contacts_workspace_created_idx ON contacts (workspace_id, created_at, id);

-- Events about contacts (tracked, email engagement, system). message_id deduplicates ingestion.
CREATE TABLE events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id uuid REFERENCES contacts(id) ON DELETE CASCADE,
  type text NOT NULL,
  name text NOT NULL,
  properties jsonb NOT NULL DEFAULT '{}'::jsonb,
  message_id text,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_workspace_message_key ON events (workspace_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX events_contact_idx ON events (workspace_id, contact_id, occurred_at DESC);
