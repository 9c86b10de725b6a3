/**
 * How far the schema is from sharding by workspace_id with Citus (docs/scaling.md). Citus
 * distributes a table by one column; then every primary key and unique index must contain that
 * column, and a foreign key between distributed tables must include it. A few small, global
 * tables become reference tables (copied to every node), which any table may reference.
 *
 * The catalog of the migrated schema is compared with the committed list of what stands in the way
 * today. A new table, key or foreign key without workspace_id fails this test: give it
 * workspace_id (a composite key (workspace_id, id), a foreign key (workspace_id, x_id)). A fix
 * also fails it until its line is removed, so the list only gets shorter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers.js';

/**
 * Reference tables: global, small, read on every request and written rarely — organizations,
 * workspaces (the tenant itself), users (one person across workspaces) — and the migration
 * runner's own bookkeeping. Foreign keys to them need no workspace_id.
 */
const REFERENCE_TABLES = ['organizations', 'schema_migrations', 'users', 'workspaces'];

/**
 * What Citus could not distribute by workspace_id today (migrations up to this branch). The
 * guardian lines came with Guardian (migrations 097-099), built in parallel with this test: its
 * process-wide tables (heartbeats, HTTP minutes, the rollup watermark) belong to the installation,
 * not a tenant, and the rest want composite (workspace_id, id) keys (docs/scaling.md).
 */
const NOT_DISTRIBUTABLE_TODAY = [
  'ai_budget_alerts: unique index ai_budget_alerts_pkey without workspace_id',
  'ai_calls: unique index ai_calls_pkey without workspace_id',
  'ai_variants: foreign key ai_variants_contact_id_fkey to contacts without workspace_id',
  'ai_variants: unique index ai_variants_pkey without workspace_id',
  // One row per enrollment and split, keyed and cascaded like enrollment_steps (migration 122).
  'analytics_split_members: foreign key analytics_split_members_enrollment_id_fkey to enrollments without workspace_id',
  'analytics_split_members: unique index analytics_split_members_pkey without workspace_id',
  'api_keys: unique index api_keys_hash_key without workspace_id',
  'api_keys: unique index api_keys_pkey without workspace_id',
  'audit_log: unique index audit_log_pkey without workspace_id',
  'campaign_broadcasts: foreign key campaign_broadcasts_campaign_id_fkey to campaigns without workspace_id',
  'campaign_broadcasts: unique index campaign_broadcasts_pkey without workspace_id',
  'campaign_versions: foreign key campaign_versions_campaign_id_fkey to campaigns without workspace_id',
  'campaign_versions: unique index campaign_versions_pkey without workspace_id',
  'campaign_webhooks: foreign key campaign_webhooks_campaign_id_fkey to campaigns without workspace_id',
  'campaign_webhooks: foreign key campaign_webhooks_enrollment_id_fkey to enrollments without workspace_id',
  'campaign_webhooks: unique index campaign_webhooks_pkey without workspace_id',
  'campaigns: unique index campaigns_pkey without workspace_id',
  'contact_engagement: foreign key contact_engagement_contact_id_fkey to contacts without workspace_id',
  'contact_engagement: unique index contact_engagement_pkey without workspace_id',
  'contact_identities: foreign key contact_identities_contact_id_fkey to contacts without workspace_id',
  'contact_imports: unique index contact_imports_pkey without workspace_id',
  'contact_topic_optouts: foreign key contact_topic_optouts_contact_id_fkey to contacts without workspace_id',
  'contact_topic_optouts: foreign key contact_topic_optouts_topic_id_fkey to subscription_topics without workspace_id',
  'contact_topic_optouts: unique index contact_topic_optouts_pkey without workspace_id',
  'contacts: unique index contacts_pkey without workspace_id',
  'dev_inbox: foreign key dev_inbox_message_id_fkey to messages without workspace_id',
  'dev_inbox: unique index dev_inbox_pkey without workspace_id',
  'email_providers: unique index email_providers_pkey without workspace_id',
  'enrollment_steps: foreign key enrollment_steps_enrollment_id_fkey to enrollments without workspace_id',
  'enrollment_steps: unique index enrollment_steps_pkey without workspace_id',
  'enrollments: foreign key enrollments_campaign_id_fkey to campaigns without workspace_id',
  'enrollments: foreign key enrollments_contact_id_fkey to contacts without workspace_id',
  'enrollments: unique index enrollments_one_active_key without workspace_id',
  'enrollments: unique index enrollments_pkey without workspace_id',
  'event_work: unique index event_work_pkey without workspace_id',
  'events: unique index events_pkey without workspace_id',
  'guardian_alert_events: foreign key guardian_alert_events_alert_id_fkey to guardian_alerts without workspace_id',
  'guardian_alert_events: unique index guardian_alert_events_pkey without workspace_id',
  'guardian_alerts: foreign key guardian_alerts_rule_id_fkey to guardian_rules without workspace_id',
  'guardian_alerts: unique index guardian_alerts_open_rule without workspace_id',
  'guardian_alerts: unique index guardian_alerts_pkey without workspace_id',
  'guardian_channels: unique index guardian_channels_pkey without workspace_id',
  'guardian_circuit_states: foreign key guardian_circuit_states_provider_id_fkey to email_providers without workspace_id',
  'guardian_circuit_states: unique index guardian_circuit_states_pkey without workspace_id',
  'guardian_deliveries: foreign key guardian_deliveries_alert_event_id_fkey to guardian_alert_events without workspace_id',
  'guardian_deliveries: foreign key guardian_deliveries_alert_id_fkey to guardian_alerts without workspace_id',
  'guardian_deliveries: unique index guardian_deliveries_event_channel without workspace_id',
  'guardian_deliveries: unique index guardian_deliveries_pkey without workspace_id',
  'guardian_delivery_attempts: no workspace_id column',
  'guardian_heartbeats: no workspace_id column',
  'guardian_http_minutes: no workspace_id column',
  'guardian_notification_reads: no workspace_id column',
  'guardian_notifications: foreign key guardian_notifications_alert_id_fkey to guardian_alerts without workspace_id',
  'guardian_notifications: foreign key guardian_notifications_delivery_id_fkey to guardian_deliveries without workspace_id',
  'guardian_notifications: unique index guardian_notifications_delivery_id_key without workspace_id',
  'guardian_notifications: unique index guardian_notifications_pkey without workspace_id',
  'guardian_rollup_watermark: no workspace_id column',
  'guardian_rules: unique index guardian_rules_pkey without workspace_id',
  'guardian_rule_state: no workspace_id column',
  'invitations: unique index invitations_pkey without workspace_id',
  'invitations: unique index invitations_token_hash_key without workspace_id',
  'login_known_devices: no workspace_id column',
  'login_throttle: no workspace_id column',
  'messages: foreign key messages_contact_id_fkey to contacts without workspace_id',
  'messages: foreign key messages_topic_id_fkey to subscription_topics without workspace_id',
  'messages: unique index messages_pkey without workspace_id',
  'segment_members: foreign key segment_members_contact_id_fkey to contacts without workspace_id',
  'segment_members: foreign key segment_members_segment_id_fkey to segments without workspace_id',
  'segment_members: unique index segment_members_pkey without workspace_id',
  'segment_window_checks: foreign key segment_window_checks_contact_id_fkey to contacts without workspace_id',
  'segment_window_checks: foreign key segment_window_checks_segment_id_fkey to segments without workspace_id',
  'segment_window_checks: unique index segment_window_checks_pkey without workspace_id',
  'segments: unique index segments_pkey without workspace_id',
  'send_attempts: foreign key send_attempts_message_id_fkey to messages without workspace_id',
  'send_attempts: unique index send_attempts_pkey without workspace_id',
  'sessions: unique index sessions_pkey without workspace_id',
  // A/B split tests key on (campaign_id, node_id) like the other campaign tables keyed by campaign.
  'split_tests: foreign key split_tests_campaign_id_fkey to campaigns without workspace_id',
  'split_tests: unique index split_tests_pkey without workspace_id',
  'subscription_topics: unique index subscription_topics_pkey without workspace_id',
  'templates: unique index templates_pkey without workspace_id',
  'write_keys: unique index write_keys_hash_key without workspace_id',
  'write_keys: unique index write_keys_pkey without workspace_id',
];

const BLOCKERS = `
WITH tables AS (
  SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT (c.relname = ANY ($1::text[]))
),
ws AS (
  SELECT t.oid, a.attnum FROM tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
)
SELECT t.relname || ': no workspace_id column' AS blocker FROM tables t WHERE t.oid NOT IN (SELECT oid FROM ws)
UNION ALL
SELECT t.relname || ': unique index ' || ic.relname || ' without workspace_id'
  FROM tables t JOIN ws ON ws.oid = t.oid JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE NOT (ws.attnum = ANY (i.indkey::int2[]))
UNION ALL
SELECT t.relname || ': foreign key ' || con.conname || ' to ' || ft.relname || ' without workspace_id'
  FROM tables t JOIN ws ON ws.oid = t.oid JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f' JOIN pg_class ft ON ft.oid = con.confrelid
 WHERE NOT (ws.attnum = ANY (con.conkey)) AND NOT (ft.relname = ANY ($1::text[]))`;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('Citus readiness (sharding by workspace_id)', () => {
  it('has no blocker beyond the committed list, and the list has none that is gone', async () => {
    const found = (await t.db.query<{ blocker: string }>(BLOCKERS, [REFERENCE_TABLES])).rows.map((r) => r.blocker).sort();
    const known = [...NOT_DISTRIBUTABLE_TODAY].sort();
    const added = found.filter((b) => !known.includes(b));
    const gone = known.filter((b) => !found.includes(b));
    expect({ added, gone }).toEqual({ added: [], gone: [] });
  });

  it('finds a blocker when a table keys without workspace_id', async () => {
    await t.db.exec('CREATE TABLE citus_probe (id uuid PRIMARY KEY, workspace_id uuid NOT NULL REFERENCES workspaces(id), contact_id uuid REFERENCES contacts(id))');
    try {
      const found = (await t.db.query<{ blocker: string }>(BLOCKERS, [REFERENCE_TABLES])).rows.map((r) => r.blocker);
      expect(found).toContain('citus_probe: unique index citus_probe_pkey without workspace_id');
      expect(found).toContain('citus_probe: foreign key citus_probe_contact_id_fkey to contacts without workspace_id');
      expect(found.filter((b) => b.startsWith('citus_probe: foreign key citus_probe_workspace_id_fkey'))).toEqual([]);
    } finally {
      await t.db.exec('DROP TABLE citus_probe');
    }
  });
});
