-- Analytics rollups (docs/analytics.md). Reports read counts per quarter hour instead of the raw
-- tables: at ten million events a dashboard that counted events per day from `events` scanned
-- millions of index entries per request (bench/analytics.ts, docs/benchmarks.md).
--
-- How they stay current: statement-level AFTER triggers on the tables every writer goes through
-- (events, contacts, enrollments, enrollment_steps) append their counts to `analytics_delta` in
-- the writer's own transaction — append-only, so concurrent writers never wait on one counter
-- row — and the analytics folder worker (src/analytics/rollup.ts) moves the ledger into
-- `analytics_counts` (per quarter hour), `analytics_days` (per day of the workspace's zone) and
-- `analytics_totals` (all time) about once a second.
-- Readers add the rollups and what is still in the ledger, so a stored event is in the numbers
-- as soon as its transaction commits.
--
-- Dimensions: '' / 0 mean "none" (not a campaign, no node, no split), as in guardian_send_hours.
-- analytics_counts also holds two sums the folder adds, so a report reads a few rows per bucket:
-- the workspace's (campaign_id '*') and each campaign's over its versions and nodes (version -1,
-- node_id '*').
-- Metrics (persisted strings, never renamed): events, contacts_created; per email message, once
-- each (analytics_message_firsts): sent, delivered, opened, opened_any, clicked, clicked_any,
-- replied, bounced, complained, unsubscribed; machine_opens (machine open events); journeys:
-- enrolled, step_completed, step_skipped, step_failed, converted, convert_seconds.

-- A quarter hour: every real time zone's offset is a multiple of 15 minutes, so days and hours
-- of any workspace's zone are whole sets of buckets.
CREATE FUNCTION analytics_bucket(t timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT date_bin('15 minutes', t, timestamptz '2000-01-01 00:00:00+00') $$;

CREATE TABLE analytics_counts (
  workspace_id uuid NOT NULL,
  bucket timestamptz NOT NULL,
  campaign_id text NOT NULL DEFAULT '',
  version integer NOT NULL DEFAULT 0,
  node_id text NOT NULL DEFAULT '',
  split_node_id text NOT NULL DEFAULT '',
  variant text NOT NULL DEFAULT '',
  metric text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric)
);
-- One campaign's rows over time (the campaign report's series).
CREATE INDEX analytics_counts_campaign_idx ON analytics_counts (workspace_id, campaign_id, bucket) WHERE campaign_id <> '';

CREATE TABLE analytics_totals (
  workspace_id uuid NOT NULL,
  campaign_id text NOT NULL DEFAULT '',
  version integer NOT NULL DEFAULT 0,
  node_id text NOT NULL DEFAULT '',
  split_node_id text NOT NULL DEFAULT '',
  variant text NOT NULL DEFAULT '',
  metric text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (workspace_id, campaign_id, version, node_id, split_node_id, variant, metric)
);

-- Days of the workspace's time zone (as it was when the rows were folded; changing the zone
-- rebuilds them from the quarter hours, below): the day series read a few rows per day.
CREATE TABLE analytics_days (
  workspace_id uuid NOT NULL,
  day date NOT NULL,
  campaign_id text NOT NULL DEFAULT '',
  version integer NOT NULL DEFAULT 0,
  node_id text NOT NULL DEFAULT '',
  split_node_id text NOT NULL DEFAULT '',
  variant text NOT NULL DEFAULT '',
  metric text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (workspace_id, day, campaign_id, version, node_id, split_node_id, variant, metric)
);
CREATE INDEX analytics_days_campaign_idx ON analytics_days (workspace_id, campaign_id, day) WHERE campaign_id <> '';

-- The zone the day rows use: the workspace's settings.timeZone when PostgreSQL knows it, else
-- UTC (src/core/workspace.ts answers the same for the readers).
CREATE FUNCTION analytics_zone(ws uuid) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  zone text;
BEGIN
  SELECT settings->>'timeZone' INTO zone FROM workspaces WHERE id = ws;
  IF zone IS NULL OR zone = '' THEN RETURN 'UTC'; END IF;
  PERFORM now() AT TIME ZONE zone;
  RETURN zone;
EXCEPTION WHEN others THEN
  RETURN 'UTC';
END $$;

-- A workspace's new time zone: its day rows are rebuilt from the quarter hours, after any fold
-- in progress (the folder's advisory lock, src/analytics/rollup.ts).
CREATE FUNCTION analytics_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7109001);
  DELETE FROM analytics_days WHERE workspace_id = NEW.id;
  INSERT INTO analytics_days (workspace_id, day, campaign_id, version, node_id, split_node_id, variant, metric, n)
  SELECT workspace_id, (bucket AT TIME ZONE analytics_zone(NEW.id))::date, campaign_id, version, node_id, split_node_id, variant, metric, sum(n)
    FROM analytics_counts WHERE workspace_id = NEW.id
   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_zone_changed AFTER UPDATE OF settings ON workspaces
  FOR EACH ROW WHEN (OLD.settings->>'timeZone' IS DISTINCT FROM NEW.settings->>'timeZone')
  EXECUTE FUNCTION analytics_zone_changed();

-- The ledger: what writers counted since the last fold.
CREATE TABLE analytics_delta (
  id bigint GENERATED ALWAYS AS IDENTITY,
  workspace_id uuid NOT NULL,
  bucket timestamptz NOT NULL,
  campaign_id text NOT NULL DEFAULT '',
  version integer NOT NULL DEFAULT 0,
  node_id text NOT NULL DEFAULT '',
  split_node_id text NOT NULL DEFAULT '',
  variant text NOT NULL DEFAULT '',
  metric text NOT NULL,
  n bigint NOT NULL
);
ALTER TABLE analytics_delta ADD PRIMARY KEY (workspace_id, id);
-- The folder takes the oldest rows first.
CREATE INDEX analytics_delta_id_idx ON analytics_delta (id);
CREATE INDEX analytics_delta_workspace_idx ON analytics_delta (workspace_id, campaign_id);

-- Which message already counted for which metric: "opened" counts each email once however often
-- it is opened. Inserted ON CONFLICT DO NOTHING, so two opens of one email racing count once.
CREATE TABLE analytics_message_firsts (
  workspace_id uuid NOT NULL,
  message_id uuid NOT NULL,
  metric text NOT NULL,
  PRIMARY KEY (workspace_id, message_id, metric)
);

-- The split variant an enrollment took last (the A/B dimension of its emails and its goal).
CREATE FUNCTION analytics_variant_of(enrollment uuid) RETURNS TABLE (split_node_id text, variant text)
  LANGUAGE sql STABLE
  AS $$ SELECT s.node_id, s.detail->>'variant' FROM enrollment_steps s
         WHERE s.enrollment_id = enrollment AND s.detail ? 'variant' ORDER BY s.id DESC LIMIT 1 $$;

-- Email events of one statement: every event counts in `events`; an email event that names its
-- message counts once per message and metric, with the message's campaign, version, node and
-- variant; one that names none (a webhook bounce of an unknown message) counts as itself.
CREATE FUNCTION analytics_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, metric, n)
  SELECT workspace_id, analytics_bucket(occurred_at), 'events', count(*) FROM analytics_new GROUP BY 1, 2;

  IF NOT EXISTS (SELECT 1 FROM analytics_new WHERE type = 'email') THEN RETURN NULL; END IF;

  WITH email AS (
    SELECT workspace_id, occurred_at, name,
           CASE WHEN properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (properties->>'messageId')::uuid END AS message_id,
           coalesce(properties->>'machineOpen', 'false') = 'true' AS machine
      FROM analytics_new
     WHERE type = 'email' AND name IN ('sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed')
  ), keyed AS (
    SELECT e.workspace_id, e.occurred_at, e.message_id, k.metric
      FROM email e
     CROSS JOIN LATERAL (VALUES
       (CASE WHEN e.name = 'opened' THEN 'opened_any' WHEN e.name = 'clicked' THEN 'clicked_any' ELSE e.name END),
       (CASE WHEN e.name IN ('opened', 'clicked') AND NOT e.machine THEN e.name END)) AS k(metric)
     WHERE k.metric IS NOT NULL
  ), firsts AS (
    SELECT workspace_id, message_id, metric, min(occurred_at) AS occurred_at FROM keyed WHERE message_id IS NOT NULL GROUP BY 1, 2, 3
  ), claimed AS (
    INSERT INTO analytics_message_firsts (workspace_id, message_id, metric)
    SELECT workspace_id, message_id, metric FROM firsts ORDER BY workspace_id, message_id, metric
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, message_id, metric
  ), counted AS (
    SELECT f.workspace_id, f.occurred_at, f.message_id, f.metric FROM firsts f JOIN claimed c USING (workspace_id, message_id, metric)
    UNION ALL
    SELECT workspace_id, occurred_at, NULL, metric FROM keyed WHERE message_id IS NULL
    UNION ALL
    SELECT workspace_id, occurred_at, message_id, 'machine_opens' FROM email WHERE name = 'opened' AND machine
  )
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric, n)
  SELECT c.workspace_id, analytics_bucket(c.occurred_at),
         coalesce(CASE WHEN m.source_type = 'campaign' THEN m.source_id END, ''),
         coalesce(en.version, 0),
         CASE WHEN m.source_type = 'campaign' THEN split_part(m.idempotency_key, ':node:', 2) ELSE '' END,
         coalesce(v.split_node_id, ''), coalesce(v.variant, ''),
         c.metric, count(*)
    FROM counted c
    LEFT JOIN messages m ON m.id = c.message_id AND m.workspace_id = c.workspace_id
    LEFT JOIN enrollments en ON m.source_type = 'campaign'
          AND en.id = CASE WHEN m.idempotency_key ~ '^enrollment:[0-9a-f-]{36}:node:' THEN substr(m.idempotency_key, 12, 36)::uuid END
    LEFT JOIN LATERAL analytics_variant_of(en.id) v ON en.id IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_events_inserted AFTER INSERT ON events
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_events_inserted();

-- A deleted event (its contact deleted) leaves the event counts; what an email already counted
-- (an open of a sent message) stays, as the message does.
CREATE FUNCTION analytics_events_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, metric, n)
  SELECT workspace_id, analytics_bucket(occurred_at), 'events', -count(*) FROM analytics_old GROUP BY 1, 2;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_events_deleted AFTER DELETE ON events
  REFERENCING OLD TABLE AS analytics_old FOR EACH STATEMENT EXECUTE FUNCTION analytics_events_deleted();

-- Contacts by the quarter hour they were created in; a deleted (or merged-away) contact is taken
-- back out of its creation bucket, so the counts are those of the contacts that exist.
CREATE FUNCTION analytics_contacts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, metric, n)
  SELECT workspace_id, analytics_bucket(created_at), 'contacts_created', count(*) FROM analytics_new GROUP BY 1, 2;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_contacts_inserted AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_contacts_inserted();
CREATE FUNCTION analytics_contacts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, metric, n)
  SELECT workspace_id, analytics_bucket(created_at), 'contacts_created', -count(*) FROM analytics_old GROUP BY 1, 2;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_contacts_deleted AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS analytics_old FOR EACH STATEMENT EXECUTE FUNCTION analytics_contacts_deleted();

-- Enrollments by campaign, version and when they began.
CREATE FUNCTION analytics_enrollments_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, metric, n)
  SELECT workspace_id, analytics_bucket(enrolled_at), campaign_id::text, version, 'enrolled', count(*) FROM analytics_new GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_enrollments_inserted AFTER INSERT ON enrollments
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_enrollments_inserted();

-- The journey: each finished step per node and outcome (a split's step carries its variant);
-- a goal exit (the sink's 'skipped' step with detail.goal) counts as `converted` at the node the
-- contact was at, with the variant it took and the seconds from enrolling to converting.
CREATE FUNCTION analytics_steps_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric, n)
  SELECT s.workspace_id, analytics_bucket(s.at), s.campaign_id::text, coalesce(e.version, 0), s.node_id,
         CASE WHEN s.detail ? 'variant' THEN s.node_id ELSE '' END, coalesce(s.detail->>'variant', ''),
         'step_' || s.outcome, count(*)
    FROM analytics_new s LEFT JOIN enrollments e ON e.id = s.enrollment_id
   WHERE NOT s.detail ? 'goal'
   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

  IF NOT EXISTS (SELECT 1 FROM analytics_new WHERE detail ? 'goal') THEN RETURN NULL; END IF;
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric, n)
  SELECT s.workspace_id, analytics_bucket(s.at), s.campaign_id::text, coalesce(e.version, 0), s.node_id,
         coalesce(v.split_node_id, ''), coalesce(v.variant, ''), k.metric, sum(k.n)
    FROM analytics_new s
    LEFT JOIN enrollments e ON e.id = s.enrollment_id
    LEFT JOIN LATERAL analytics_variant_of(s.enrollment_id) v ON true
   CROSS JOIN LATERAL (VALUES ('converted', 1::bigint),
                              ('convert_seconds', greatest(0, floor(extract(epoch FROM s.at - coalesce(e.enrolled_at, s.at))))::bigint)) AS k(metric, n)
   WHERE s.detail ? 'goal'
   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_steps_inserted AFTER INSERT ON enrollment_steps
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_steps_inserted();

-- What existed before this migration, counted once by the same functions: each table's rows go
-- through a temporary copy that carries the same trigger.
CREATE TEMP TABLE analytics_backfill_contacts (LIKE contacts) ON COMMIT DROP;
CREATE TRIGGER analytics_backfill AFTER INSERT ON analytics_backfill_contacts
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_contacts_inserted();
INSERT INTO analytics_backfill_contacts SELECT * FROM contacts;
CREATE TEMP TABLE analytics_backfill_enrollments (LIKE enrollments) ON COMMIT DROP;
CREATE TRIGGER analytics_backfill AFTER INSERT ON analytics_backfill_enrollments
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_enrollments_inserted();
INSERT INTO analytics_backfill_enrollments SELECT * FROM enrollments;
CREATE TEMP TABLE analytics_backfill_steps (LIKE enrollment_steps) ON COMMIT DROP;
CREATE TRIGGER analytics_backfill AFTER INSERT ON analytics_backfill_steps
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_steps_inserted();
INSERT INTO analytics_backfill_steps SELECT * FROM enrollment_steps;
CREATE TEMP TABLE analytics_backfill_events (LIKE events) ON COMMIT DROP;
CREATE TRIGGER analytics_backfill AFTER INSERT ON analytics_backfill_events
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_events_inserted();
INSERT INTO analytics_backfill_events SELECT * FROM events ORDER BY occurred_at;
