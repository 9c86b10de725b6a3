-- The A/B counting of email events (analytics_ab_events_inserted, migration 122) looked up every
-- sent, opened or clicked email's message and its splits, in three statements planned on each
-- connection's first use: about 6-11 us of backend CPU per email event and 10 ms per new
-- connection, in every workspace, measured on bench:email's sends. A workspace that never ran an
-- A/B split has no analytics_split_members row, and its events now leave the trigger after one
-- index probe per statement (docs/benchmarks.md). What is counted does not change: without a
-- member row, none of the three statements finds anything to count.
CREATE INDEX analytics_split_members_workspace_idx ON analytics_split_members (workspace_id);

CREATE OR REPLACE FUNCTION analytics_ab_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM analytics_new WHERE type = 'email' AND name IN ('sent', 'opened', 'clicked')) THEN RETURN NULL; END IF;
  -- Nothing to count where the events' workspaces have no split member: every statement below
  -- acts through analytics_split_members rows (a member is written when its enrollment passes a
  -- split, before any email after the split is sent).
  IF NOT EXISTS (SELECT 1 FROM (SELECT DISTINCT workspace_id FROM analytics_new WHERE type = 'email' AND name IN ('sent', 'opened', 'clicked')) n
                  WHERE EXISTS (SELECT 1 FROM analytics_split_members mb WHERE mb.workspace_id = n.workspace_id)) THEN
    RETURN NULL;
  END IF;

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
