-- Guardian (docs/guardian.md): alert rules over sending health and the system, the alerts
-- (incidents) they open, each alert's timeline, and the channels notifications go to.
-- Deliveries, in-app notifications and digests build on these in later migrations.

-- A rule: signal, comparison, threshold, window, minimum volume, severity, channels, cooldown.
-- The evaluator claims due rules (next_eval_at <= now) with FOR UPDATE SKIP LOCKED, so any number
-- of processes evaluate each rule once per interval.
CREATE TABLE guardian_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  -- A signal key from the catalog in src/guardian/signals.ts.
  signal text NOT NULL,
  -- Narrows the signal, e.g. {"provider": "<id>"} or {"campaignId": "<id>"}; {} = the workspace.
  scope jsonb NOT NULL DEFAULT '{}'::jsonb,
  comparison text NOT NULL CHECK (comparison IN ('>', '>=', '<', '<=')),
  threshold double precision NOT NULL,
  window_seconds integer NOT NULL CHECK (window_seconds > 0),
  -- Below this volume in the window (sends, requests…; the signal says which) the rule is quiet.
  min_volume integer NOT NULL DEFAULT 0 CHECK (min_volume >= 0),
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  channel_ids uuid[] NOT NULL DEFAULT '{}',
  -- After a notification for this rule, repeated firings within the cooldown fold into the open
  -- alert's timeline without notifying again.
  cooldown_seconds integer NOT NULL DEFAULT 3600 CHECK (cooldown_seconds >= 0),
  enabled boolean NOT NULL DEFAULT true,
  -- Set on the rules created with every workspace (e.g. 'bounce_rate'); NULL for a user's own.
  default_key text,
  next_eval_at timestamptz NOT NULL DEFAULT now(),
  last_evaluated_at timestamptz,
  last_value double precision,
  last_volume double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guardian_rules_workspace_idx ON guardian_rules (workspace_id, created_at);
CREATE INDEX guardian_rules_due_idx ON guardian_rules (next_eval_at) WHERE enabled;
CREATE UNIQUE INDEX guardian_rules_default_key ON guardian_rules (workspace_id, default_key) WHERE default_key IS NOT NULL;

-- An alert is an incident: at most one open (firing or acknowledged) per rule; repeated firings
-- of the rule fold into it. It resolves by itself when the condition clears, or by hand.
CREATE TABLE guardian_alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  rule_id uuid REFERENCES guardian_rules(id) ON DELETE SET NULL,
  -- Copied from the rule when the alert opened, so the alert reads the same after the rule changes.
  rule_name text NOT NULL,
  signal text NOT NULL,
  scope jsonb NOT NULL DEFAULT '{}'::jsonb,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status text NOT NULL CHECK (status IN ('firing', 'acknowledged', 'resolved')),
  comparison text NOT NULL,
  threshold double precision NOT NULL,
  -- The latest value and volume seen while open, and the worst value.
  value double precision NOT NULL,
  volume double precision,
  peak_value double precision NOT NULL,
  fire_count integer NOT NULL DEFAULT 1,
  opened_at timestamptz NOT NULL,
  last_fired_at timestamptz NOT NULL,
  last_notified_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid REFERENCES users(id) ON DELETE SET NULL,
  resolved_at timestamptz,
  -- NULL with resolved_at set: resolved by itself when the condition cleared.
  resolved_by uuid REFERENCES users(id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX guardian_alerts_open_rule ON guardian_alerts (rule_id) WHERE status <> 'resolved';
CREATE INDEX guardian_alerts_workspace_idx ON guardian_alerts (workspace_id, opened_at DESC);
CREATE INDEX guardian_alerts_open_idx ON guardian_alerts (workspace_id, status) WHERE status <> 'resolved';

-- An alert's timeline, and the notification outbox: a row with fan_out = true and
-- fanned_out_at NULL still has to become one delivery per channel of its rule (the notifier
-- claims such rows with FOR UPDATE SKIP LOCKED and sets fanned_out_at in the same transaction
-- that inserts the deliveries).
CREATE TABLE guardian_alert_events (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  alert_id uuid NOT NULL REFERENCES guardian_alerts(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('fired', 'refired', 'acknowledged', 'resolved', 'auto_resolved')),
  value double precision,
  volume double precision,
  actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
  at timestamptz NOT NULL,
  fan_out boolean NOT NULL DEFAULT false,
  fanned_out_at timestamptz
);
CREATE INDEX guardian_alert_events_alert_idx ON guardian_alert_events (alert_id, id);
CREATE INDEX guardian_alert_events_outbox_idx ON guardian_alert_events (id) WHERE fan_out AND fanned_out_at IS NULL;

-- Where notifications go. Secrets (a Slack webhook URL, a webhook's URL and signing secret) are
-- encrypted at rest like the email providers' credentials and never returned by the API;
-- `config` holds only what may be shown (email recipients, the webhook's host).
CREATE TABLE guardian_channels (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('email', 'slack', 'webhook', 'in_app')),
  name text NOT NULL,
  config jsonb NOT NULL DEFAULT '{}'::jsonb,
  secret_ciphertext text,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guardian_channels_workspace_idx ON guardian_channels (workspace_id, created_at);

-- A member's Guardian role when an owner overrides the default mapping from the workspace role
-- (owner/admin → guardian_admin, member → analyst, viewer → viewer). NULL = the default.
ALTER TABLE memberships ADD COLUMN guardian_role text CHECK (guardian_role IN ('guardian_admin', 'analyst', 'viewer'));
