-- Subscription topics: what kinds of marketing email a workspace sends ("Product news",
-- "Webinars"), each contact able to opt out of one without leaving the others. An email node
-- names its topic; a node without one uses the workspace's default topic (at most one), and a
-- message with no topic at all is covered only by the address-wide unsubscribe.
CREATE TABLE subscription_topics (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX subscription_topics_name_idx ON subscription_topics (workspace_id, lower(name));
CREATE UNIQUE INDEX subscription_topics_default_idx ON subscription_topics (workspace_id) WHERE is_default;

-- A contact's opt-out of one topic. No row: subscribed. source says who opted out
-- ('one_click', 'preference_page', 'user:<id>', 'api_key:<id>').
CREATE TABLE contact_topic_optouts (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  topic_id uuid NOT NULL REFERENCES subscription_topics(id) ON DELETE CASCADE,
  source text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (contact_id, topic_id)
);
CREATE INDEX contact_topic_optouts_topic_idx ON contact_topic_optouts (workspace_id, topic_id);

-- The topic a message belongs to, fixed when it is queued; the sender refuses a contact that
-- opted out of it, and its one-click unsubscribe leaves only that topic.
ALTER TABLE messages ADD COLUMN topic_id uuid REFERENCES subscription_topics(id) ON DELETE SET NULL;
