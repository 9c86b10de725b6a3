-- A/B results from the rollups (docs/ab-testing.md, docs/analytics.md). The split results and the
-- automatic winner's looks counted, per variant, the contacts assigned and what they did later by
-- scanning journey rows, messages and events (seconds of database CPU per read at 200,000
-- contacts, docs/benchmarks.md). Now the same writers' triggers keep five per-variant metrics in
-- the analytics ledger (analytics_delta → analytics_totals, folded like the others), and a read is
-- a few rollup rows:
--   ab_assigned   enrollments the split sent down the variant (the first pass of each enrollment)
--   ab_sent       emails sent to them at steps after that pass (one per message)
--   ab_opened     of those enrollments, the ones with a human open of such an email (machine opens never count)
--   ab_clicked    the same for human clicks
--   ab_converted  the ones that reached the campaign goal
-- Rows carry campaign_id, version (the enrollment's), split_node_id and variant; node_id is ''.
--
-- analytics_split_members is the one row per enrollment and split node that makes each count
-- once: inserted ON CONFLICT DO NOTHING at the split step, its flags set by UPDATE … WHERE NOT
-- flag (a concurrent second open of the same enrollment re-checks the flag and counts nothing).
-- An email belongs to the splits its enrollment passed before the email's step (journey row ids
-- order the steps, so a later split never takes an earlier email). When an enrollment is deleted
-- (its contact erased) its rows go with it and take back exactly what they counted, as the raw
-- count (which joins enrollments) would.

CREATE TABLE analytics_split_members (
  workspace_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  enrollment_id uuid NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
  split_node_id text NOT NULL,
  variant text NOT NULL,
  version integer NOT NULL,
  -- The split step (enrollment_steps.id) and its time.
  step_id bigint NOT NULL,
  at timestamptz NOT NULL,
  sends integer NOT NULL DEFAULT 0,
  opened boolean NOT NULL DEFAULT false,
  clicked boolean NOT NULL DEFAULT false,
  converted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (enrollment_id, split_node_id)
);
-- When the first contact reached a split (the automatic test's start): the first index entry.
CREATE INDEX analytics_split_members_start_idx ON analytics_split_members (campaign_id, split_node_id, at);

-- The splits (enrollment, split node) an email counts for: those its enrollment passed before
-- the email's own step; `contact` (when given) must be the message's contact, as for opens. With
-- the message's send time (the bucket of its `ab_sent`).
CREATE FUNCTION analytics_ab_splits_of(ws uuid, message uuid, contact uuid) RETURNS TABLE (enrollment_id uuid, split_node_id text, sent_at timestamptz)
  LANGUAGE sql STABLE
  AS $$
    SELECT mb.enrollment_id, mb.split_node_id, m.sent_at
      FROM messages m
      JOIN analytics_split_members mb
        ON mb.enrollment_id = CASE WHEN m.idempotency_key ~ '^enrollment:[0-9a-f-]{36}:node:' THEN substr(m.idempotency_key, 12, 36)::uuid END
     -- By the primary key: the workspace and contact are checked on the row, never an index
     -- range (the (workspace_id, …) indexes would walk the workspace's messages per event when
     -- the planner misjudges a trigger's transition table).
     WHERE m.id = message AND (m.workspace_id = ws) IS TRUE AND m.source_type = 'campaign'
       AND (contact IS NULL OR (m.contact_id = contact) IS TRUE)
       AND mb.step_id < coalesce((SELECT min(s.id) FROM enrollment_steps s
                                   WHERE s.enrollment_id = mb.enrollment_id AND s.node_id = split_part(m.idempotency_key, ':node:', 2)),
                                 9223372036854775807)
  $$;

-- Journey rows of one statement: a split step (completed, with its variant) assigns the
-- enrollment the first time it passes that split; a goal exit converts every split it passed.
CREATE FUNCTION analytics_ab_steps_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM analytics_new WHERE outcome = 'completed' AND handle IS NOT NULL AND detail ? 'variant') THEN
    WITH firsts AS (
      SELECT DISTINCT ON (s.enrollment_id, s.node_id) s.workspace_id, s.campaign_id, s.enrollment_id, s.node_id, s.handle, s.id, s.at
        FROM analytics_new s
       WHERE s.outcome = 'completed' AND s.handle IS NOT NULL AND s.detail ? 'variant'
       ORDER BY s.enrollment_id, s.node_id, s.id
    ), claimed AS (
      INSERT INTO analytics_split_members (workspace_id, campaign_id, enrollment_id, split_node_id, variant, version, step_id, at)
      SELECT f.workspace_id, f.campaign_id, f.enrollment_id, f.node_id, f.handle, coalesce(e.version, 0), f.id, f.at
        FROM firsts f LEFT JOIN enrollments e ON e.id = f.enrollment_id
       ORDER BY f.enrollment_id, f.node_id
      ON CONFLICT DO NOTHING
      RETURNING workspace_id, campaign_id, version, split_node_id, variant, at
    )
    INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
    SELECT workspace_id, analytics_bucket(at), campaign_id::text, version, split_node_id, variant, 'ab_assigned', count(*)
      FROM claimed GROUP BY 1, 2, 3, 4, 5, 6;
  END IF;

  IF EXISTS (SELECT 1 FROM analytics_new WHERE detail ? 'goal') THEN
    WITH goals AS (
      SELECT enrollment_id, min(at) AS at FROM analytics_new WHERE detail ? 'goal' GROUP BY 1
    ), flipped AS (
      UPDATE analytics_split_members mb SET converted = true
        FROM goals g
       WHERE mb.enrollment_id = g.enrollment_id AND NOT mb.converted
      RETURNING mb.workspace_id, mb.campaign_id, mb.version, mb.split_node_id, mb.variant, g.at
    )
    INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
    SELECT workspace_id, analytics_bucket(at), campaign_id::text, version, split_node_id, variant, 'ab_converted', count(*)
      FROM flipped GROUP BY 1, 2, 3, 4, 5, 6;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_ab_steps_inserted AFTER INSERT ON enrollment_steps
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_ab_steps_inserted();

-- Email events of one statement: a `sent` counts once per message for each split it belongs to
-- (in the quarter hour of the message's sent_at); a human open or click marks the enrollment
-- opened or clicked once per split.
CREATE FUNCTION analytics_ab_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM analytics_new WHERE type = 'email' AND name IN ('sent', 'opened', 'clicked')) THEN RETURN NULL; END IF;

  -- Every step is driven by a primary key lookup per row: a trigger's transition table is
  -- estimated at a row or so, and a join between two of its derived sets would be planned as a
  -- nested loop over both (seconds per thousand events).
  WITH sent AS (
    SELECT DISTINCT workspace_id, (properties->>'messageId')::uuid AS message_id
      FROM analytics_new
     WHERE type = 'email' AND name = 'sent' AND properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  ), claimed AS (
    INSERT INTO analytics_message_firsts (workspace_id, message_id, metric)
    SELECT s.workspace_id, s.message_id, 'ab_sent' FROM sent s
     WHERE EXISTS (SELECT 1 FROM analytics_ab_splits_of(s.workspace_id, s.message_id, NULL))
     ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, message_id
  ), counted AS (
    SELECT x.enrollment_id, x.split_node_id, count(*) AS n, min(coalesce(x.sent_at, now())) AS at
      FROM claimed c CROSS JOIN LATERAL analytics_ab_splits_of(c.workspace_id, c.message_id, NULL) x GROUP BY 1, 2
  ), bumped AS (
    UPDATE analytics_split_members mb SET sends = mb.sends + c.n
      FROM counted c
     WHERE mb.enrollment_id = c.enrollment_id AND mb.split_node_id = c.split_node_id
    RETURNING mb.workspace_id, mb.campaign_id, mb.version, mb.split_node_id, mb.variant, c.n, c.at
  )
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
  SELECT workspace_id, analytics_bucket(at), campaign_id::text, version, split_node_id, variant, 'ab_sent', sum(n)
    FROM bumped GROUP BY 1, 2, 3, 4, 5, 6;

  WITH opens AS (
    SELECT workspace_id, (properties->>'messageId')::uuid AS message_id, contact_id, min(occurred_at) AS at
      FROM analytics_new
     WHERE type = 'email' AND name = 'opened' AND contact_id IS NOT NULL AND coalesce(properties->>'machineOpen', 'false') <> 'true'
       AND properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     GROUP BY 1, 2, 3
  ), targets AS (
    SELECT x.enrollment_id, x.split_node_id, min(o.at) AS at
      FROM opens o CROSS JOIN LATERAL analytics_ab_splits_of(o.workspace_id, o.message_id, o.contact_id) x GROUP BY 1, 2
  ), flipped AS (
    UPDATE analytics_split_members mb SET opened = true
      FROM targets t
     WHERE mb.enrollment_id = t.enrollment_id AND mb.split_node_id = t.split_node_id AND NOT mb.opened
    RETURNING mb.workspace_id, mb.campaign_id, mb.version, mb.split_node_id, mb.variant, t.at
  )
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
  SELECT workspace_id, analytics_bucket(at), campaign_id::text, version, split_node_id, variant, 'ab_opened', count(*)
    FROM flipped GROUP BY 1, 2, 3, 4, 5, 6;

  WITH clicks AS (
    SELECT workspace_id, (properties->>'messageId')::uuid AS message_id, contact_id, min(occurred_at) AS at
      FROM analytics_new
     WHERE type = 'email' AND name = 'clicked' AND contact_id IS NOT NULL AND coalesce(properties->>'machineOpen', 'false') <> 'true'
       AND properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     GROUP BY 1, 2, 3
  ), targets AS (
    SELECT x.enrollment_id, x.split_node_id, min(c.at) AS at
      FROM clicks c CROSS JOIN LATERAL analytics_ab_splits_of(c.workspace_id, c.message_id, c.contact_id) x GROUP BY 1, 2
  ), flipped AS (
    UPDATE analytics_split_members mb SET clicked = true
      FROM targets t
     WHERE mb.enrollment_id = t.enrollment_id AND mb.split_node_id = t.split_node_id AND NOT mb.clicked
    RETURNING mb.workspace_id, mb.campaign_id, mb.version, mb.split_node_id, mb.variant, t.at
  )
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
  SELECT workspace_id, analytics_bucket(at), campaign_id::text, version, split_node_id, variant, 'ab_clicked', count(*)
    FROM flipped GROUP BY 1, 2, 3, 4, 5, 6;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_ab_events_inserted AFTER INSERT ON events
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_ab_events_inserted();

-- A deleted enrollment's rows take back what they counted (in the bucket of the assignment).
CREATE FUNCTION analytics_ab_members_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, split_node_id, variant, metric, n)
  SELECT o.workspace_id, analytics_bucket(o.at), o.campaign_id::text, o.version, o.split_node_id, o.variant, k.metric, -sum(k.n)
    FROM analytics_old o
   CROSS JOIN LATERAL (VALUES ('ab_assigned', 1), ('ab_sent', o.sends), ('ab_opened', o.opened::int), ('ab_clicked', o.clicked::int), ('ab_converted', o.converted::int)) AS k(metric, n)
   WHERE k.n <> 0
   GROUP BY 1, 2, 3, 4, 5, 6, 7;
  RETURN NULL;
END $$;
CREATE TRIGGER analytics_ab_members_deleted AFTER DELETE ON analytics_split_members
  REFERENCING OLD TABLE AS analytics_old FOR EACH STATEMENT EXECUTE FUNCTION analytics_ab_members_deleted();

-- What existed before this migration, counted once by the same functions (as in 109): the
-- journey rows in step order, then the email events of campaign messages.
CREATE TEMP TABLE analytics_ab_backfill_steps (LIKE enrollment_steps) ON COMMIT DROP;
CREATE TRIGGER analytics_ab_backfill AFTER INSERT ON analytics_ab_backfill_steps
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_ab_steps_inserted();
INSERT INTO analytics_ab_backfill_steps SELECT * FROM enrollment_steps WHERE (outcome = 'completed' AND handle IS NOT NULL AND detail ? 'variant') OR detail ? 'goal' ORDER BY id;
CREATE TEMP TABLE analytics_ab_backfill_events (LIKE events) ON COMMIT DROP;
CREATE TRIGGER analytics_ab_backfill AFTER INSERT ON analytics_ab_backfill_events
  REFERENCING NEW TABLE AS analytics_new FOR EACH STATEMENT EXECUTE FUNCTION analytics_ab_events_inserted();
INSERT INTO analytics_ab_backfill_events SELECT * FROM events WHERE type = 'email' AND name IN ('sent', 'opened', 'clicked') AND EXISTS (SELECT 1 FROM analytics_split_members LIMIT 1);
