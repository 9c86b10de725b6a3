-- Lead scoring: running engagement counters per contact, updated by each batch of events (an
-- increment, never a rescan of the contact's history); the score is derived from them plus the
-- contact's job title and status, and explained part by part in contacts.score_breakdown.
CREATE TABLE contact_engagement (
  contact_id uuid PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  opens integer NOT NULL DEFAULT 0,
  clicks integer NOT NULL DEFAULT 0,
  replies integer NOT NULL DEFAULT 0,
  activity integer NOT NULL DEFAULT 0,
  sentiment_sum double precision NOT NULL DEFAULT 0,
  sentiment_count integer NOT NULL DEFAULT 0,
  max_intent double precision NOT NULL DEFAULT 0,
  intent_reason text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_engagement_workspace_idx ON contact_engagement (workspace_id);
