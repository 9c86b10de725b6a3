-- Guardian notifications (docs/guardian.md#notifications): one delivery per alert event and
-- channel (and per test send and digest), each attempt of it, in-app notifications with a read
-- state per user, and the channels' failure streak and digest schedule.

-- A delivery is the unit of the delivery log and of the notifier's work: claimed with FOR UPDATE
-- SKIP LOCKED under the claiming process's holder id (src/db/holder.ts); its id is the
-- idempotency key (`webhook-id`) of every request made for it.
CREATE TABLE guardian_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  -- The channel as the rule named it; no foreign key, so a delivery to a deleted channel is kept
  -- (logged failed) with the name and kind it had.
  channel_id uuid NOT NULL,
  channel_kind text,
  channel_name text,
  purpose text NOT NULL CHECK (purpose IN ('alert', 'test', 'digest')),
  alert_id uuid REFERENCES guardian_alerts(id) ON DELETE SET NULL,
  alert_event_id bigint REFERENCES guardian_alert_events(id) ON DELETE SET NULL,
  -- What is told (alert snapshot, digest figures); rendered per channel kind at send time.
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'retrying', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 6,
  next_attempt_at timestamptz NOT NULL,
  holder_id integer,
  last_response_status integer,
  last_error text,
  created_at timestamptz NOT NULL,
  sent_at timestamptz,
  failed_at timestamptz
);
CREATE UNIQUE INDEX guardian_deliveries_event_channel ON guardian_deliveries (alert_event_id, channel_id) WHERE alert_event_id IS NOT NULL;
CREATE INDEX guardian_deliveries_due_idx ON guardian_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX guardian_deliveries_held_idx ON guardian_deliveries (holder_id) WHERE holder_id IS NOT NULL;
CREATE INDEX guardian_deliveries_workspace_idx ON guardian_deliveries (workspace_id, created_at DESC, id DESC);
CREATE INDEX guardian_deliveries_channel_idx ON guardian_deliveries (channel_id, created_at DESC);
CREATE INDEX guardian_deliveries_alert_idx ON guardian_deliveries (alert_id) WHERE alert_id IS NOT NULL;

CREATE TABLE guardian_delivery_attempts (
  id bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES guardian_deliveries(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  response_status integer,
  error text,
  outcome text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed'))
);
CREATE INDEX guardian_delivery_attempts_delivery_idx ON guardian_delivery_attempts (delivery_id, id);

-- The in-app notification centre: an alert told to an in-app channel, a digest, a channel that
-- keeps failing. Read state is per user.
CREATE TABLE guardian_notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('alert', 'test', 'digest', 'channel_failing')),
  -- The in-app delivery it came from (at most one notification per delivery).
  delivery_id uuid UNIQUE REFERENCES guardian_deliveries(id) ON DELETE SET NULL,
  alert_id uuid REFERENCES guardian_alerts(id) ON DELETE SET NULL,
  channel_id uuid,
  severity text,
  title text NOT NULL,
  body text NOT NULL,
  link text,
  created_at timestamptz NOT NULL
);
CREATE INDEX guardian_notifications_workspace_idx ON guardian_notifications (workspace_id, created_at DESC, id DESC);

CREATE TABLE guardian_notification_reads (
  notification_id uuid NOT NULL REFERENCES guardian_notifications(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  read_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, notification_id)
);

-- A channel's run of failed attempts (reset by a sent one), and its digest: daily or weekly at an
-- hour of the workspace's time zone; next_digest_at is claimed like the other work.
ALTER TABLE guardian_channels
  ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN digest_frequency text CHECK (digest_frequency IN ('daily', 'weekly')),
  ADD COLUMN digest_hour integer CHECK (digest_hour BETWEEN 0 AND 23),
  ADD COLUMN digest_weekday integer CHECK (digest_weekday BETWEEN 0 AND 6),
  ADD COLUMN next_digest_at timestamptz,
  ADD COLUMN last_digest_at timestamptz;
CREATE INDEX guardian_channels_digest_due_idx ON guardian_channels (next_digest_at) WHERE next_digest_at IS NOT NULL;
