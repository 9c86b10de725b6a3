/**
 * The analytics benchmark's bulk load (bench/analytics.ts, `--load=bulk`): the rows are inserted
 * with the analytics triggers off, then what the triggers would have written — the ledger
 * (analytics_delta), the "once per email" claims (analytics_message_firsts) and the A/B members
 * (analytics_split_members) — is computed here in a few set-based statements (hash joins over the
 * whole tables instead of index lookups per row), one ledger row per key. Valid for a load where
 * each statement of the trigger path would have seen all of a contact's rows at once and the
 * journey rows come before the events (as bench/analytics.ts generates them); `--check` compares
 * it with the trigger path on the same rows.
 */
import type { Database } from '../src/db/database.js';

const UUID = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;
const DELTA = 'INSERT INTO analytics_delta (workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric, n)';

/** Migration 109's contacts, enrollments and journey-row triggers, over the whole tables. */
const JOURNEY = [
  `${DELTA} SELECT workspace_id, analytics_bucket(created_at), '', 0, '', '', '', 'contacts_created', count(*) FROM contacts GROUP BY 1, 2`,
  `${DELTA} SELECT workspace_id, analytics_bucket(enrolled_at), campaign_id::text, version, '', '', '', 'enrolled', count(*) FROM enrollments GROUP BY 1, 2, 3, 4`,
  `${DELTA} SELECT s.workspace_id, analytics_bucket(s.at), s.campaign_id::text, coalesce(e.version, 0), s.node_id,
          CASE WHEN s.detail ? 'variant' THEN s.node_id ELSE '' END, coalesce(s.detail->>'variant', ''), 'step_' || s.outcome, count(*)
     FROM enrollment_steps s LEFT JOIN enrollments e ON e.id = s.enrollment_id
    WHERE NOT s.detail ? 'goal' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
  // The variant an enrollment took last (analytics_variant_of), once per enrollment.
  `CREATE TEMP TABLE bulk_variant AS
   SELECT DISTINCT ON (enrollment_id) enrollment_id, node_id AS split_node_id, detail->>'variant' AS variant
     FROM enrollment_steps WHERE detail ? 'variant' ORDER BY enrollment_id, id DESC`,
  `${DELTA} SELECT s.workspace_id, analytics_bucket(s.at), s.campaign_id::text, coalesce(e.version, 0), s.node_id,
          coalesce(v.split_node_id, ''), coalesce(v.variant, ''), k.metric, sum(k.n)
     FROM enrollment_steps s
     LEFT JOIN enrollments e ON e.id = s.enrollment_id
     LEFT JOIN bulk_variant v ON v.enrollment_id = s.enrollment_id
    CROSS JOIN LATERAL (VALUES ('converted', 1::bigint),
                               ('convert_seconds', greatest(0, floor(extract(epoch FROM s.at - coalesce(e.enrolled_at, s.at))))::bigint)) AS k(metric, n)
    WHERE s.detail ? 'goal' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
];

/** Migration 109's events trigger: every event, and each email's metrics once per message. */
const EVENTS = [
  `${DELTA} SELECT workspace_id, analytics_bucket(occurred_at), '', 0, '', '', '', 'events', count(*) FROM events GROUP BY 1, 2`,
  `CREATE TEMP TABLE bulk_email AS
   SELECT workspace_id, occurred_at, name, CASE WHEN properties->>'messageId' ~* ${UUID} THEN (properties->>'messageId')::uuid END AS message_id,
          coalesce(properties->>'machineOpen', 'false') = 'true' AS machine, contact_id
     FROM events WHERE type = 'email' AND name IN ('sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed')`,
  // Each event's one or two metrics (opens and clicks count as _any, and as themselves when human).
  `CREATE TEMP TABLE bulk_keys AS
   SELECT e.workspace_id, e.message_id, e.occurred_at, k.metric
     FROM bulk_email e
    CROSS JOIN LATERAL (VALUES
      (CASE WHEN e.name = 'opened' THEN 'opened_any' WHEN e.name = 'clicked' THEN 'clicked_any' ELSE e.name END),
      (CASE WHEN e.name IN ('opened', 'clicked') AND NOT e.machine THEN e.name END)) AS k(metric)
    WHERE k.metric IS NOT NULL`,
  // Once per message and metric, at its first event.
  `CREATE TEMP TABLE bulk_keyed AS
   SELECT workspace_id, message_id, metric, min(occurred_at) AS occurred_at FROM bulk_keys WHERE message_id IS NOT NULL GROUP BY 1, 2, 3`,
  `INSERT INTO analytics_message_firsts (workspace_id, message_id, metric)
   SELECT workspace_id, message_id, metric FROM bulk_keyed WHERE message_id IS NOT NULL ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`,
  `${DELTA} SELECT c.workspace_id, analytics_bucket(c.occurred_at),
          coalesce(CASE WHEN m.source_type = 'campaign' THEN m.source_id END, ''), coalesce(en.version, 0),
          CASE WHEN m.source_type = 'campaign' THEN split_part(m.idempotency_key, ':node:', 2) ELSE '' END,
          coalesce(v.split_node_id, ''), coalesce(v.variant, ''), c.metric, sum(c.n)
     FROM (SELECT workspace_id, occurred_at, message_id, metric, 1::bigint AS n FROM bulk_keyed
           UNION ALL SELECT workspace_id, occurred_at, NULL, metric, 1 FROM bulk_keys WHERE message_id IS NULL
           UNION ALL SELECT workspace_id, occurred_at, message_id, 'machine_opens', 1 FROM bulk_email WHERE name = 'opened' AND machine) c
     LEFT JOIN messages m ON m.id = c.message_id AND m.workspace_id = c.workspace_id
     LEFT JOIN enrollments en ON m.source_type = 'campaign'
           AND en.id = CASE WHEN m.idempotency_key ~ '^enrollment:[0-9a-f-]{36}:node:' THEN substr(m.idempotency_key, 12, 36)::uuid END
     LEFT JOIN bulk_variant v ON v.enrollment_id = en.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
];

/** Migration 122's triggers: the A/B members with what they did, and their ledger rows. */
const SPLITS = [
  `CREATE TEMP TABLE bulk_members AS
   SELECT DISTINCT ON (s.enrollment_id, s.node_id) s.workspace_id, s.campaign_id, s.enrollment_id, s.node_id AS split_node_id, s.handle AS variant,
          coalesce(e.version, 0) AS version, s.id AS step_id, s.at
     FROM enrollment_steps s LEFT JOIN enrollments e ON e.id = s.enrollment_id
    WHERE s.outcome = 'completed' AND s.handle IS NOT NULL AND s.detail ? 'variant'
    ORDER BY s.enrollment_id, s.node_id, s.id`,
  // Each campaign email with the splits its enrollment passed before the email's step.
  `CREATE TEMP TABLE bulk_attributed AS
   SELECT m.id AS message_id, m.workspace_id, m.contact_id, m.sent_at, mb.enrollment_id, mb.split_node_id
     FROM messages m
     JOIN bulk_members mb ON mb.enrollment_id = CASE WHEN m.idempotency_key ~ '^enrollment:[0-9a-f-]{36}:node:' THEN substr(m.idempotency_key, 12, 36)::uuid END
     LEFT JOIN (SELECT enrollment_id, node_id, min(id) AS id FROM enrollment_steps GROUP BY 1, 2) es
            ON es.enrollment_id = mb.enrollment_id AND es.node_id = split_part(m.idempotency_key, ':node:', 2)
    WHERE m.source_type = 'campaign' AND mb.step_id < coalesce(es.id, 9223372036854775807)`,
  `CREATE TEMP TABLE bulk_sent AS
   SELECT DISTINCT a.workspace_id, a.message_id FROM bulk_attributed a
     JOIN bulk_email e ON e.message_id = a.message_id AND e.workspace_id = a.workspace_id AND e.name = 'sent'`,
  `INSERT INTO analytics_message_firsts (workspace_id, message_id, metric) SELECT workspace_id, message_id, 'ab_sent' FROM bulk_sent ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
  `CREATE TEMP TABLE bulk_outcomes AS
   SELECT a.enrollment_id, a.split_node_id,
          count(*) FILTER (WHERE s.message_id IS NOT NULL) AS sends, min(coalesce(a.sent_at, now())) FILTER (WHERE s.message_id IS NOT NULL) AS sent_at,
          min(o.opened_at) AS opened_at, min(o.clicked_at) AS clicked_at
     FROM bulk_attributed a
     LEFT JOIN bulk_sent s ON s.message_id = a.message_id AND s.workspace_id = a.workspace_id
     LEFT JOIN (SELECT workspace_id, message_id, contact_id, min(occurred_at) FILTER (WHERE name = 'opened') AS opened_at, min(occurred_at) FILTER (WHERE name = 'clicked') AS clicked_at
                  FROM bulk_email WHERE name IN ('opened', 'clicked') AND NOT machine AND contact_id IS NOT NULL AND message_id IS NOT NULL GROUP BY 1, 2, 3) o
            ON o.message_id = a.message_id AND o.workspace_id = a.workspace_id AND o.contact_id = a.contact_id
    GROUP BY 1, 2`,
  `CREATE TEMP TABLE bulk_goals AS SELECT enrollment_id, min(at) AS at FROM enrollment_steps WHERE detail ? 'goal' GROUP BY 1`,
  `INSERT INTO analytics_split_members (workspace_id, campaign_id, enrollment_id, split_node_id, variant, version, step_id, at, sends, opened, clicked, converted)
   SELECT mb.workspace_id, mb.campaign_id, mb.enrollment_id, mb.split_node_id, mb.variant, mb.version, mb.step_id, mb.at,
          coalesce(o.sends, 0), o.opened_at IS NOT NULL, o.clicked_at IS NOT NULL, g.enrollment_id IS NOT NULL
     FROM bulk_members mb
     LEFT JOIN bulk_outcomes o USING (enrollment_id, split_node_id)
     LEFT JOIN bulk_goals g USING (enrollment_id)`,
  `${DELTA} SELECT mb.workspace_id, analytics_bucket(k.at), mb.campaign_id::text, mb.version, '', mb.split_node_id, mb.variant, k.metric, sum(k.n)
     FROM bulk_members mb
     LEFT JOIN bulk_outcomes o USING (enrollment_id, split_node_id)
     LEFT JOIN bulk_goals g USING (enrollment_id)
    CROSS JOIN LATERAL (VALUES ('ab_assigned', mb.at, 1::bigint), ('ab_sent', o.sent_at, o.sends), ('ab_opened', o.opened_at, 1), ('ab_clicked', o.clicked_at, 1), ('ab_converted', g.at, 1)) AS k(metric, at, n)
    WHERE k.at IS NOT NULL AND k.n > 0
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
];

/** Writes what the analytics triggers would have for the rows in the tables, on one connection. */
export async function bulkAnalytics(db: Database, time: <T>(label: string, fn: () => Promise<T>) => Promise<T>): Promise<void> {
  await db.transaction(async (tx) => {
    for (const [label, statements] of [['journeys', JOURNEY], ['events', EVENTS], ['A/B members', SPLITS]] as const) {
      await time(`ledger of the ${label} (set-based)`, async () => {
        for (const sql of statements) await tx.query(sql);
      });
    }
    for (const table of ['bulk_variant', 'bulk_email', 'bulk_keys', 'bulk_keyed', 'bulk_members', 'bulk_attributed', 'bulk_sent', 'bulk_outcomes', 'bulk_goals']) await tx.query(`DROP TABLE ${table}`);
  });
}
