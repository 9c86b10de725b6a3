/**
 * Analytics benchmark on real PostgreSQL (DATABASE_URL, required): a database of its own with
 * BENCH_CONTACTS contacts (default 1,000,000; or --contacts=N) and ten events per contact
 * (BENCH_EVENTS, default 10,000,000; or --events=N), made by generate_series SQL in the real
 * tables: 20 campaigns with an A/B split (half the contacts in one campaign), one enrollment, 3–5
 * journey steps and one email per contact, and sent, delivered, opened (a fifth by machines, some
 * twice), clicked, replied, bounced, complained, unsubscribed and page view events over 90 days.
 * A bulk load: foreign-key checks off, the loaded tables' indexes (the events' primary key
 * included; not those the triggers look rows up by) built once after their rows, big statements
 * on BENCH_SEED_PARALLEL (2) seeding connections with more work_mem and asynchronous commit.
 * What the analytics triggers (migrations 109, 122) write comes either from the triggers
 * themselves (`--load=triggers`) or, by default (`--load=bulk`), from the same computation done
 * set-based afterwards (analytics-bulk.ts: one ledger row per key, minutes instead of an hour at
 * full scale); `--check` loads through the triggers and compares the two, row for row.
 * `--keep` keeps the database for profiling (drop it by hand).
 * Then, with the folder running:
 *   BENCH dashboard_p99_ms            GET /api/analytics/dashboard's work (30-day range)
 *   BENCH campaign_report_p99_ms      the report of the biggest campaign
 *   BENCH campaign_list_p99_ms        the campaign list's statistics
 *   BENCH analytics_freshness_p99_ms  an open event committed → counted by the dashboard's read
 *   BENCH raw_events_per_day_ms       for comparison: the same per-day counts straight from events
 *   BENCH analytics_trigger_us_per_event  what the triggers add to an insert of events (on/off alternated)
 * and the PostgreSQL backend CPU per request. The database is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { campaignReport } from '../src/analytics/campaign-report.js';
import { campaignStats } from '../src/analytics/campaign-stats.js';
import { dashboard } from '../src/analytics/overview.js';
import { createAnalyticsFolder, foldAnalytics, readCounts } from '../src/analytics/rollup.js';
import { recordEvents, type EventSink } from '../src/core/events.js';
import { createPostgresDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createLogger } from '../src/platform/logger.js';
import { bulkAnalytics } from './analytics-bulk.js';
import { backendCpuMs, percentile, requireDatabaseUrl } from './support.js';

/** `--name=value` from the command line, else the environment variable, else the default. */
function setting(arg: string, env: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${arg}=`))?.split('=')[1] ?? process.env[env];
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${arg} / ${env} must be a positive whole number, not ${given}`);
  return value;
}
const CONTACTS = setting('contacts', 'BENCH_CONTACTS', 1_000_000);
const EVENTS = setting('events', 'BENCH_EVENTS', CONTACTS * 10);
const RUNS = setting('runs', 'BENCH_RUNS', 40);
const CHUNK = 250_000;
/** Contacts per events statement (ten events each): big statements, few repeats in the ledger. */
const EVENT_CHUNK = 125_000;
/** bulk: rows with the triggers off, then the triggers' writes set-based (analytics-bulk.ts); triggers: through them. */
const LOAD = process.argv.find((a) => a.startsWith('--load='))?.split('=')[1] ?? process.env.BENCH_LOAD ?? 'bulk';
if (LOAD !== 'bulk' && LOAD !== 'triggers') throw new Error('--load is bulk or triggers');
/** --check: load through the triggers, then compare the bulk computation with what they wrote, and stop. */
const CHECK = process.argv.includes('--check');
/** Load statements at a time (each on its own connection). */
const SEED_PARALLEL = setting('seed-parallel', 'BENCH_SEED_PARALLEL', 2);
const CAMPAIGNS = 20;
const DAY = 86_400_000;

const adminUrl = requireDatabaseUrl();
const name = `analytics_bench_${randomBytes(4).toString('hex')}`;
const noSink: EventSink = { onEvents: async () => undefined };

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  log(`  ${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** Runs `sql` over g = 1..total in chunks (parameters: $1 workspace, $2 first g, $3 last g, $4 now). */
/**
 * Runs `sql` over g = 1..total in chunks, SEED_PARALLEL statements at a time (parameters: $1
 * workspace, $2 first g, $3 last g, $4 now, then `extra`). Chunks touch disjoint contacts,
 * enrollments and messages, and the analytics ledger is append-only, so they do not wait on each other.
 */
async function chunked(db: Database, label: string, total: number, sql: string, workspaceId: string, now: Date, chunk = CHUNK, extra: unknown[] = []): Promise<void> {
  await timed(label, async () => {
    const firsts: number[] = [];
    for (let first = 1; first <= total; first += chunk) firsts.push(first);
    const worker = async () => {
      for (let first = firsts.shift(); first !== undefined; first = firsts.shift()) await db.query(sql, [workspaceId, first, Math.min(total, first + chunk - 1), now, ...extra]);
    };
    await Promise.all(Array.from({ length: SEED_PARALLEL }, worker));
  });
}

const definition = {
  entryNodeId: 'start',
  nodes: [
    { id: 'start', type: 'trigger', config: { kind: 'manual' } },
    { id: 'ab', type: 'split', config: { variants: [{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }] } },
    { id: 'mailA', type: 'email', config: { subject: 'Offer A', html: '<p>A</p>' } },
    { id: 'mailB', type: 'email', config: { subject: 'Offer B', html: '<p>B</p>' } },
    { id: 'wait', type: 'wait', config: { kind: 'duration', seconds: 3 * 86_400 } },
    { id: 'end', type: 'exit', config: {} },
  ],
  edges: [
    { from: 'start', to: 'ab' },
    { from: 'ab', to: 'mailA', handle: 'a' },
    { from: 'ab', to: 'mailB', handle: 'b' },
    { from: 'mailA', to: 'wait' },
    { from: 'mailB', to: 'wait' },
    { from: 'wait', to: 'end' },
  ],
  settings: { goal: { eventName: 'purchased' } },
};

// Deterministic ids per g, so every table is generated without joins.
const contactId = (g: string) => `md5('c' || ${g})::uuid`;
const enrollmentId = (g: string) => `md5('e' || ${g})::uuid`;
const messageId = (g: string) => `md5('m' || ${g})::uuid`;
// Half the contacts in campaign 0, the rest spread over the other 19.
const campaignOf = (g: string) => `(CASE WHEN ${g} % 2 = 0 THEN 0 ELSE 1 + ${g} % ${CAMPAIGNS - 1} END)`;
const variantOf = (g: string) => `(CASE WHEN (${g} / 2) % 2 = 0 THEN 'a' ELSE 'b' END)`;
// Enrolled within the last 60 days; ~10 % still waiting, ~4 % converted.
const enrolledAt = (g: string) => `($4::timestamptz - make_interval(secs => (${g} * 7919 % (60 * 86400))))`;

async function generate(db: Database, workspaceId: string, campaignIds: string[], now: Date): Promise<void> {
  const ids = `(SELECT id FROM unnest($5::uuid[]) WITH ORDINALITY AS c(id, n) WHERE n - 1 = ${campaignOf('g')})`;
  const withCampaigns = (label: string, total: number, sql: string) => chunked(db, label, total, sql, workspaceId, now, CHUNK, [campaignIds]);

  await chunked(db, 'contacts', CONTACTS, `INSERT INTO contacts (id, workspace_id, email, first_name, score, created_at, updated_at)
     SELECT ${contactId('g')}, $1, 'c' || g || '@bench.test', 'Contact ' || g, (g * 37) % 101, $4::timestamptz - make_interval(secs => (g * 104729 % (365 * 86400))), $4
       FROM generate_series($2::bigint, $3::bigint) g`, workspaceId, now);
  await withCampaigns('enrollments', CONTACTS, `INSERT INTO enrollments (id, workspace_id, campaign_id, version, contact_id, status, current_node_id, next_run_at, exit_reason, enrolled_at, finished_at, updated_at)
     SELECT ${enrollmentId('g')}, $1, ${ids}, 1, ${contactId('g')},
            CASE WHEN g % 10 = 0 THEN 'active' WHEN g % 25 = 1 THEN 'exited' ELSE 'completed' END,
            CASE WHEN g % 10 = 0 OR g % 25 = 1 THEN 'wait' ELSE 'end' END,
            ${enrolledAt('g')} + interval '3 days', CASE WHEN g % 25 = 1 THEN 'goal' END, ${enrolledAt('g')},
            CASE WHEN g % 10 <> 0 THEN ${enrolledAt('g')} + interval '1 day' END, $4
       FROM generate_series($2::bigint, $3::bigint) g`);
  await withCampaigns('journey steps', CONTACTS, `INSERT INTO enrollment_steps (workspace_id, campaign_id, enrollment_id, node_id, outcome, handle, detail, at)
     SELECT $1, ${ids}, ${enrollmentId('g')}, s.node, s.outcome, s.handle, s.detail, ${enrolledAt('g')} + s.after
       FROM generate_series($2::bigint, $3::bigint) g
      CROSS JOIN LATERAL (VALUES
        ('start', 'completed', 'next', '{}'::jsonb, interval '0'),
        ('ab', 'completed', ${variantOf('g')}, jsonb_build_object('variant', ${variantOf('g')}), interval '0'),
        ('mail' || upper(${variantOf('g')}), 'completed', 'next', '{}'::jsonb, interval '0'),
        (CASE WHEN g % 25 = 1 THEN 'wait' END, 'skipped', NULL, '{"goal": "purchased"}'::jsonb, interval '1 day'),
        (CASE WHEN g % 10 <> 0 AND g % 25 <> 1 THEN 'wait' END, 'completed', 'next', '{}'::jsonb, interval '3 days'),
        (CASE WHEN g % 10 <> 0 AND g % 25 <> 1 THEN 'end' END, 'completed', NULL, '{}'::jsonb, interval '3 days')
      ) AS s(node, outcome, handle, detail, after)
      WHERE s.node IS NOT NULL`);
  await withCampaigns('messages', CONTACTS, `INSERT INTO messages (id, workspace_id, contact_id, idempotency_key, source_type, source_id, from_address, to_address, subject, html, text_body, status, attempts, created_at, sent_at, provider)
     SELECT ${messageId('g')}, $1, ${contactId('g')}, 'enrollment:' || ${enrollmentId('g')} || ':node:mail' || upper(${variantOf('g')}), 'campaign', ${ids}::text,
            'news@bench.test', 'c' || g || '@bench.test', 'Offer', '<p>Offer</p>', 'Offer', 'sent', 1, ${enrolledAt('g')}, ${enrolledAt('g')} + interval '1 minute', 'dev'
       FROM generate_series($2::bigint, $3::bigint) g`);

  // The triggers of the events join messages, enrollments and journey rows: planned with their sizes.
  await timed('analyze before the events', () => db.exec('ANALYZE contacts, enrollments, enrollment_steps, messages, analytics_split_members'));
  // Ten events per contact: created, sent, delivered, opens (some by machines, some twice),
  // clicks, replies, bounces, complaints, unsubscribes; page views make up the rest.
  const perContact = EVENTS / CONTACTS;
  const views = Math.max(0, Math.round(perContact - 3.9));
  await chunked(db, `events (${EVENTS.toLocaleString('en')})`, CONTACTS, `INSERT INTO events (workspace_id, contact_id, type, name, properties, occurred_at, received_at)
     SELECT $1::uuid, ${contactId('g')}, e.type, e.name, e.props, e.at, e.at
       FROM generate_series($2::bigint, $3::bigint) g
      CROSS JOIN LATERAL (VALUES
        ('system', 'contact_created', '{}'::jsonb, $4::timestamptz - make_interval(secs => (g * 104729 % (365 * 86400)))),
        ('email', 'sent', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '1 minute'),
        (CASE WHEN g % 10 <> 3 THEN 'email' END, 'delivered', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '2 minutes'),
        (CASE WHEN g % 5 = 0 THEN 'email' END, 'opened', jsonb_build_object('messageId', ${messageId('g')}, 'machineOpen', true), ${enrolledAt('g')} + interval '3 minutes'),
        (CASE WHEN g % 5 IN (1, 2) THEN 'email' END, 'opened', jsonb_build_object('messageId', ${messageId('g')}, 'machineOpen', false), ${enrolledAt('g')} + interval '2 hours'),
        (CASE WHEN g % 5 = 1 THEN 'email' END, 'opened', jsonb_build_object('messageId', ${messageId('g')}, 'machineOpen', false), ${enrolledAt('g')} + interval '20 hours'),
        (CASE WHEN g % 12 = 1 THEN 'email' END, 'clicked', jsonb_build_object('messageId', ${messageId('g')}, 'machineOpen', false), ${enrolledAt('g')} + interval '2 hours 5 minutes'),
        (CASE WHEN g % 97 = 2 THEN 'email' END, 'replied', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '5 hours'),
        (CASE WHEN g % 10 = 3 THEN 'email' END, 'bounced', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '2 minutes'),
        (CASE WHEN g % 997 = 4 THEN 'email' END, 'complained', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '1 day'),
        (CASE WHEN g % 199 = 5 THEN 'email' END, 'unsubscribed', jsonb_build_object('messageId', ${messageId('g')}), ${enrolledAt('g')} + interval '1 day')
      ) AS e(type, name, props, at)
      WHERE e.type IS NOT NULL
     UNION ALL
     SELECT $1::uuid, ${contactId('g')}, 'track', 'page_viewed', '{}'::jsonb, $4::timestamptz - make_interval(secs => ((g * 31 + v * 7907) * 7919 % (90 * 86400))), $4
       FROM generate_series($2::bigint, $3::bigint) g, generate_series(1, ${views}) v`, workspaceId, now, EVENT_CHUNK);
}

async function measure(label: string, runs: number, db: Database, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 3; i++) await fn();
  const cpuBefore = await backendCpuMs(db);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  const cpuAfter = await backendCpuMs(db);
  times.sort((a, b) => a - b);
  const cpu = cpuBefore !== null && cpuAfter !== null ? ` postgres_cpu_ms_per_request=${((cpuAfter - cpuBefore) / runs).toFixed(1)}` : '';
  log(`BENCH ${label}_p99_ms ${percentile(times, 99).toFixed(1)}  (p50 ${percentile(times, 50).toFixed(1)}, runs ${runs}${cpu})`);
}

/** What the triggers wrote (the ledger summed per key, the A/B members, the claims) against the bulk computation. */
async function checkBulk(db: Database): Promise<void> {
  const keys = 'workspace_id, bucket, campaign_id, version, node_id, split_node_id, variant, metric';
  await db.exec(`CREATE TABLE check_ledger AS SELECT ${keys}, sum(n) AS n FROM analytics_delta GROUP BY ${keys};
                 CREATE TABLE check_members AS SELECT * FROM analytics_split_members;
                 CREATE TABLE check_firsts AS SELECT * FROM analytics_message_firsts;
                 TRUNCATE analytics_delta, analytics_split_members, analytics_message_firsts`);
  await bulkAnalytics(db, timed);
  const diff = async (label: string, a: string, b: string) => {
    const { rows } = await db.query<{ n: string }>(`SELECT (SELECT count(*) FROM (${a} EXCEPT ALL ${b}) x) + (SELECT count(*) FROM (${b} EXCEPT ALL ${a}) y) AS n`);
    const total = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${a}) x`);
    log(`  ${label}: ${Number(total.rows[0]!.n).toLocaleString('en')} rows through the triggers, ${rows[0]!.n} differ`);
    return Number(rows[0]!.n);
  };
  const differ =
    (await diff('ledger (summed per key)', `SELECT * FROM check_ledger`, `SELECT ${keys}, sum(n) AS n FROM analytics_delta GROUP BY ${keys}`)) +
    (await diff('A/B members', 'SELECT * FROM check_members', 'SELECT * FROM analytics_split_members')) +
    (await diff('once-per-email claims', 'SELECT * FROM check_firsts', 'SELECT * FROM analytics_message_firsts'));
  log(`BENCH bulk_load_matches_triggers ${differ === 0 ? 'yes' : 'no'}  (${differ} rows differ)`);
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createPostgresDatabase(url.toString(), 6);
  // The load's own connection: per-session settings only (the server's configuration is untouched).
  url.searchParams.set('options', `-c synchronous_commit=off -c work_mem=256MB -c maintenance_work_mem=512MB${process.env.BENCH_SEED_OPTIONS ? ` ${process.env.BENCH_SEED_OPTIONS}` : ''}`);
  const seed = createPostgresDatabase(url.toString(), SEED_PARALLEL);
  const folder = createAnalyticsFolder({ db, logger: createLogger('warn') }, 1000);
  try {
    log(`analytics bench: ${CONTACTS.toLocaleString('en')} contacts, ${EVENTS.toLocaleString('en')} events; ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    await migrate(db);
    const now = new Date();
    const ws = await db.query<{ id: string }>(
      `WITH o AS (INSERT INTO organizations (name) VALUES ('Bench') RETURNING id)
       INSERT INTO workspaces (organization_id, name, settings) SELECT id, 'Bench', '{"timeZone": "America/New_York"}' FROM o RETURNING id`,
    );
    const workspaceId = ws.rows[0]!.id;
    const campaignIds: string[] = [];
    for (let i = 0; i < CAMPAIGNS; i++) {
      const c = await db.query<{ id: string }>(
        `INSERT INTO campaigns (workspace_id, name, status, draft_definition, current_version, created_at, updated_at) VALUES ($1, $2, 'active', $3, 1, $4, $4) RETURNING id`,
        [workspaceId, `Campaign ${i}`, JSON.stringify(definition), now],
      );
      await db.query(`INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition, published_at, goal_event) VALUES ($1, $2, 1, $3, $4, 'purchased')`, [workspaceId, c.rows[0]!.id, JSON.stringify(definition), now]);
      campaignIds.push(c.rows[0]!.id);
    }
    // A bulk load of rows consistent by construction: the foreign-key checks (system triggers) are
    // off meanwhile, the analytics triggers stay on — the numbers come through the real path.
    const tables = ['contacts', 'enrollments', 'enrollment_steps', 'messages', 'events'];
    const analyticsTriggers: Record<string, string[]> = {
      contacts: ['analytics_contacts_inserted'],
      enrollments: ['analytics_enrollments_inserted'],
      enrollment_steps: ['analytics_steps_inserted', 'analytics_ab_steps_inserted'],
      messages: [],
      events: ['analytics_events_inserted', 'analytics_ab_events_inserted'],
    };
    const viaTriggers = LOAD === 'triggers' || CHECK;
    for (const table of tables) {
      await db.exec(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
      if (viaTriggers) for (const trigger of analyticsTriggers[table]!) await db.exec(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
    }
    // The loaded tables' indexes are built after their rows, each in one sort, except what the
    // analytics triggers look rows up by (and the primary keys other tables' foreign keys need).
    const keep = ['contacts_pkey', 'enrollments_pkey', 'enrollment_steps_pkey', 'enrollment_steps_enrollment_idx', 'messages_pkey'];
    const indexes = await db.query<{ name: string; tablename: string; def: string; constraint: string | null; constraintdef: string | null }>(
      `SELECT i.indexname AS name, i.tablename, i.indexdef AS def, c.conname AS constraint, pg_get_constraintdef(c.oid) AS constraintdef
         FROM pg_indexes i
         LEFT JOIN pg_constraint c ON c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
        WHERE i.tablename = ANY($1::text[]) AND i.schemaname = current_schema() AND NOT i.indexname = ANY($2::text[])`,
      [tables, keep],
    );
    for (const index of indexes.rows) await db.exec(index.constraint ? `ALTER TABLE ${index.tablename} DROP CONSTRAINT ${index.constraint}` : `DROP INDEX ${index.name}`);
    // analytics_split_members' foreign key is checked row by row: off during the load too.
    await db.exec('ALTER TABLE analytics_split_members DISABLE TRIGGER ALL');
    const seedStart = performance.now();
    await timed(viaTriggers ? 'generate (through the analytics triggers)' : 'generate (triggers off)', () => generate(seed, workspaceId, campaignIds, now));
    if (CHECK) {
      await checkBulk(seed);
      return;
    }
    if (!viaTriggers) await bulkAnalytics(seed, timed);
    await timed(`build ${indexes.rows.length} indexes`, async () => {
      for (const index of indexes.rows) await seed.exec(index.constraint ? `ALTER TABLE ${index.tablename} ADD CONSTRAINT ${index.constraint} ${index.constraintdef}` : index.def);
    });
    await db.exec('ALTER TABLE analytics_split_members ENABLE TRIGGER ALL');
    for (const table of tables) await db.exec(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
    const pending = await db.query<{ n: string }>('SELECT count(*) AS n FROM analytics_delta');
    // The backfill's ledger in one fold (the worker folds 50,000 rows at a time; one statement
    // aggregates the history's repeats across the load's statements first).
    await timed(`fold ${Number(pending.rows[0]!.n).toLocaleString('en')} ledger rows`, async () => {
      while ((await foldAnalytics(seed, 100_000_000)) > 0);
    });
    // What autovacuum would have done to the tables the reads use — the ledger above all: every
    // read scans it, and the one huge fold leaves its index full of dead entries (the folder's
    // usual second-by-second folds leave a handful) — ; the events (read by no report) get their statistics.
    await timed('vacuum analyze (events: analyze)', async () => {
      await seed.exec('VACUUM ANALYZE analytics_delta, contacts, enrollments, enrollment_steps, messages, analytics_counts, analytics_days, analytics_totals, analytics_split_members, analytics_message_firsts');
      await seed.exec('ANALYZE events');
    });
    log(`BENCH analytics_seed_s ${((performance.now() - seedStart) / 1000).toFixed(0)}  (${viaTriggers ? 'generate through the triggers' : 'generate, the triggers\' writes set-based'}, index builds, fold, vacuum)`);
    const sizes = await db.query<{ events: string; counts: string; totals: string }>(
      `SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM analytics_counts) AS counts, (SELECT count(*) FROM analytics_totals) AS totals`,
    );
    log(`  rows: events ${Number(sizes.rows[0]!.events).toLocaleString('en')}, analytics_counts ${Number(sizes.rows[0]!.counts).toLocaleString('en')}, analytics_totals ${sizes.rows[0]!.totals}`);

    folder.start();
    await measure('dashboard', RUNS, db, () => dashboard(db, workspaceId, {}, now));
    await measure('campaign_report', RUNS, db, () => campaignReport(db, workspaceId, campaignIds[0]!, {}, now));
    await measure('campaign_list', RUNS, db, () => campaignStats(db, workspaceId, now));

    // Freshness: an open of a not-yet-opened email, committed; then the dashboard's read of today
    // polled until it counts it. The folder runs meanwhile, as in production.
    const from = new Date(now.getTime() - DAY);
    const to = new Date(now.getTime() + DAY);
    const openedToday = async () =>
      (await readCounts(db, workspaceId, { level: { kind: 'workspace' }, from, to, timeZone: 'UTC', by: [], metrics: ['opened'] })).reduce((n, r) => n + r.n, 0);
    const fresh: number[] = [];
    const candidates = await db.query<{ id: string; contact_id: string }>(
      `SELECT id, contact_id FROM messages m WHERE workspace_id = $1 AND NOT EXISTS (SELECT 1 FROM analytics_message_firsts f WHERE f.workspace_id = m.workspace_id AND f.message_id = m.id AND f.metric = 'opened') LIMIT $2`,
      [workspaceId, RUNS],
    );
    for (const m of candidates.rows) {
      const before = await openedToday();
      const occurredAt = new Date();
      await db.transaction((tx) => recordEvents(tx, noSink, workspaceId, [{ contactId: m.contact_id, type: 'email', name: 'opened', properties: { messageId: m.id, machineOpen: false } }], occurredAt));
      const committed = performance.now();
      while ((await openedToday()) <= before) await new Promise((r) => setTimeout(r, 5));
      fresh.push(performance.now() - committed);
    }
    fresh.sort((a, b) => a - b);
    log(`BENCH analytics_freshness_p99_ms ${percentile(fresh, 99).toFixed(1)}  (p50 ${percentile(fresh, 50).toFixed(1)}, runs ${fresh.length}; stored at commit, counted by the next read)`);

    // For comparison: what the dashboard's per-day series costs read straight from events.
    const start = performance.now();
    await db.query(
      `SELECT to_char(occurred_at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD') AS day, name, count(*) FROM events
        WHERE workspace_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2`,
      [workspaceId, new Date(now.getTime() - 30 * DAY), now],
    );
    log(`BENCH raw_events_per_day_ms ${(performance.now() - start).toFixed(1)}  (30 days of events counted per day and name from the events table, one run)`);
    // What the analytics triggers cost a writer: the same 20,000 events (page views and opens of
    // existing emails) inserted with the triggers on and off, alternated, three times each.
    const perEvent: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let round = 0; round < 6; round++) {
      const mode = round % 2 === 0 ? 'on' : 'off';
      if (mode === 'off') await db.exec('ALTER TABLE events DISABLE TRIGGER analytics_events_inserted, DISABLE TRIGGER analytics_ab_events_inserted');
      const start = performance.now();
      await db.query(
        `INSERT INTO events (workspace_id, contact_id, type, name, properties, occurred_at)
         SELECT $1, md5('c' || g)::uuid, CASE WHEN g % 2 = 0 THEN 'email' ELSE 'track' END, CASE WHEN g % 2 = 0 THEN 'opened' ELSE 'page_viewed' END,
                CASE WHEN g % 2 = 0 THEN jsonb_build_object('messageId', md5('m' || g)::uuid, 'machineOpen', false) ELSE '{}'::jsonb END, $2
           FROM generate_series($3::bigint, $3::bigint + 19999) g`,
        [workspaceId, new Date(), 1 + round * 20_000],
      );
      perEvent[mode].push(((performance.now() - start) * 1000) / 20_000);
      if (mode === 'off') await db.exec('ALTER TABLE events ENABLE TRIGGER analytics_events_inserted, ENABLE TRIGGER analytics_ab_events_inserted');
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    log(`BENCH analytics_trigger_us_per_event ${(avg(perEvent.on) - avg(perEvent.off)).toFixed(1)}  (insert of 20,000 events, half opens: ${avg(perEvent.on).toFixed(1)} µs/event with the triggers, ${avg(perEvent.off).toFixed(1)} without; rounds on ${perEvent.on.map((x) => x.toFixed(0)).join('/')}, off ${perEvent.off.map((x) => x.toFixed(0)).join('/')})`);
    log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await folder.stop();
    await seed.close();
    await db.close();
    if (process.argv.includes('--keep')) log(`kept database ${name} (--keep): drop it when done`);
    else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
