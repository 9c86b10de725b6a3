-- A `sent` event recorded by the product (send-journal.ts, reclaim.ts, messages.ts) carries the
-- dedupe key `email:sent:<message id>`, which the events table's unique index admits once per
-- message, and a message becomes sent once: such an event is counted without a row in
-- analytics_message_firsts. That row was an index insert and a conflict check per email sent, about
-- a third of what the analytics triggers cost a send (docs/benchmarks.md). Any other email event,
-- including a `sent` one with another key, is counted once per message through the firsts as before.
CREATE OR REPLACE FUNCTION analytics_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO analytics_delta (workspace_id, bucket, metric, n)
  SELECT workspace_id, analytics_bucket(occurred_at), 'events', count(*) FROM analytics_new GROUP BY 1, 2;

  IF NOT EXISTS (SELECT 1 FROM analytics_new WHERE type = 'email') THEN RETURN NULL; END IF;

  WITH email AS (
    SELECT workspace_id, occurred_at, name,
           CASE WHEN properties->>'messageId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (properties->>'messageId')::uuid END AS message_id,
           coalesce(properties->>'machineOpen', 'false') = 'true' AS machine,
           coalesce(name = 'sent' AND analytics_new.message_id = 'email:sent:' || (properties->>'messageId'), false) AS sent_key
      FROM analytics_new
     WHERE type = 'email' AND name IN ('sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed')
  ), keyed AS (
    SELECT e.workspace_id, e.occurred_at, e.message_id, k.metric, e.message_id IS NOT NULL AND e.sent_key AS unique_sent
      FROM email e
     CROSS JOIN LATERAL (VALUES
       (CASE WHEN e.name = 'opened' THEN 'opened_any' WHEN e.name = 'clicked' THEN 'clicked_any' ELSE e.name END),
       (CASE WHEN e.name IN ('opened', 'clicked') AND NOT e.machine THEN e.name END)) AS k(metric)
     WHERE k.metric IS NOT NULL
  ), firsts AS (
    SELECT workspace_id, message_id, metric, min(occurred_at) AS occurred_at FROM keyed WHERE message_id IS NOT NULL AND NOT unique_sent GROUP BY 1, 2, 3
  ), claimed AS (
    INSERT INTO analytics_message_firsts (workspace_id, message_id, metric)
    SELECT workspace_id, message_id, metric FROM firsts ORDER BY workspace_id, message_id, metric
    ON CONFLICT DO NOTHING
    RETURNING workspace_id, message_id, metric
  ), counted AS (
    SELECT f.workspace_id, f.occurred_at, f.message_id, f.metric FROM firsts f JOIN claimed c USING (workspace_id, message_id, metric)
    UNION ALL
    SELECT workspace_id, occurred_at, message_id, metric FROM keyed WHERE unique_sent
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
