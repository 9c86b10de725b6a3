/**
 * Scale-out benchmark on real PostgreSQL (DATABASE_URL, required): 1, 2 and 4 processes of the real
 * server (src/server.ts, UNITE_ROLE=worker: every background worker, no HTTP) on one database, each
 * count draining its own campaign of N enrollments through trigger → action(tag) → condition →
 * wait(0) → exit (as bench/engine.ts). Steps per second = the campaign's enrollment_steps rows over
 * the time from activation to the last enrollment completed. Also the CPU of the worker processes
 * and of the PostgreSQL backends per step. Every process shares this machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createCampaign, publishCampaign } from '../src/campaigns/campaigns.js';
import { createPostgresDatabase, type Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { SYSTEM_ACTOR } from '../src/identity/audit.js';
import { systemClock } from '../src/platform/clock.js';
import { backendCpuMs } from './support.js';

const N = Number(process.env.BENCH_ENROLLMENTS ?? 20_000);
const COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('DATABASE_URL is required (postgres://…)\n');
  process.exit(78);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The real server in the worker role; resolves once it logged that it started. */
function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/server.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, UNITE_ROLE: 'worker', NODE_ENV: 'production', LOG_LEVEL: 'info', DATABASE_POOL_SIZE: '4', WORKER_POLL_MS: '200', APP_SECRET: randomBytes(32).toString('hex'), DATA_DIR: path.join(os.tmpdir(), 'uh-bench-scale') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Unite Hub started')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const definition = {
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

async function waitUntilDone(db: Database, campaignId: string): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  while (Date.now() < deadline) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'active'`, [campaignId]);
    if (r.rows[0]!.n === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('the enrollments did not complete within 15 minutes');
}

async function main(): Promise<void> {
  const name = `uh_bench_scale_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl!, name);
  const db = createPostgresDatabase(url, 4);
  const results: Array<{ workers: number; stepsPerS: number; workerCpuPerStep: number; pgCpuPerStep: number | null; load: number }> = [];
  try {
    await migrate(db);
    const ws = await db.query<{ id: string }>(`WITH o AS (INSERT INTO organizations (name) VALUES ('Bench') RETURNING id) INSERT INTO workspaces (organization_id, name) SELECT id, 'Bench' FROM o RETURNING id`);
    const workspaceId = ws.rows[0]!.id;
    const total = N * COUNTS.length;
    await db.query(`INSERT INTO contacts (workspace_id, email, first_name) SELECT $1, 'c' || i || '@bench.test', 'C' || i FROM generate_series(1, $2::int) AS i`, [workspaceId, total]);
    const contactIds = (await db.query<{ id: string }>('SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY email', [workspaceId])).rows.map((r) => r.id);
    console.log(`setup: ${total} contacts; ${N} enrollments per run`);

    for (const [index, workers] of COUNTS.entries()) {
      const contacts = contactIds.slice(index * N, (index + 1) * N);
      const campaign = await createCampaign({ db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, `scale ${workers}`, definition);
      await publishCampaign({ db, clock: systemClock }, workspaceId, SYSTEM_ACTOR, campaign.id);
      await db.query('UPDATE campaigns SET status = $2 WHERE id = $1', [campaign.id, 'paused']);
      await db.query(
        `INSERT INTO enrollments (workspace_id, campaign_id, version, contact_id, current_node_id, next_run_at, enrolled_at, updated_at)
         SELECT $1, $2, 1, c, 't', now(), now(), now() FROM unnest($3::uuid[]) AS c`,
        [workspaceId, campaign.id, contacts],
      );
      await db.query('VACUUM ANALYZE enrollments');
      await db.query('VACUUM ANALYZE contacts');
      const procs = await Promise.all(Array.from({ length: workers }, () => startWorker(url)));
      const cpu0 = procs.reduce((sum, p) => sum + cpuMs(p.pid!), 0);
      const pg0 = await backendCpuMs(db);
      await db.query('UPDATE campaigns SET status = $2 WHERE id = $1', [campaign.id, 'active']);
      await db.query(`SELECT pg_notify('campaign_enrollments_due', $1)`, [campaign.id]);
      const started = performance.now();
      await waitUntilDone(db, campaign.id);
      const seconds = (performance.now() - started) / 1000;
      const cpu1 = procs.reduce((sum, p) => sum + cpuMs(p.pid!), 0);
      const pg1 = await backendCpuMs(db);
      await Promise.all(procs.map(stop));
      const steps = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM enrollment_steps WHERE campaign_id = $1', [campaign.id])).rows[0]!.n;
      const done = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrollments WHERE campaign_id = $1 AND status = 'completed'`, [campaign.id])).rows[0]!.n;
      if (done !== N) throw new Error(`only ${done} of ${N} enrollments completed`);
      const doubled = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT enrollment_id, node_id FROM enrollment_steps WHERE campaign_id = $1 GROUP BY 1, 2 HAVING count(*) > 1) d`, [campaign.id])).rows[0]!.n;
      if (doubled > 0) throw new Error(`${doubled} steps ran twice`);
      const load = os.loadavg()[0]!;
      const entry = { workers, stepsPerS: steps / seconds, workerCpuPerStep: ((cpu1 - cpu0) * 1000) / steps, pgCpuPerStep: pg0 === null || pg1 === null ? null : ((pg1 - pg0) * 1000) / steps, load };
      results.push(entry);
      console.log(`${workers} worker process(es): ${steps} steps in ${seconds.toFixed(1)} s = ${Math.round(entry.stepsPerS)} steps/s; worker CPU ${entry.workerCpuPerStep.toFixed(0)} µs/step, PostgreSQL CPU ${entry.pgCpuPerStep?.toFixed(0) ?? '?'} µs/step; load ${load.toFixed(2)}`);
    }
    console.log(`(every worker process and PostgreSQL share this machine's ${os.cpus().length} cores)`);
    for (const r of results) console.log(`BENCH engine_steps_per_s_workers_${r.workers} ${Math.round(r.stepsPerS)} steps/s`);
    for (const r of results) console.log(`BENCH engine_cpu_per_step_workers_${r.workers} ${(r.workerCpuPerStep + (r.pgCpuPerStep ?? 0)).toFixed(0)} us`);
    console.log(`BENCH load_average_1m ${os.loadavg()[0]!.toFixed(2)} load`);
  } finally {
    await db.close();
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

await main();
