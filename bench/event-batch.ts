/**
 * Event-batch benchmark: what recording a small batch of events costs PostgreSQL, in a workspace
 * where campaigns run — the path of every write that records an event (a tag, an open, a Segment
 * call): the events' insert, their queue row, and the campaign sink's statements (which of the
 * batch's contacts are enrolled, the workspace's goals and active campaigns), in one transaction,
 * on real PostgreSQL in a fresh database that is dropped afterwards.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:event-batch
 *
 * Seeds 20 workspaces × 5,000 contacts; in the measured one, 3 active campaigns (one with a goal)
 * and a third of its contacts enrolled. Then records BENCH_BATCHES (default 5,000) batches of one
 * or two `track` events for enrolled contacts, one at a time on one connection, and prints the
 * PostgreSQL backend's CPU per batch (from /proc), this process's, and the wall time per batch.
 */
import { randomBytes } from 'node:crypto';
import { backendCpuMs, createScratchDatabase, requireDatabaseUrl } from './support.js';
import { loadConfig } from '../src/config.js';
import { recordEvents } from '../src/core/events.js';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createRuntime } from '../src/init.js';
import { createLogger } from '../src/platform/logger.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 5_000);

const definition = (trigger: string, goal?: string) => ({
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'event', name: trigger } },
    { id: 'w', type: 'wait', config: { duration: { amount: 1, unit: 'days' } } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'w' },
    { from: 'w', to: 'x' },
  ],
  ...(goal ? { goal: { kind: 'event', name: goal } } : {}),
});

async function main(): Promise<void> {
  const scratch = await createScratchDatabase(requireDatabaseUrl(), 'uh_bench_events');
  // One connection: the backend measured is the one that ran every statement.
  const db = createPostgresDatabase(scratch.url, 1);
  try {
    await migrate(db);
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: scratch.url, APP_SECRET: randomBytes(32).toString('hex'), PUBLIC_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent', DATA_DIR: '/tmp/uh-bench' });
    const runtime = await createRuntime(config, { db, logger: createLogger('silent') });
    const org = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Bench') RETURNING id`);
    const workspaces = await db.query<{ id: string }>(`INSERT INTO workspaces (organization_id, name) SELECT $1, 'Bench ' || i FROM generate_series(1, 20) AS i RETURNING id`, [org.rows[0]!.id]);
    const workspaceId = workspaces.rows[0]!.id;
    await db.query(
      `INSERT INTO contacts (workspace_id, email) SELECT w.id, 'person' || i || '@example.com' FROM unnest($1::uuid[]) AS w(id), generate_series(1, 5000) AS i`,
      [workspaces.rows.map((w) => w.id)],
    );
    const campaigns = [];
    for (const [name, goal] of [['Welcome', 'purchased'], ['Nurture', undefined], ['Winback', undefined]] as const) {
      const d = JSON.stringify(definition(`started_${name.toLowerCase()}`, goal));
      const c = await db.query<{ id: string }>(`INSERT INTO campaigns (workspace_id, name, status, draft_definition, current_version) VALUES ($1, $2, 'active', $3, 1) RETURNING id`, [workspaceId, name, d]);
      await db.query(`INSERT INTO campaign_versions (workspace_id, campaign_id, version, definition, goal_event) VALUES ($1, $2, 1, $3, $4)`, [workspaceId, c.rows[0]!.id, d, goal ?? null]);
      campaigns.push(c.rows[0]!.id);
    }
    const enrolled = await db.query<{ contact_id: string }>(
      `INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, enrolled_at, updated_at)
       SELECT $1, $2, 1, c.id, 'w', now() + interval '1 day', now(), now()
         FROM (SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY id LIMIT 1700) c
       RETURNING contact_id`,
      [workspaceId, campaigns[0]],
    );
    await db.query('ANALYZE');
    const contactIds = enrolled.rows.map((r) => r.contact_id);
    const batch = (i: number) =>
      contactIds.slice(i % 1000, (i % 1000) + 1 + (i % 2)).map((contactId) => ({ contactId, type: 'track' as const, name: 'viewed_page', properties: { page: `/p/${i}` } }));
    // Warm-up: the statements named and their plans settled.
    for (let i = 0; i < 50; i += 1) await db.transaction((tx) => recordEvents(tx, runtime.deps.eventSink, workspaceId, batch(i), new Date()));

    const pg0 = await backendCpuMs(db);
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < BATCHES; i += 1) await db.transaction((tx) => recordEvents(tx, runtime.deps.eventSink, workspaceId, batch(i), new Date()));
    const wallUs = ((performance.now() - started) * 1000) / BATCHES;
    const cpu = process.cpuUsage(cpu0);
    const pg1 = await backendCpuMs(db);
    await runtime.close();
    console.log(`${BATCHES} batches of 1–2 events, one connection; ${contactIds.length} of the workspace's 5,000 contacts enrolled, 3 active campaigns`);
    if (pg0 !== null && pg1 !== null) console.log(`BENCH event_batch_pg_cpu_us ${(((pg1 - pg0) * 1000) / BATCHES).toFixed(0)} us`);
    console.log(`BENCH event_batch_node_cpu_us ${((cpu.user + cpu.system) / BATCHES).toFixed(0)} us`);
    console.log(`BENCH event_batch_wall_us ${wallUs.toFixed(0)} us`);
  } finally {
    await db.close().catch(() => undefined);
    await scratch.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
