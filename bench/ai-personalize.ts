/**
 * Send-time personalization alone (src/ai/send-time.ts), offline, without the sender, the SMTP sink
 * or the rest of the bench: batches of 200 campaign messages of one content, as the sender hands
 * them over, personalized against real PostgreSQL in a fresh database that is dropped afterwards.
 * What it costs per message is what `ai_offline_emails_per_s` pays on top of plain email, measured
 * without that bench's noise (its phases share a machine with the sender and the sink).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:ai-personalize
 *
 * Prints the CPU of this process and of the database's PostgreSQL backends (from /proc, when the
 * server is local) per message, the wall time per batch, and the load average.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import { backendCpuMs, requireDatabaseUrl } from './support.js';
import { createMessagePersonalizer, type PersonalizableMessage } from '../src/ai/send-time.js';
import { loadConfig } from '../src/config.js';
import { createPostgresDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createRuntime } from '../src/init.js';
import { systemClock } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/logger.js';

const BATCHES = Number(process.env.BENCH_AI_BATCHES ?? 25);
const BATCH = 200;
const WARM_UP = 3;
const HTML = '<p>Our <a href="https://shop.example.com/spring">spring collection</a> is here, with a garden chair and a parasol for your terrace.</p>';

async function main(): Promise<void> {
  const adminUrl = requireDatabaseUrl();
  const name = `uh_bench_aip_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const db = createPostgresDatabase(url, 4);
  try {
    await migrate(db);
    const config = loadConfig({ NODE_ENV: 'production', APP_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: url, PUBLIC_URL: 'https://app.example.com', LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: '4' });
    const runtime = await createRuntime(config, { db, logger: createLogger('silent') });
    const org = await db.query<{ id: string }>(`INSERT INTO organizations (name) VALUES ('Bench') RETURNING id`);
    const workspaceId = (await db.query<{ id: string }>(`INSERT INTO workspaces (organization_id, name) VALUES ($1, 'Bench') RETURNING id`, [org.rows[0]!.id])).rows[0]!.id;
    // The contacts of bench/ai.ts: a first name, one of 97 companies, a role and an interest.
    await db.query(
      `INSERT INTO contacts (workspace_id, email, first_name, company, job_title, phone, custom_fields)
       SELECT $1, 'off' || i || '@example.com', 'First' || i, 'Company ' || (i % 97), 'Gardener', '+44 20 7946 ' || lpad((i % 10000)::text, 4, '0'), '{"interest":"terraces"}'::jsonb
         FROM generate_series(1, $2) AS i`,
      [workspaceId, (BATCHES + WARM_UP) * BATCH],
    );
    const rows = await db.query<{ id: string; contact_id: string }>(
      `INSERT INTO messages (workspace_id, contact_id, idempotency_key, source_type, from_address, to_address, subject, html, text_body, next_attempt_at, ai_mode, status)
       SELECT $1, c.id, 'off' || c.id, 'campaign', 'Bench <bench@example.com>', c.email, 'Spring picks', $2, 'Our spring collection is here.', now(), 'offline', 'sending'
         FROM contacts c WHERE c.workspace_id = $1 RETURNING id, contact_id`,
      [workspaceId, HTML],
    );
    const messages: PersonalizableMessage[] = rows.rows.map((r) => ({ id: r.id, workspaceId, contactId: r.contact_id, sourceType: 'campaign', sourceId: null, subject: 'Spring picks', html: HTML, text: 'Our spring collection is here.', aiMode: 'offline' }));
    const personalize = createMessagePersonalizer({ db, clock: systemClock, logger: createLogger('silent'), service: runtime.deps.ai.service });
    const batch = (i: number) => messages.slice(i * BATCH, (i + 1) * BATCH);
    for (let i = 0; i < WARM_UP; i++) await personalize(batch(i), 50);
    const loadStart = loadavg()[0]!;
    const cpu = process.cpuUsage();
    const db0 = await backendCpuMs(db);
    const started = performance.now();
    for (let i = WARM_UP; i < WARM_UP + BATCHES; i++) await personalize(batch(i), 50);
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const db1 = await backendCpuMs(db);
    const n = BATCHES * BATCH;
    const done = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE workspace_id = $1 AND ai_outcome = 'personalized'`, [workspaceId]);
    if (done.rows[0]!.n !== messages.length) {
      console.log(`NOT VALID: ${done.rows[0]!.n} of ${messages.length} messages personalized`);
      process.exitCode = 1;
    }
    const dbUs = db0 === null || db1 === null ? 'unknown' : (((db1 - db0) * 1000) / n).toFixed(0);
    console.log(`load average ${loadStart.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}; ${n} messages in ${BATCHES} batches of ${BATCH}, ${(wallMs / BATCHES).toFixed(1)} ms per batch`);
    console.log(`BENCH ai_personalize_cpu_us_per_email ${((used.user + used.system) / n).toFixed(0)} us (PostgreSQL ${dbUs} us)`);
    await runtime.close();
  } finally {
    await db.close().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
