/**
 * Campaign engine benchmark on real PostgreSQL (DATABASE_URL, required). In a fresh database:
 * 1. a raw baseline: N enrollment rows advanced by batched `UPDATE … FROM unnest` (500 per statement);
 * 2. N enrollments through trigger → action(tag) → condition → wait(0) → exit with one worker
 *    process, then again with two — node executions per second;
 * 3. event-to-step latency: 1,000 events/s through the event sink, p50/p99 from event stored to
 *    the enrollment's first step; 4. the worker's peak RSS.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPostgresDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { recordEvents } from '../src/core/events.js';
import { createCampaignEventSink } from '../src/campaigns/sink.js';
import { systemClock } from '../src/platform/clock.js';
import { SYSTEM_ACTOR } from '../src/identity/audit.js';
import { createCampaign, publishCampaign } from '../src/campaigns/campaigns.js';
import { startServerWorker, type WorkerProcess } from '../test/worker-process.js';

const N = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const LATENCY_EVENTS = 5000;
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('DATABASE_URL is required (postgres://…)\n');
  process.exit(78);
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** The real server in the worker role (test/worker-process.ts) with the benchmark's batch size. */
function startWorker(url: string): Promise<WorkerProcess> {
  return startServerWorker(url, { ENGINE_BATCH_SIZE: String(BATCH), WORKER_POLL_MS: '200', DATA_DIR: path.join(os.tmpdir(), 'uh-bench-engine') });
}

async function waitUntil(db: Database, campaignId: string): Promise<void> {
  for (;;) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'active'`, [campaignId]);
    if (r.rows[0]!.n === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

const throughputDefinition = {
  entryNodeId: 't',
  nodes: [
    { id: 't', type: 'trigger', config: { kind: 'manual' } },
    { id: 'tag', type: 'action', config: { kind: 'tag_add', tag: 'bench' } },
    { id: 'c', type: 'condition', config: { branches: [{ id: 'tagged', match: { operator: 'and', rules: [{ kind: 'tag', tag: 'bench', present: true }, { kind: 'score', op: 'gte', value: 0 }] } }] } },
    { id: 'w', type: 'wait', config: { kind: 'duration', seconds: 0 } },
    { id: 'x', type: 'exit', config: {} },
  ],
  edges: [
    { from: 't', to: 'tag' },
    { from: 'tag', to: 'c' },
    { from: 'c', to: 'w', handle: 'tagged' },
    { from: 'c', to: 'x', handle: 'default' },
    { from: 'w', to: 'x' },
  ],
};

async function main(): Promise<void> {
  const name = `uh_bench_engine_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl!, name);
  const db = createPostgresDatabase(url, 8);
  try {
    await migrate(db);
    const ws = await db.query<{ id: string }>(`WITH o AS (INSERT INTO organizations (name) VALUES ('Bench') RETURNING id) INSERT INTO workspaces (organization_id, name) SELECT id, 'Bench' FROM o RETURNING id`);
    const workspaceId = ws.rows[0]!.id;
    await db.query(`INSERT INTO contacts (workspace_id, email, first_name) SELECT $1, 'c' || i || '@bench.test', 'C' || i FROM generate_series(1, $2::int) AS i`, [workspaceId, N * 2]);
    const contactIds = (await db.query<{ id: string }>('SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY email', [workspaceId])).rows.map((r) => r.id);
    console.log(`setup: ${N * 2} contacts`);

    // 1. Baseline: the same number of row updates, batched 500 per statement, on enrollment-shaped rows.
    await db.query(`CREATE TABLE bench_rows (id uuid PRIMARY KEY, status text NOT NULL, node text NOT NULL, next_run_at timestamptz NOT NULL, attempts int NOT NULL)`);
    await db.query(`INSERT INTO bench_rows SELECT gen_random_uuid(), 'active', 't', now(), 0 FROM generate_series(1, $1::int)`, [N]);
    await db.query('VACUUM ANALYZE bench_rows');
    const rowIds = (await db.query<{ id: string }>('SELECT id FROM bench_rows')).rows.map((r) => r.id);
    let started = performance.now();
    for (let i = 0; i < rowIds.length; i += 500) {
      const ids = rowIds.slice(i, i + 500);
      await db.query(
        `UPDATE bench_rows b SET status = u.status, node = u.node, next_run_at = u.next_run_at, attempts = u.attempts
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int[]) AS u(id, status, node, next_run_at, attempts) WHERE b.id = u.id`,
        [ids, ids.map(() => 'completed'), ids.map(() => 'x'), ids.map(() => new Date()), ids.map(() => 0)],
      );
    }
    const baselineRowsPerS = N / ((performance.now() - started) / 1000);
    console.log(`baseline: ${Math.round(baselineRowsPerS)} batched row updates/s`);

    const runThroughput = async (workers: number, contacts: string[]): Promise<{ stepsPerS: number; peakRss: number }> => {
      const campaign = await createCampaign({ db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, `throughput ${workers}`, throughputDefinition);
      await publishCampaign({ db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, campaign.id);
      await db.query('UPDATE campaigns SET status = $2 WHERE id = $1', [campaign.id, 'paused']);
      await db.query(
        `INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, enrolled_at, updated_at)
         SELECT $1, $2, 1, c, 't', now(), now(), now() FROM unnest($3::uuid[]) AS c`,
        [workspaceId, campaign.id, contacts],
      );
      // As autovacuum would after a bulk load: fresh statistics and a clean due index.
      await db.query('VACUUM ANALYZE enrollments');
      await db.query('VACUUM ANALYZE contacts');
      const procs = await Promise.all(Array.from({ length: workers }, () => startWorker(url)));
      await db.query('UPDATE campaigns SET status = $2 WHERE id = $1', [campaign.id, 'active']);
      await db.query(`SELECT pg_notify('campaign_enrollments_due', $1)`, [campaign.id]);
      started = performance.now();
      await waitUntil(db, campaign.id);
      const seconds = (performance.now() - started) / 1000;
      const rss = await Promise.all(procs.map((p) => p.stop()));
      const steps = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1', [campaign.id])).rows[0]!.n;
      const done = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'completed'`, [campaign.id])).rows[0]!.n;
      if (done !== contacts.length) throw new Error(`only ${done} of ${contacts.length} enrollments completed`);
      return { stepsPerS: steps / seconds, peakRss: Math.max(...rss) };
    };

    const one = await runThroughput(1, contactIds.slice(0, N));
    console.log(`one worker: ${Math.round(one.stepsPerS)} node executions/s (${N} enrollments × 5 nodes), peak RSS ${one.peakRss} MB`);
    const two = await runThroughput(2, contactIds.slice(N, 2 * N));
    console.log(`two workers: ${Math.round(two.stepsPerS)} node executions/s`);

    // 3. Latency: an event-triggered campaign fed at 1,000 events/s through the event sink.
    const latency = await createCampaign(
      { db, clock: systemClock },
      workspaceId,
      SYSTEM_ACTOR,
      'latency',
      {
        entryNodeId: 't',
        nodes: [
          { id: 't', type: 'trigger', config: { kind: 'event', name: 'bench_ping' } },
          { id: 'x', type: 'exit', config: {} },
        ],
        edges: [{ from: 't', to: 'x' }],
        settings: { reentry: { mode: 'always' } },
      },
    );
    await publishCampaign({ db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, latency.id);
    await db.query('VACUUM ANALYZE enrollments');
    await db.query('VACUUM ANALYZE enrollment_steps');
    const worker = await startWorker(url);
    const sink = createCampaignEventSink({ clock: systemClock });
    const perTick = 50;
    const tickMs = 50;
    const inFlight: Array<Promise<unknown>> = [];
    const begin = performance.now();
    for (let sent = 0; sent < LATENCY_EVENTS; sent += perTick) {
      const due = begin + (sent / perTick) * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const batch = contactIds.slice(sent, sent + perTick).map((contactId) => ({ contactId, type: 'track' as const, name: 'bench_ping' }));
      // Ticks are not awaited one by one: producers run concurrently, as ingestion does.
      inFlight.push(db.transaction((tx) => recordEvents(tx, sink, workspaceId, batch, new Date())));
    }
    await Promise.all(inFlight);
    const rate = LATENCY_EVENTS / ((performance.now() - begin) / 1000);
    await waitUntil(db, latency.id);
    const peakLatencyRss = await worker.stop();
    const lat = await db.query<{ p50: number; p99: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
         FROM (SELECT EXTRACT(EPOCH FROM (s.at - e.enrolled_at)) * 1000 AS ms
                 FROM enrollments e JOIN enrollment_steps s ON s.enrollment_id = e.id AND s.node_id = 't'
                WHERE e.campaign_id = $1) x`,
      [latency.id],
    );
    console.log(`latency at ${Math.round(rate)} events/s: p50 ${lat.rows[0]!.p50.toFixed(1)} ms, p99 ${lat.rows[0]!.p99.toFixed(1)} ms`);

    console.log(`BENCH engine_raw_row_updates_per_s ${Math.round(baselineRowsPerS)} rows/s`);
    console.log(`BENCH engine_steps_per_s ${Math.round(one.stepsPerS)} steps/s`);
    console.log(`BENCH engine_steps_per_s_two_workers ${Math.round(two.stepsPerS)} steps/s`);
    console.log(`BENCH event_to_step_p50_ms ${lat.rows[0]!.p50.toFixed(1)} ms`);
    console.log(`BENCH event_to_step_p99_ms ${lat.rows[0]!.p99.toFixed(1)} ms`);
    console.log(`BENCH engine_worker_peak_rss_mb ${Math.max(one.peakRss, two.peakRss, peakLatencyRss)} MB`);
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
