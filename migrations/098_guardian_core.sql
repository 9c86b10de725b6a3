-- Guardian core (docs/guardian.md): what the evaluator needs besides the rules and alerts of 097.
--  * State that lived only inside one process, persisted so any process's evaluator sees it:
--    process heartbeats (which workers each process runs), provider circuit states, and HTTP
--    responses per minute (for the API 5xx rate).
--  * Indexes that keep the sending signals cheap (one index range per workspace and window).
--  * The default rules for every existing workspace (new workspaces get them at sign-up,
--    src/guardian/defaults.ts — keep the two lists the same).

-- One row per running process, upserted every few seconds by src/guardian/monitor.ts.
CREATE TABLE guardian_heartbeats (
  process_id text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('all', 'api', 'worker')),
  -- The background workers this process runs ('{}' for an API-only process).
  workers text[] NOT NULL DEFAULT '{}',
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL
);
CREATE INDEX guardian_heartbeats_seen_idx ON guardian_heartbeats (seen_at);

-- The circuit state of each workspace provider as one process's breaker sees it; a row changes
-- when the breaker changes (changed_at) and is refreshed with the heartbeat (seen_at).
CREATE TABLE guardian_circuit_states (
  provider_id uuid NOT NULL REFERENCES email_providers(id) ON DELETE CASCADE,
  process_id text NOT NULL,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  state text NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
  changed_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL,
  PRIMARY KEY (provider_id, process_id)
);
CREATE INDEX guardian_circuit_states_workspace_idx ON guardian_circuit_states (workspace_id) WHERE state = 'open';

-- HTTP responses per minute and process, flushed every few seconds (added to, never replaced).
CREATE TABLE guardian_http_minutes (
  minute timestamptz NOT NULL,
  process_id text NOT NULL,
  requests integer NOT NULL DEFAULT 0,
  errors_5xx integer NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, process_id)
);

-- Sends per workspace and time (bounce, complaint, unsubscribe rates divide by these).
CREATE INDEX messages_sent_at_idx ON messages (workspace_id, sent_at) WHERE sent_at IS NOT NULL;
-- Bounces, complaints and unsubscribes per workspace and time.
CREATE INDEX events_email_outcomes_idx ON events (workspace_id, name, occurred_at)
  WHERE type = 'email' AND name IN ('bounced', 'complained', 'unsubscribed');
-- Campaign webhook actions per workspace and time (the failed ones among them).
CREATE INDEX campaign_webhooks_workspace_created_idx ON campaign_webhooks (workspace_id, created_at);

-- Alerts by rule (the evaluator's "open alert of these rules" read) and the timeline by time.
CREATE INDEX guardian_alerts_rule_idx ON guardian_alerts (rule_id, opened_at DESC);

-- The default rules (docs/guardian.md#default-rules) for every workspace that exists now.
INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, min_volume, severity, cooldown_seconds, default_key)
SELECT w.id, d.name, d.signal, d.comparison, d.threshold, d.window_seconds, d.min_volume, d.severity, d.cooldown_seconds, d.default_key
  FROM workspaces w
 CROSS JOIN (VALUES
   ('Bounce rate above 5 %', 'bounce_rate', '>', 5::double precision, 3600, 100, 'high', 3600, 'bounce_rate'),
   ('Complaint rate above 0.1 % (bulk-sender line)', 'complaint_rate', '>', 0.1::double precision, 86400, 1000, 'critical', 3600, 'complaint_rate'),
   ('Campaign steps running late', 'engine_lag', '>', 300::double precision, 300, 0, 'high', 3600, 'engine_lag'),
   ('Outbox waiting too long', 'outbox_age', '>', 600::double precision, 300, 0, 'high', 3600, 'outbox_age'),
   ('A worker stopped reporting', 'worker_heartbeat', '>', 120::double precision, 300, 0, 'critical', 3600, 'worker_heartbeat'),
   ('A provider''s circuit is open', 'provider_circuit_open', '>=', 1::double precision, 300, 0, 'high', 3600, 'provider_circuit_open'),
   ('AI budget nearly spent', 'ai_budget_spent', '>=', 80::double precision, 3600, 0, 'medium', 86400, 'ai_budget_spent')
 ) AS d(name, signal, comparison, threshold, window_seconds, min_volume, severity, cooldown_seconds, default_key)
ON CONFLICT DO NOTHING;

-- Emails sent per workspace, hour and campaign ('' = not a campaign), for the hours that closed at
-- least 5 minutes ago: long windows (a day's complaint rate) add up these hours and count only
-- their ragged edges from messages (src/guardian/rollup.ts). rolled_until: hours before it are in.
CREATE TABLE guardian_send_hours (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  hour timestamptz NOT NULL,
  campaign_id text NOT NULL DEFAULT '',
  sends integer NOT NULL,
  PRIMARY KEY (workspace_id, hour, campaign_id)
);
CREATE TABLE guardian_rollup_watermark (
  name text PRIMARY KEY,
  rolled_until timestamptz
);
INSERT INTO guardian_rollup_watermark (name, rolled_until) VALUES ('send_hours', NULL);
